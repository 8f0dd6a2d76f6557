"""
Publishing a finished video: stream it from its URL into object storage, verify it, land it atomically.

Used by :class:`~airflow_heygen.operators.publish.HeyGenPublishVideoOperator` when its task runs; it
imports ``requests`` (and PyAV for previews), which parsing a DAG must not pay for.

One job per module: :mod:`.destination` checks where a video may go and names its Asset URI,
:mod:`.request` checks a request, :mod:`.settings` reads the HeyGen connection, :mod:`.download`
streams the bytes (redirects, ranged resumes) with :mod:`.retries`' loop and :mod:`.ranges`' header
parsing, :mod:`.sink` counts and hashes what it writes, :mod:`.staging` turns a temporary object into
the destination in one step, :mod:`.preview` makes the PNG, :mod:`.publisher` puts them together and
:mod:`.record` remembers, across the tries of one task instance, what a try is about to land.
"""

from __future__ import annotations

from airflow_heygen.publishing.destination import (
    already_exists,
    published_uri,
    resolve_destination,
    shown_url,
    url_origin,
)
from airflow_heygen.publishing.download import MAX_REDIRECTS, TransferState, VideoDownloader
from airflow_heygen.publishing.preview import PREVIEW_SUFFIX, PreviewRenderer
from airflow_heygen.publishing.publisher import StagedCallback, VideoPublisher
from airflow_heygen.publishing.ranges import content_range_start, expected_length, range_validator
from airflow_heygen.publishing.record import FileDigest, PublishRecord
from airflow_heygen.publishing.request import PublishRequest, PublishResult
from airflow_heygen.publishing.retries import TRANSIENT_ERRORS, IncompleteDownload, retry_download
from airflow_heygen.publishing.settings import CHUNK_SIZE, DEFAULT_TIMEOUT, DownloadSettings
from airflow_heygen.publishing.sink import HashingSink
from airflow_heygen.publishing.staging import StagedFile

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_TIMEOUT",
    "MAX_REDIRECTS",
    "PREVIEW_SUFFIX",
    "TRANSIENT_ERRORS",
    "DownloadSettings",
    "FileDigest",
    "HashingSink",
    "IncompleteDownload",
    "PreviewRenderer",
    "PublishRecord",
    "PublishRequest",
    "PublishResult",
    "StagedCallback",
    "StagedFile",
    "TransferState",
    "VideoDownloader",
    "VideoPublisher",
    "already_exists",
    "content_range_start",
    "expected_length",
    "published_uri",
    "range_validator",
    "resolve_destination",
    "retry_download",
    "shown_url",
    "url_origin",
]
