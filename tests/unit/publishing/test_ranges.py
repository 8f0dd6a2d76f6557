"""Reading a video response's headers: length, encoding, and what a ranged resume needs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_heygen.publishing.ranges import (
    accepts_ranges,
    content_range_start,
    expected_length,
    range_headers,
    range_validator,
)

FAST = settings(max_examples=100, deadline=None, database=None)
# requests decodes header values as latin-1, so any of these characters may arrive.
LATIN1 = st.text(st.characters(max_codepoint=0xFF), max_size=30)
SIZES = st.integers(min_value=0, max_value=1 << 50)


@FAST
@given(
    data=st.data(),
    total=st.integers(min_value=1, max_value=1 << 50),
    unit=st.sampled_from(["bytes", "BYTES"]),
)
def test_a_content_range_gives_its_first_byte_and_full_size(
    data: st.DataObject, total: int, unit: str
) -> None:
    first = data.draw(st.integers(0, total - 1))
    last = data.draw(st.integers(first, total - 1))

    assert content_range_start({"Content-Range": f"{unit} {first}-{last}/{total}"}) == (first, total)


@FAST
@given(value=LATIN1)
def test_an_unreadable_content_range_is_none_never_an_error(value: str) -> None:
    parsed = content_range_start({"Content-Range": value})

    assert parsed is None or value.lower().startswith("bytes ")


def test_a_content_range_with_unknown_size_or_odd_digits_is_none() -> None:
    for value in ["bytes 0-9/*", "bytes */100", "items 0-9/10", "bytes ²-9/10", "bytes 0-9/1²", "", "bytes"]:
        assert content_range_start({"Content-Range": value}) is None, value


@FAST
@given(size=SIZES)
def test_the_length_is_content_length_unless_the_body_is_encoded(size: int) -> None:
    assert expected_length({"Content-Length": str(size)}) == size
    assert expected_length({"Content-Length": str(size), "Content-Encoding": "identity"}) == size
    assert expected_length({"Content-Length": str(size), "Content-Encoding": "gzip"}) is None


@FAST
@given(value=LATIN1)
def test_a_content_length_that_is_not_ascii_digits_is_none(value: str) -> None:
    length = expected_length({"Content-Length": value})

    assert length == (int(value) if value.isascii() and value.isdigit() else None)


@FAST
@given(start=SIZES, validator=st.one_of(st.none(), st.just('"v1"'), st.just("Wed, 21 Oct 2015 07:28:00 GMT")))
def test_a_resume_asks_for_the_rest_and_names_the_version(start: int, validator: str | None) -> None:
    headers = range_headers(start, validator)

    if start == 0:
        assert headers == {}
    else:
        assert headers.pop("Range") == f"bytes={start}-"
        assert headers == ({"If-Range": validator} if validator else {})


def test_only_a_strong_etag_or_last_modified_validates_a_range() -> None:
    modified = "Wed, 21 Oct 2015 07:28:00 GMT"

    assert range_validator({"ETag": '"abc"', "Last-Modified": modified}) == '"abc"'
    assert range_validator({"ETag": 'W/"abc"', "Last-Modified": modified}) == modified
    assert range_validator({"ETag": 'W/"abc"'}) is None
    assert range_validator({}) is None


def test_ranges_are_resumable_only_when_announced_in_bytes() -> None:
    assert accepts_ranges({"Accept-Ranges": "Bytes"})
    assert not accepts_ranges({"Accept-Ranges": "none"})
    assert not accepts_ranges({})
