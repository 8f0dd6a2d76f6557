"""Records (executions, v3 jobs, batches, assets, idempotency keys) in memory, one JSON file each."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from airflow_heygen.emulator.models import Execution

log = logging.getLogger(__name__)


class StoredRecord(Protocol):
    """What a :class:`RecordStore` keeps: anything with an id that turns into a JSON object."""

    @property
    def record_id(self) -> str:
        """The id, also the file name (without ``.json``)."""

    def to_record(self) -> dict[str, Any]:
        """The JSON object stored on disk."""


R = TypeVar("R", bound=StoredRecord)


class RecordStore(Generic[R]):
    """
    Records kept in memory and mirrored to ``<folder>/<record_id>.json``.

    Writes go through one background thread, so they never block the event loop and land in the
    order they were made; each is a write to a temporary file and a rename.

    :param folder: where the JSON files live.
    :param decode: rebuilds a record from its JSON object.
    :param pattern: glob of the record files in ``folder``.
    """

    def __init__(
        self, folder: Path, decode: Callable[[dict[str, Any]], R], pattern: str = "[!.]*.json"
    ) -> None:
        self._folder = folder
        self._decode = decode
        self._pattern = pattern
        self._items: dict[str, R] = {}
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")

    def load_records(self) -> list[R]:
        """
        Read every stored record (unreadable files are skipped with a warning).

        :return: the records in no particular order.
        """
        self._folder.mkdir(parents=True, exist_ok=True)
        for path in self._folder.glob(self._pattern):
            try:
                item = self._decode(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError, KeyError) as exc:
                log.warning("skipping unreadable record file %s: %s", path.name, exc)
                continue
            self._items[item.record_id] = item
        return list(self._items.values())

    def get(self, record_id: str) -> R | None:
        """
        One record, or None.

        :param record_id: the id.
        """
        return self._items.get(record_id)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[R]:
        return iter(list(self._items.values()))

    async def put(self, item: R) -> None:
        """
        Store a new or changed record and wait until it is on disk.

        :param item: the record.
        """
        self._items[item.record_id] = item
        record = item.to_record()
        await asyncio.get_running_loop().run_in_executor(self._writer, self._write, item.record_id, record)

    async def delete(self, record_id: str) -> None:
        """
        Forget a record and wait until its file is gone.

        :param record_id: the id.
        """
        self._items.pop(record_id, None)
        await asyncio.get_running_loop().run_in_executor(self._writer, self._unlink, record_id)

    def _write(self, record_id: str, record: dict[str, object]) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        final = self._folder / f"{record_id}.json"
        temp = self._folder / f".{record_id}.json.tmp"
        temp.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
        os.replace(temp, final)

    def _unlink(self, record_id: str) -> None:
        (self._folder / f"{record_id}.json").unlink(missing_ok=True)

    def close(self) -> None:
        """Finish pending writes."""
        self._writer.shutdown(wait=True)


class ExecutionStore(RecordStore[Execution]):
    """
    All workflow executions, mirrored to ``<folder>/<execution_id>.json``.

    :param folder: where the JSON files live.
    """

    def __init__(self, folder: Path) -> None:
        super().__init__(folder, Execution.from_record, pattern="node-gw-*.json")

    def load(self) -> list[Execution]:
        """
        Read every stored execution (unreadable files are skipped with a warning).

        :return: the executions, oldest first.
        """
        return sorted(self.load_records(), key=lambda e: e.created_at)

    def counts_by_status(self) -> dict[str, int]:
        """How many executions are in each status."""
        return dict(Counter(e.status.value for e in self))
