"""
The download's retry loop, kept in one function (:func:`retry_download`) so that it can be swapped
for the project's single retry policy without touching how a transfer itself works.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import requests

from airflow_heygen.api import Retry, RetryPolicy
from airflow_heygen.exceptions import HeyGenUnavailableError
from airflow_heygen.publishing.destination import shown_url

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
    Call ``attempt`` until it returns None, retrying transient failures with ``policy``'s backoff.

    :param attempt: one try; None when done, a :class:`Retry` for a retryable answer. A
        :data:`TRANSIENT_ERRORS` or :class:`IncompleteDownload` it raises is retried too.
    :param policy: the retry budget and delays.
    :param url: the video's URL, for messages (shown without its query).
    :param received: how many bytes are in hand, for the log line of each retry.
    :raises HeyGenUnavailableError: when the failures outlast the budget.
    """
    retries = 0
    while True:
        try:
            outcome = attempt()
            if outcome is None:
                return
        except TRANSIENT_ERRORS as err:
            outcome = Retry(f"the connection failed or closed early ({type(err).__name__})")
        except IncompleteDownload as err:
            outcome = Retry(str(err))
        if retries >= policy.max_retries:
            raise HeyGenUnavailableError(
                f"Could not download video_url {shown_url(url)} after {retries + 1} attempt(s): "
                f"{outcome.reason}"
            )
        delay = policy.next_delay(retries, outcome.reason, outcome.retry_after)
        retries += 1
        log.warning(
            "Downloading %s: %s after %d bytes; retry %d in %.1fs",
            shown_url(url),
            outcome.reason,
            received(),
            retries,
            delay,
        )
        time.sleep(delay)
