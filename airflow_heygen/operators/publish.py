"""
The operator that copies a finished video to object storage and announces it as an Asset.

Importing this module stays cheap for DAG parsing: :mod:`airflow_heygen.publishing` (requests, fsspec,
PyAV) is imported when a task runs. Why it works the way it does: ``docs/publishing.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_heygen.lineage.report import LineageMixin
from airflow_heygen.operators._common import DEFAULT_CONN_ID, HeyGenOperator

if TYPE_CHECKING:
    from airflow.sdk import Context, ObjectStoragePath

    from airflow_heygen.lineage.report import LineageReport

# DEFAULT_CONN_ID stays importable from here, where earlier releases defined it.
__all__ = ["DEFAULT_CONN_ID", "HeyGenPublishVideoOperator"]


class HeyGenPublishVideoOperator(LineageMixin, HeyGenOperator):
    """
    Copy a finished video to any Airflow object-storage path and announce it as an Airflow Asset.

    The video is streamed into a hidden temporary beside the destination, hashed with sha256, checked
    against the announced size, then renamed (moved, on object stores) to the destination; a failure
    leaves nothing there. A retry whose files are already in place returns the same result without
    copying again. The API key is sent only to the HeyGen connection's own origin.

    Returns ``{"uri", "bytes", "sha256"}``, plus ``"preview_uri"`` with ``preview=True`` (each key is
    also its own XCom). On success it emits an event for ``Asset(<uri>)`` (``file:///abs/path`` or
    ``s3://bucket/key``) through every ``AssetAlias`` in ``outlets`` (``AssetAlias(DEFAULT_ASSET_ALIAS)``
    when there is none), with the result as ``extra``; plain ``Asset`` outlets get the same ``extra``.

    :param video_url: absolute http(s) URL of the finished video, e.g. a HeyGen task's
        ``output["video_url"]`` (templated).
    :param destination: where the video goes: ``file:///data/videos/v.mp4`` (or just the absolute path
        ``/data/videos/v.mp4``), ``s3://bucket/videos/v.mp4``, ``gs://...`` with their provider installed,
        or an ``ObjectStoragePath``. It must name a file and may not contain ``..`` (templated).
    :param heygen_conn_id: HeyGen connection, for retry settings and its origin; a connection without a
        key is fine (templated; default ``heygen_default``).
    :param destination_conn_id: Airflow connection for the storage, e.g. ``aws_default`` (templated).
    :param overwrite: replace an existing destination (and preview); without it, one fails the task.
    :param preview: also write a PNG of the frame halfway through the video next to it, as
        ``<destination without its suffix>.png`` (landed atomically too); needs PyAV (the ``preview``
        extra).
    """

    template_fields: Sequence[str] = ("video_url", "destination", "heygen_conn_id", "destination_conn_id")
    DEFAULT_ASSET_ALIAS = "heygen-published-videos"

    def __init__(
        self,
        *,
        video_url: str,
        destination: str | ObjectStoragePath,
        destination_conn_id: str | None = None,
        overwrite: bool = False,
        preview: bool = False,
        **kwargs: Any,
    ) -> None:
        from airflow.sdk import AssetAlias

        super().__init__(**kwargs)
        self.video_url = video_url
        self.destination = destination
        self.destination_conn_id = destination_conn_id
        self.overwrite = overwrite
        self.preview = preview
        if not any(isinstance(outlet, AssetAlias) for outlet in self.outlets):
            self.outlets = [*self.outlets, AssetAlias(self.DEFAULT_ASSET_ALIAS)]

    def execute(self, context: Context) -> dict[str, Any]:
        """Check the arguments, publish the video (and preview), and announce its Asset."""
        from airflow_heygen.publishing import (
            DownloadSettings,
            PublishRecord,
            PublishRequest,
            VideoDownloader,
            VideoPublisher,
        )

        request = PublishRequest.checked(
            video_url=self.video_url,
            destination=self.destination,
            destination_conn_id=self.destination_conn_id,
            overwrite=self.overwrite,
            preview=self.preview,
        )
        record = PublishRecord(context.get("task_state_store"), request)
        result = record.reclaim()
        if result is None:
            with VideoDownloader(DownloadSettings.for_connection(self.heygen_conn_id)) as downloader:
                result = VideoPublisher(downloader).publish(request, on_staged=record.save).to_dict()
        self.announce(context, result)
        self.heygen_result = result
        return result

    def lineage_report(self, task_instance: Any, *, failed: bool) -> LineageReport:
        """
        The video's URL in; the published file (and preview) out, named as its Asset is, none on a
        failure (a failed publish leaves nothing at the destination).

        :param task_instance: the listener's task instance.
        :param failed: whether the task failed.
        """
        from airflow_heygen.lineage.datasets import storage_dataset, url_dataset
        from airflow_heygen.lineage.report import LineageReport

        result = {} if failed else self.result_for_lineage(task_instance) or {}
        video = url_dataset(self.video_url) if isinstance(self.video_url, str) else None
        published = [storage_dataset(str(result[key])) for key in ("uri", "preview_uri") if result.get(key)]
        return LineageReport(
            inputs=[video] if video is not None else [],
            outputs=[ref for ref in published if ref is not None],
        )

    def announce(self, context: Context, result: dict[str, Any]) -> None:
        """Emit the published video's Asset through this task's aliases; add ``result`` to every event."""
        from airflow.sdk import Asset, AssetAlias

        events = context["outlet_events"]
        for outlet in self.outlets:
            if isinstance(outlet, AssetAlias):
                events[outlet].add(Asset(uri=result["uri"]), extra=result)
            elif isinstance(outlet, Asset):
                events[outlet].extra.update(result)
