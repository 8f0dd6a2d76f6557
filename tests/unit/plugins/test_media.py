"""Which bytes a ``Range`` header asks for (RFC 9110), and the media types the view serves."""

from __future__ import annotations

import pytest

from airflow_heygen.plugins.media import ByteRange, UnsatisfiableRange, content_type, requested_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("bytes=0-99", ByteRange(0, 99, 1000)),
        ("bytes=900-", ByteRange(900, 999, 1000)),
        ("bytes=990-5000", ByteRange(990, 999, 1000)),
        ("bytes=-100", ByteRange(900, 999, 1000)),
        ("bytes=-5000", ByteRange(0, 999, 1000)),
        ("BYTES = 1-2", ByteRange(1, 2, 1000)),
        # Ignored (the whole file): another unit, several ranges, nonsense, a reversed range.
        ("items=0-1", None),
        ("bytes=0-1,5-6", None),
        ("bytes=abc", None),
        ("bytes=-", None),
        ("bytes=9-1", None),
        ("bytes=²-3", None),
    ],
)
def test_the_range_asked_for(header: str | None, expected: ByteRange | None) -> None:
    assert requested_range(header, 1000) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=1000-", 1000), ("bytes=-0", 1000), ("bytes=0-", 0)])
def test_a_range_past_the_end_is_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(UnsatisfiableRange):
        requested_range(header, size)


def test_a_part_says_its_content_range() -> None:
    part = ByteRange(100, 199, 1000)
    assert (part.length, part.content_range) == (100, "bytes 100-199/1000")


def test_media_types_by_suffix() -> None:
    assert [content_type(n) for n in ("a.mp4", "b.PNG", "c", "d.txt")] == [
        "video/mp4",
        "image/png",
        "application/octet-stream",
        "application/octet-stream",
    ]
