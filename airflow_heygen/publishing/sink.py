"""
Where a download's bytes go: a :class:`StagedFile`, written while every byte is counted and hashed.

Hashing (sha256, ~1.2 GiB/s) costs as much as reading the socket and writing the file together, so
:meth:`HashingSink.fill` hashes in a second thread while the caller's thread reads and writes the next
block; hashlib, socket reads and file writes all release the GIL. A few reused buffers are in flight,
so memory stays at ``PIPELINE_DEPTH`` chunks whatever the video's size.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable
from types import TracebackType

from airflow_heygen.publishing.settings import CHUNK_SIZE
from airflow_heygen.publishing.staging import StagedFile

# Buffers in flight: one being read into, one being hashed, one spare so neither stage waits.
PIPELINE_DEPTH = 3
ReadInto = Callable[[memoryview], int]


class HashingSink:
    """
    Writes a download into a :class:`StagedFile`, counting the bytes and hashing them with sha256.

    :param staged: where the bytes go.
    :param chunk_size: size of each buffer :meth:`fill` reads into.
    """

    def __init__(self, staged: StagedFile, chunk_size: int = CHUNK_SIZE) -> None:
        self.staged = staged
        self.chunk_size = chunk_size
        self.size = 0
        self._hash = hashlib.sha256()
        self._stream = staged.open()
        self._buffers: queue.SimpleQueue[memoryview] = queue.SimpleQueue()
        self._allocated = 0
        self._hash_error: Exception | None = None

    @property
    def sha256(self) -> str:
        """Hex sha256 of everything written since the last restart."""
        return self._hash.hexdigest()

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``."""
        self._stream.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def fill(self, read_into: ReadInto) -> None:
        """
        Append what ``read_into`` reads, until it returns 0, hashing in a second thread.

        Whatever happens, on return (or raise) :attr:`size` and :attr:`sha256` describe exactly the bytes
        written, so that a resumed download continues from there.

        :param read_into: fills a buffer and returns how many bytes it put there; 0 at the end. What it
            raises propagates, as does any error writing.
        """
        pending: queue.SimpleQueue[tuple[memoryview, int] | None] = queue.SimpleQueue()
        # A daemon, so that even a reading thread killed without unwinding cannot keep the worker alive.
        hasher = threading.Thread(
            target=self._hash_blocks, args=(pending,), name="publish-sha256", daemon=True
        )
        hasher.start()
        try:
            while True:
                buffer = self._free_buffer()
                count = read_into(buffer)
                if not count:
                    self._buffers.put(buffer)
                    return
                block = buffer[:count]
                # A file has written the block before write() returns: the buffer may then be reused.
                self._stream.write(block)
                self.size += count
                pending.put((buffer, count))
        finally:
            pending.put(None)
            hasher.join()
            if self._hash_error is not None:
                raise self._hash_error

    def _free_buffer(self) -> memoryview:
        """A buffer no stage is using: a recycled one, or a new one while fewer than the depth exist."""
        if self._allocated < PIPELINE_DEPTH:
            self._allocated += 1
            return memoryview(bytearray(self.chunk_size))
        return self._buffers.get()

    def _hash_blocks(self, pending: queue.SimpleQueue[tuple[memoryview, int] | None]) -> None:
        """The hashing thread: hash each block in order, then hand its buffer back."""
        while (item := pending.get()) is not None:
            buffer, count = item
            try:
                self._hash.update(buffer[:count])
            except Exception as err:  # never seen; but the reading thread must not wait forever
                self._hash_error = self._hash_error or err
            finally:
                self._buffers.put(buffer)

    def restart(self) -> None:
        """Throw away what was written, for a download that has to start over."""
        self._stream.close()
        self._stream = self.staged.open()
        self._hash = hashlib.sha256()
        self.size = 0

    def close(self) -> None:
        """Flush and close; for object stores this is when the upload completes."""
        self._stream.close()

    def __enter__(self) -> HashingSink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
