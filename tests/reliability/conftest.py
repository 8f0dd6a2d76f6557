"""
Fixtures of the reliability suite: one stub-rendering emulator with a request log shared by the
``dag.test()`` scenarios, the API key they all use, the DAG runner, and the report of counts.

Set ``HEYGEN_RELIABILITY_REPORT=path.json`` to have the session write every scenario's counts there;
``scripts/reliability_report.py`` renders them as RELIABILITY.md's table.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from tests.reliability.support import REPORT_ENV_VAR, DagRunner, ReliabilityReport, RequestLog

# The key of every dag.test() scenario: no file, table or log could hold it by chance.
API_KEY = f"hg-reliability-{secrets.token_hex(16)}"
AFTER_SCENARIOS = "after_scenarios"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of the tests that inspect what the scenarios left behind."""
    config.addinivalue_line(
        "markers", f"{AFTER_SCENARIOS}: runs after every other test of the session (secrets scans)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the ``after_scenarios`` tests to the end, so they see every scenario's traces."""
    items.sort(key=lambda item: item.get_closest_marker(AFTER_SCENARIOS) is not None)


@pytest.fixture(scope="session")
def report() -> Iterator[ReliabilityReport]:
    """The counts of the session's scenarios, written to ``$HEYGEN_RELIABILITY_REPORT`` at the end."""
    counts = ReliabilityReport()
    yield counts
    target = os.environ.get(REPORT_ENV_VAR)
    if target and counts.rows:
        counts.write(Path(target))


@pytest.fixture(scope="session")
def dag_runner() -> DagRunner:
    """Runs the reliability DAGs with dag.test() and keeps their console output."""
    return DagRunner()


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    """A stub-rendering emulator accepting only :data:`API_KEY`, logging every /v1 request."""
    data_dir = tmp_path_factory.mktemp("reliability-emulator")
    with run_emulator(
        data_dir, render="stub", api_key=API_KEY, request_log=data_dir / "requests.jsonl", seed=6
    ) as handle:
        yield handle


@pytest.fixture(scope="session")
def request_log(emulator: EmulatorHandle) -> RequestLog:
    """The shared emulator's request log."""
    return RequestLog(emulator.data_dir / "requests.jsonl")


@pytest.fixture(scope="session")
def sample_video_path(emulator: EmulatorHandle) -> Path:
    """A real H.264 mp4: the emulator's sample target video."""
    return emulator.data_dir / "samples" / "target.mp4"


@pytest.fixture(scope="session")
def sample_video(sample_video_path: Path) -> bytes:
    """The content of :func:`sample_video_path`."""
    return sample_video_path.read_bytes()


@pytest.fixture
def calm_emulator(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    """The shared emulator without faults or latency before and after the test."""
    calm = {"latency": 0, "rate_limit_rate": 0, "error_rate": 0, "fail_rate": 0, "retry_after": 1}
    emulator.set_faults(**calm)
    yield emulator
    emulator.set_faults(**calm)
