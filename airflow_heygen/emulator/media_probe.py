"""
Stub rendering's check of input media: each input URL is asked for its first byte (a ranged GET
with a short timeout, which presigned URLs answer where a HEAD is refused), so that a job whose input
HeyGen could not download fails with ``download_failed`` in stub mode too, without downloading it.

Host names reserved for documentation and testing (RFC 2606 and 6761: ``example.com``, ``.net``,
``.org``, ``*.example``, ``*.test``) never resolve, so stub mode takes their URLs as placeholders for
media a test does not provide (what stub mode always did) and does not ask them; ``*.invalid``
names are reserved never to work, so their URLs fail at once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from airflow_heygen.emulator.media_fetch import http_error, is_http, local_file, unreachable
from airflow_heygen.emulator.render.errors import MediaError
from airflow_heygen.emulator.tasks import MediaInput

# 416: the range does not fit (an empty file); the URL itself was served.
_SERVED = 416
_MAX_REMEMBERED = 1024
_PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org", "example", "test")
_INVALID_DOMAIN = "invalid"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").rstrip(".").lower()


def _under(host: str, domain: str) -> bool:
    return host == domain or host.endswith(f".{domain}")


def is_placeholder(url: str) -> bool:
    """
    Whether a URL's host is reserved for documentation or testing (it stands for media in stub mode).

    :param url: an http(s) URL.
    """
    return any(_under(_host(url), domain) for domain in _PLACEHOLDER_DOMAINS)


class MediaProbe:
    """
    Checks that input media can be fetched.

    A URL that answered well is not asked again for ``remember`` seconds: a thousand stub jobs on
    the same sample cost one request, not a thousand. Failures are never remembered.

    :param data_dir: the emulator data dir (local inputs must be files inside it).
    :param timeout: seconds a URL has to answer.
    :param remember: seconds a good answer is trusted.
    """

    def __init__(self, data_dir: Path, timeout: float = 5.0, remember: float = 5.0) -> None:
        self._data_dir = data_dir
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._remember = remember
        self._fine_until: dict[str, float] = {}

    async def check(self, inputs: Sequence[MediaInput]) -> MediaError | None:
        """
        The failure of the first input that cannot be fetched, or None when all can.

        :param inputs: the job's input media.
        """
        try:
            for item in inputs:
                if is_http(item.location):
                    await self._check_url(item.field, item.location.strip())
                else:
                    local_file(item.location, item.field, self._data_dir)
        except MediaError as exc:
            return exc
        return None

    async def _check_url(self, field: str, url: str) -> None:
        now = time.monotonic()
        if is_placeholder(url) or self._fine_until.get(url, 0.0) > now:
            return
        if _under(_host(url), _INVALID_DOMAIN):
            raise unreachable(field, url, "the .invalid domain never resolves")
        headers = {"Range": "bytes=0-0", "User-Agent": "heygen-emulator"}
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.get(url, headers=headers) as response,
            ):
                status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            raise unreachable(field, url, str(exc) or type(exc).__name__) from exc
        if status >= 400 and status != _SERVED:
            raise http_error(field, url, status)
        if len(self._fine_until) >= _MAX_REMEMBERED:
            self._fine_until = {u: t for u, t in self._fine_until.items() if t > now}
            if len(self._fine_until) >= _MAX_REMEMBERED:
                self._fine_until.clear()
        self._fine_until[url] = now + self._remember
