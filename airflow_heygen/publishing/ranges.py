"""
What a video response's headers say about its body: its length, whether it is encoded, and what a
ranged request to resume it needs. Pure functions of the headers, so they are easy to test.
"""

from __future__ import annotations

from collections.abc import Mapping


def _number(text: str) -> int | None:
    """``text`` as a non-negative integer if it is ASCII digits only; headers are latin-1, and ``"²"``
    passes ``str.isdigit`` yet makes ``int`` raise."""
    return int(text) if text.isascii() and text.isdigit() else None


def is_encoded(headers: Mapping[str, str]) -> bool:
    """Whether the body arrives with a Content-Encoding (e.g. gzip) other than ``identity``."""
    return headers.get("Content-Encoding", "identity").lower() != "identity"


def expected_length(headers: Mapping[str, str]) -> int | None:
    """The body's size from Content-Length, or None when absent or when the body arrives encoded."""
    if is_encoded(headers):
        return None
    return _number(headers.get("Content-Length", ""))


def range_validator(headers: Mapping[str, str]) -> str | None:
    """What to send as If-Range: a strong ETag, else Last-Modified, else None."""
    etag = headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("Last-Modified")


def accepts_ranges(headers: Mapping[str, str]) -> bool:
    """Whether the server announced ``Accept-Ranges: bytes``."""
    return headers.get("Accept-Ranges", "").lower() == "bytes"


def content_range_start(headers: Mapping[str, str]) -> tuple[int, int] | None:
    """(first byte, full size) of a 206 answer's ``Content-Range: bytes a-b/size``; None if unreadable."""
    unit, _, rest = headers.get("Content-Range", "").partition(" ")
    span, _, total = rest.partition("/")
    first, size = _number(span.partition("-")[0]), _number(total)
    if unit.lower() != "bytes" or first is None or size is None:
        return None
    return first, size


def range_headers(start: int, validator: str | None) -> dict[str, str]:
    """
    The headers asking for the body from byte ``start`` on; none for ``start == 0``.

    :param start: bytes already received.
    :param validator: sent as If-Range, so that a file changed in between is sent whole, not spliced.
    """
    if not start:
        return {}
    headers = {"Range": f"bytes={start}-"}
    if validator:
        headers["If-Range"] = validator
    return headers
