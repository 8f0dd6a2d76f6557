"""Executions in memory, persisted as one JSON file each (written atomically, in order)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from airflow_heygen.emulator.models import Execution

log = logging.getLogger(__name__)


class ExecutionStore:
    """
    All executions, kept in memory and mirrored to ``<folder>/<execution_id>.json``.

    Writes go through one background thread, so they never block the event loop and land in the
    order they were made; each is a write to a temporary file and a rename.

    :param folder: where the JSON files live.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._items: dict[str, Execution] = {}
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")

    def load(self) -> list[Execution]:
        """
        Read every stored execution (unreadable files are skipped with a warning).

        :return: the executions, oldest first.
        """
        self._folder.mkdir(parents=True, exist_ok=True)
        for path in self._folder.glob("node-gw-*.json"):
            try:
                execution = Execution.from_record(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError, KeyError) as exc:
                log.warning("skipping unreadable execution file %s: %s", path.name, exc)
                continue
            self._items[execution.execution_id] = execution
        return sorted(self._items.values(), key=lambda e: e.created_at)

    def get(self, execution_id: str) -> Execution | None:
        """
        One execution, or None.

        :param execution_id: the id.
        """
        return self._items.get(execution_id)

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, execution: Execution) -> None:
        """
        Store a new or changed execution and wait until it is on disk.

        :param execution: the execution.
        """
        self._items[execution.execution_id] = execution
        record = execution.to_record()
        await asyncio.get_running_loop().run_in_executor(
            self._writer, self._write, execution.execution_id, record
        )

    def _write(self, execution_id: str, record: dict[str, object]) -> None:
        final = self._folder / f"{execution_id}.json"
        temp = self._folder / f".{execution_id}.json.tmp"
        temp.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
        os.replace(temp, final)

    def counts_by_status(self) -> dict[str, int]:
        """How many executions are in each status."""
        return dict(Counter(e.status.value for e in self._items.values()))

    def close(self) -> None:
        """Finish pending writes."""
        self._writer.shutdown(wait=True)
