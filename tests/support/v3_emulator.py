"""
The emulator for the provider's v3 tests (stub rendering, one per session), a connection to it, its
request log and its counters. The fixtures are imported by the conftests that use them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from tests.conftest import heygen_connection_uri

# The plan concurrency of the shared emulator: far above the default 10, because jobs a test leaves
# rendering (e.g. 60 s renders outlasting a killed task) add up over the session, and none of these
# tests is about the plan's limit (tests/emulator/test_plan_concurrency.py is).
SHARED_PLAN_CONCURRENCY = 1000
# Money enough for every job of the session: the spend tests set their own balance and restore this one.
SHARED_BALANCE_USD = 1_000_000
# Between tests: no faults, and no forced failure left over from a test's fail_next.
QUIET = {
    "lost_replies": 0,
    "lost_reply_rate": 0,
    "create_delay": 0,
    "error_rate": 0,
    "rate_limit_rate": 0,
    "fail_next": [],
    "fail_code": "internal_error",
    "retire_workflows": None,
}


@pytest.fixture(scope="session")
def v3_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    """A stub-rendering emulator with a request log, shared by the v3 tests."""
    data_dir = tmp_path_factory.mktemp("v3-emulator")
    with run_emulator(
        data_dir,
        render="stub",
        request_log=data_dir / "requests.jsonl",
        seed=11,
        startup_timeout=180,
        plan_concurrency=SHARED_PLAN_CONCURRENCY,
        balance_usd=SHARED_BALANCE_USD,
    ) as handle:
        yield handle


@pytest.fixture
def emulator(v3_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorHandle]:
    """The emulator, fault-free, with ``heygen_default`` pointing at it (fast retries)."""
    v3_emulator.set_faults(**QUIET)
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", connection(v3_emulator))
    yield v3_emulator
    v3_emulator.set_faults(**QUIET)


def connection(handle: EmulatorHandle, **extra: Any) -> str:
    """A connection URI to the emulator with fast retries."""
    return heygen_connection_uri(handle.base_url, handle.api_key, **{"retry_limit": 8, **extra})


def request_log(handle: EmulatorHandle) -> list[dict[str, Any]]:
    """Every /v1 and /v3 request the emulator logged so far."""
    path = Path(handle.data_dir) / "requests.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def grown(before: Mapping[str, int], now: Mapping[str, int]) -> dict[str, int]:
    """The counters of ``now`` that grew since ``before``, by how much (e.g. one group of ``stats()``)."""
    return {key: now[key] - before.get(key, 0) for key in now if now[key] != before.get(key, 0)}


class Counts:
    """Changes of the emulator's counters between two points of a test."""

    def __init__(self, handle: EmulatorHandle) -> None:
        self.handle = handle
        self.before = handle.stats()

    def delta(self, group: str, kind: str) -> int:
        """How much ``stats()[group][kind]`` grew."""
        return int(self.handle.stats()[group].get(kind, 0)) - int(self.before[group].get(kind, 0))
