"""
Streaming a published file from object storage to the browser, with HTTP Range support (``206`` and
``Content-Range``), so a ``<video>`` can seek. The file is always one a task instance's own record
names; nothing here takes a path from a request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath
    from starlette.responses import Response

CHUNK = 256 * 1024
CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}


class UnsatisfiableRange(ValueError):
    """A Range that asks for no byte of the file (answered ``416``)."""


@dataclass(frozen=True)
class ByteRange:
    """
    The bytes ``start`` to ``end`` (both included) of a file of ``size`` bytes.

    :param start: first byte.
    :param end: last byte.
    :param size: the whole file's size.
    """

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        """How many bytes."""
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        """The ``Content-Range`` header of this part."""
        return f"bytes {self.start}-{self.end}/{self.size}"


def _digits(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def requested_range(header: str | None, size: int) -> ByteRange | None:
    """
    The part a ``Range`` header asks for: None for the whole file (no header, another unit, several
    ranges or a header that does not parse, which RFC 9110 lets a server ignore).

    :param header: the request's ``Range``.
    :param size: the file's size.
    :raises UnsatisfiableRange: for a range starting past the end (or an empty file's range).
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.partition("-")
    if not dash:
        return None
    first, last = _digits(first_text), _digits(last_text)
    if (first is None and first_text.strip()) or (last is None and last_text.strip()):
        return None
    if first is None and last is None:
        return None
    if first is None:  # the last `last` bytes
        if not last or not size:
            raise UnsatisfiableRange(header)
        return ByteRange(max(0, size - last), size - 1, size)
    if last is not None and last < first:
        return None
    if first >= size:
        raise UnsatisfiableRange(header)
    return ByteRange(first, size - 1 if last is None else min(last, size - 1), size)


def content_type(name: str) -> str:
    """The media type of a file, by its suffix."""
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    return CONTENT_TYPES.get(suffix, "application/octet-stream")


def _chunks(path: ObjectStoragePath, start: int, length: int) -> Iterator[bytes]:
    with path.fs.open(path.path, "rb") as stream:
        stream.seek(start)
        left = length
        while left > 0:
            chunk = stream.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


def stream_file(path: ObjectStoragePath, range_header: str | None) -> Response:
    """
    The file at ``path``: whole (``200``), the asked part (``206`` with ``Content-Range``), or ``416``.

    :param path: a file a task instance's record names.
    :param range_header: the request's ``Range``.
    """
    from starlette.responses import Response, StreamingResponse

    size = int(path.fs.size(path.path))
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-cache"}
    try:
        part = requested_range(range_header, size)
    except UnsatisfiableRange:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    media_type = content_type(path.name)
    if part is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(_chunks(path, 0, size), headers=headers, media_type=media_type)
    headers.update({"Content-Length": str(part.length), "Content-Range": part.content_range})
    return StreamingResponse(
        _chunks(path, part.start, part.length), status_code=206, headers=headers, media_type=media_type
    )
