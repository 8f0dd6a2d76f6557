"""
Fixtures of the lineage tests: the emulator, and the OpenLineage provider's real listener writing
every event to a file (its ``file`` transport), configured as a deployment would through
``AIRFLOW__OPENLINEAGE__*``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.v3_emulator import emulator, v3_emulator

__all__ = ["OpenLineageEvents", "emulator", "openlineage_events", "v3_emulator"]


class OpenLineageEvents:
    """The events the listener wrote to its file transport."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def all(self) -> list[dict[str, Any]]:
        """Every event so far, in order."""
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def of_task(self, dag_id: str, task_id: str) -> list[dict[str, Any]]:
        """The events of one task (job ``<dag_id>.<task_id>``), in order."""
        return [e for e in self.all() if e["job"]["name"] == f"{dag_id}.{task_id}"]

    def final(self, dag_id: str, task_id: str) -> dict[str, Any]:
        """The task's last event (COMPLETE or FAIL)."""
        events = [e for e in self.of_task(dag_id, task_id) if e["eventType"] in ("COMPLETE", "FAIL")]
        assert events, f"no COMPLETE or FAIL event of {dag_id}.{task_id}: {self.all()}"
        return events[-1]


@pytest.fixture
def openlineage_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenLineageEvents]:
    """
    OpenLineage on, with the file transport, for one test; its listener registered with the task SDK's
    listener manager (the provider's plugin registers it only when the process first loaded plugins
    with OpenLineage configured, which another test may have done without).
    """
    from airflow.providers.openlineage import conf
    from airflow.providers.openlineage.plugins.listener import get_openlineage_listener
    from airflow.sdk.listener import get_listener_manager

    path = tmp_path / "openlineage.jsonl"
    transport = {"type": "file", "log_file_path": str(path), "append": True}
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(transport))
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__DISABLED", "false")
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", "heygen-tests")
    assert not conf.is_disabled(), "OpenLineage must be enabled for these tests"
    manager = get_listener_manager()
    ours = [p for p in manager.pm.get_plugins() if type(p).__name__ == "OpenLineageListener"]
    added = None
    if not ours:
        added = get_openlineage_listener()
        manager.add_listener(added)
        ours = [added]
    for listener in ours:  # a client built before this test would write to another test's file
        listener.adapter._client = None
    yield OpenLineageEvents(path)
    if added is not None:
        manager.pm.unregister(added)
    for listener in ours:
        listener.adapter._client = None
