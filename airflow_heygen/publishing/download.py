"""Streaming a video from its http(s) URL: checked redirects, retries and ranged resumes."""

from __future__ import annotations

import http.client
import logging
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urljoin

import requests

from airflow_heygen.api import Retry, parse_retry_after
from airflow_heygen.exceptions import HeyGenInputError, HeyGenRequestError
from airflow_heygen.publishing import ranges
from airflow_heygen.publishing.destination import shown_url
from airflow_heygen.publishing.retries import IncompleteDownload, retry_download
from airflow_heygen.publishing.settings import DownloadSettings
from airflow_heygen.publishing.sink import HashingSink, ReadInto
from airflow_heygen.validation import require_http_url

log = logging.getLogger(__name__)

MAX_REDIRECTS = 10
# Besides 5xx, the statuses that say "try again later"; other 4xx answers (but 416) are final.
RETRYABLE_CLIENT_STATUSES = frozenset({408, 429})


@dataclass
class TransferState:
    """
    What one download learnt across its attempts, so that a retry can resume instead of starting over.

    :param total: the full size, from Content-Length or Content-Range; None when the server did not say.
    :param validator: the strong ETag or Last-Modified, sent as If-Range so a changed file is not spliced.
    :param resumable: whether the server announced ``Accept-Ranges: bytes``.
    """

    total: int | None = None
    validator: str | None = None
    resumable: bool = False


def socket_reader(response: requests.Response) -> ReadInto | None:
    """
    A ``readinto`` straight from the socket for an unencoded body, or None to use ``iter_content``.

    ``http.client`` reads into the caller's buffer (``recv_into``), while urllib3's ``read``/``stream``
    copy every chunk once more; it still applies Content-Length and chunked framing. A read that fails
    (dropped connection, timeout, broken chunk) raises :class:`IncompleteDownload`, so it is retried,
    while an error writing the file is not.

    :param response: a streamed response whose body has not been read.
    """
    body = getattr(response.raw, "_fp", None)  # urllib3 keeps the http.client response there
    if not isinstance(body, http.client.HTTPResponse) or ranges.is_encoded(response.headers):
        return None

    def read_into(buffer: memoryview) -> int:
        try:
            return body.readinto(buffer)
        except (OSError, http.client.HTTPException) as err:
            raise IncompleteDownload(
                f"the connection failed or closed early ({type(err).__name__})"
            ) from None

    return read_into


class VideoDownloader:
    """
    Streams a video from an http(s) URL into a :class:`HashingSink`.

    Redirects are followed by hand (at most ``MAX_REDIRECTS``) so that every hop is checked: a hop to
    another scheme is refused, and the API key is only sent to hops on the connection's own origin
    (``requests`` would carry a custom header such as ``X-Api-Key`` to any host). Connection errors,
    truncated bodies, 408, 429 and 5xx are retried with the connection's backoff; an interrupted
    transfer resumes with a ``Range`` request when the server supports it, else starts over.

    :param settings: retries, timeouts and the key's origin.
    """

    def __init__(self, settings: DownloadSettings) -> None:
        self.settings = settings
        self.session = requests.Session()

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def __enter__(self) -> VideoDownloader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def download(self, url: str, sink: HashingSink) -> None:
        """
        Fetch ``url`` into ``sink``; on return, ``sink`` holds exactly the announced number of bytes.

        :param url: an absolute http(s) URL, already checked.
        :param sink: where the bytes go.
        :raises HeyGenInputError: when a redirect leads to a non-http(s) URL.
        :raises HeyGenRequestError: on a final HTTP error (e.g. 404, 403) or too many redirects.
        :raises HeyGenUnavailableError: when transient failures outlast the retry budget.
        """
        state = TransferState()
        retry_download(lambda: self._attempt(url, sink, state), self.settings.retry, url, lambda: sink.size)

    def _attempt(self, url: str, sink: HashingSink, state: TransferState) -> Retry | None:
        """One attempt: None when the video is complete, a :class:`Retry` for a retryable answer."""
        if sink.size and not (state.resumable and state.total is not None):
            sink.restart()
        start = sink.size
        with self._get(url, start, state.validator) as response:
            status = response.status_code
            if status >= 500 or status in RETRYABLE_CLIENT_STATUSES:
                return Retry(f"HTTP {status}", parse_retry_after(response.headers.get("Retry-After")))
            if status == 416:
                sink.restart()
                raise IncompleteDownload("HTTP 416: the server could not serve the rest of the video")
            if not 200 <= status < 300:
                raise HeyGenRequestError(f"video_url {shown_url(url)} answered HTTP {status}")
            if start and status == 206:
                if ranges.content_range_start(response.headers) != (start, state.total):
                    sink.restart()
                    raise IncompleteDownload("the server answered a range other than the one asked for")
                log.info("Resuming %s at byte %d", shown_url(url), start)
            else:
                if start:
                    log.info("%s ignored the range request; starting over", shown_url(url))
                    sink.restart()
                state.total = ranges.expected_length(response.headers)
                state.validator = ranges.range_validator(response.headers)
                state.resumable = ranges.accepts_ranges(response.headers)
            read_into = socket_reader(response)
            if read_into is not None:
                sink.fill(read_into)
            else:
                for chunk in response.iter_content(self.settings.chunk_size):
                    sink.write(chunk)
        if state.total is not None and sink.size != state.total:
            raise IncompleteDownload(f"received {sink.size} bytes of the {state.total} announced")
        return None

    def _get(self, url: str, start: int, validator: str | None) -> requests.Response:
        """GET ``url`` (from byte ``start``), following http(s) redirects; the first other response."""
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            headers = {
                "Accept-Encoding": "identity",
                **self.settings.key_headers(current),
                **ranges.range_headers(start, validator),
            }
            response = self.session.get(
                current,
                headers=headers,
                stream=True,
                allow_redirects=False,
                timeout=(self.settings.timeout, self.settings.timeout),
            )
            if response.is_redirect:
                target = urljoin(current, response.headers["Location"])
                response.close()
                try:
                    require_http_url("video_url", target)
                except HeyGenInputError:
                    raise HeyGenInputError(
                        "video_url",
                        f"{shown_url(url)} redirected to {shown_url(target)!r}; "
                        "only http(s) redirects are followed",
                    ) from None
                current = target
                continue
            return response
        raise HeyGenRequestError(f"video_url {shown_url(url)} redirected more than {MAX_REDIRECTS} times")
