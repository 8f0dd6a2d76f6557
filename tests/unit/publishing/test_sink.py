"""
HashingSink.fill: reads, writes and hashes in two threads; whatever happens, its size and sha256
describe exactly the bytes written, which is what a ranged resume continues from.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_heygen.publishing.retries import IncompleteDownload
from airflow_heygen.publishing.sink import HashingSink

FAST = settings(max_examples=50, deadline=None, database=None)


class KeepingStream(io.RawIOBase):
    """A file being written: like a real one, it has copied what it is given before ``write`` returns."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.parts: list[bytes] = []
        self.fail_after = fail_after

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if (
            self.fail_after is not None
            and sum(len(part) for part in self.parts) + len(data) > self.fail_after
        ):
            raise OSError(28, "No space left on device")
        self.parts.append(bytes(data))
        return len(data)

    def content(self) -> bytes:
        return b"".join(self.parts)


class Staged:
    """What HashingSink uses of a StagedFile: ``open()``, each time a new file from its start."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after = fail_after
        self.streams: list[KeepingStream] = []

    def open(self) -> KeepingStream:
        self.streams.append(KeepingStream(fail_after=self.fail_after))
        return self.streams[-1]


def reader(data: bytes, step: int, fail_at: int | None = None) -> Callable[[memoryview], int]:
    """A ``read_into`` serving ``data`` at most ``step`` bytes a call, raising once ``fail_at`` is reached."""
    position = 0

    def read_into(buffer: memoryview) -> int:
        nonlocal position
        if fail_at is not None and position >= fail_at:
            raise IncompleteDownload("the connection failed or closed early (ConnectionResetError)")
        count = min(len(buffer), step, len(data) - position)
        buffer[:count] = data[position : position + count]
        buffer[count:] = b"\xff" * (len(buffer) - count)  # junk beyond what was read must never be written
        position += count
        return count

    return read_into


@FAST
@given(data=st.binary(max_size=3000), chunk=st.integers(1, 64), step=st.integers(1, 100))
def test_what_is_filled_is_written_and_hashed_whole_and_in_order(data: bytes, chunk: int, step: int) -> None:
    staged = Staged()
    sink = HashingSink(staged, chunk_size=chunk)  # type: ignore[arg-type]

    sink.fill(reader(data, step))

    assert staged.streams[0].content() == data
    assert (sink.size, sink.sha256) == (len(data), hashlib.sha256(data).hexdigest())


@FAST
@given(data=st.binary(min_size=1, max_size=3000), chunk=st.integers(1, 64), cut=st.floats(0, 1))
def test_a_fill_that_breaks_off_describes_exactly_what_it_wrote(data: bytes, chunk: int, cut: float) -> None:
    fail_at = int(len(data) * cut)
    staged = Staged()
    sink = HashingSink(staged, chunk_size=chunk)  # type: ignore[arg-type]

    with pytest.raises(IncompleteDownload):
        sink.fill(reader(data, chunk, fail_at=fail_at))
    written = staged.streams[0].content()
    assert (sink.size, sink.sha256) == (len(written), hashlib.sha256(written).hexdigest())
    assert data.startswith(written)

    sink.fill(reader(data[sink.size :], chunk))  # a resumed attempt continues the same file and hash
    assert staged.streams[0].content() == data
    assert sink.sha256 == hashlib.sha256(data).hexdigest()


def test_an_error_writing_is_not_retried_and_stops_the_hashing_thread() -> None:
    before = threading.active_count()
    sink = HashingSink(Staged(fail_after=100), chunk_size=32)  # type: ignore[arg-type]

    with pytest.raises(OSError, match="No space left"):
        sink.fill(reader(b"x" * 1000, 32))

    assert threading.active_count() == before


def test_a_restart_forgets_what_was_written() -> None:
    staged = Staged()
    sink = HashingSink(staged, chunk_size=8)  # type: ignore[arg-type]
    sink.fill(reader(b"stale bytes", 4))

    sink.restart()
    sink.fill(reader(b"fresh", 4))

    assert staged.streams[-1].content() == b"fresh"
    assert (sink.size, sink.sha256) == (5, hashlib.sha256(b"fresh").hexdigest())
