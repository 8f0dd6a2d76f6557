"""
How a download is retried: what counts as a transient failure of a transfer, in the project's one
retry loop (:mod:`airflow_heygen.retrying`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import requests

from airflow_heygen.api import Retry, RetryPolicy
from airflow_heygen.exceptions import HeyGenUnavailableError
from airflow_heygen.publishing.destination import shown_url
from airflow_heygen.retrying import retry_sync

log = logging.getLogger(__name__)

# What a dropped or truncated transfer raises; ChunkedEncodingError is what requests turns urllib3's
# "IncompleteRead" (fewer bytes than Content-Length) into.
TRANSIENT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class IncompleteDownload(Exception):
    """A transfer that ended early or did not line up; retried like a dropped connection."""


def retry_download(
    attempt: Callable[[], Retry | None], policy: RetryPolicy, url: str, received: Callable[[], int]
) -> None:
    """
    Call ``attempt`` until it returns None, in the project's one retry loop
    (:func:`~airflow_heygen.retrying.retry_sync`) with ``policy``'s backoff.

    :param attempt: one try; None when done, a :class:`Retry` for a retryable answer. A
        :data:`TRANSIENT_ERRORS` or :class:`IncompleteDownload` it raises is retried too.
    :param policy: the retry budget and delays.
    :param url: the video's URL, for messages (shown without its query).
    :param received: how many bytes are in hand, for the log line of each retry.
    :raises HeyGenUnavailableError: when the failures outlast the budget.
    """

    def one_try() -> bool | Retry:
        try:
            outcome = attempt()
        except TRANSIENT_ERRORS as err:
            outcome = Retry(f"the connection failed or closed early ({type(err).__name__})")
        except IncompleteDownload as err:
            outcome = Retry(str(err))
        if outcome is None:
            return True
        return Retry(f"{outcome.reason} after {received()} bytes", outcome.retry_after)

    try:
        retry_sync(one_try, policy, what=f"download of {shown_url(url)}", log=log)
    except HeyGenUnavailableError as err:
        raise HeyGenUnavailableError(f"Could not download video_url {shown_url(url)}: {err}") from None
