"""
After the ``dag.test()`` scenarios (this module runs last): the API key they all used is nowhere but in the
auth header. Not in any table of the Airflow metadata database (XComs, rendered template fields, task state,
trigger rows, ...), not in the database file's raw bytes (deleted rows included), not in anything a run
printed, not in what the client sent HeyGen in URLs and bodies (the emulator's request log), and not in the
emulator's own log. The emulator only accepts that key, so every answered request carried it in its header.
The real-services tests scan their own database, log files and REST API task logs the same way.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle
from tests.reliability.conftest import AFTER_SCENARIOS, API_KEY
from tests.reliability.support import (
    DagRunner,
    ReliabilityReport,
    RequestLog,
    SecretScan,
    heygen_connection,
    tables_holding,
)

pytestmark = [
    pytest.mark.usefixtures("airflow_db"),
    pytest.mark.timeout(180),
    getattr(pytest.mark, AFTER_SCENARIOS),
]


def test_the_api_key_is_only_ever_in_the_auth_header(
    calm_emulator: EmulatorHandle,
    request_log: RequestLog,
    dag_runner: DagRunner,
    report: ReliabilityReport,
    airflow_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # One more run whatever else ran: templated fields, XComs, task state and a download from HeyGen's host.
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_SECRETS", heygen_connection(calm_emulator.base_url, API_KEY))
    started = time.time()
    run = dag_runner.run("heygen_reliability_secrets", capfd, conf={"folder": str(tmp_path)})
    assert run.state == "success"
    execution_id = run.get_task_instance("swap").xcom_pull(task_ids="swap", key="execution_id")
    assert (tmp_path / f"{execution_id}.mp4").exists()

    database = airflow_db / "airflow.db"
    scanned_tables, holding_key = tables_holding(database, API_KEY)
    _, holding_id = tables_holding(database, execution_id)
    _, holding_face = tables_holding(database, "secrets/ada.jpg")
    raw_files = [path for path in airflow_db.glob("airflow.db*") if path.is_file()]
    raw_leaks = [path.name for path in raw_files if API_KEY.encode() in path.read_bytes()]
    console_leaks = [index for index, text in enumerate(dag_runner.console) if API_KEY in text]
    requests = request_log.entries()
    request_leaks = [entry.raw for entry in requests if API_KEY in entry.raw]
    emulator_log = calm_emulator.log_path.read_text(encoding="utf-8", errors="replace")
    report.secrets += [
        SecretScan(
            "Airflow metadata DB, every column of every table (dag.test runs)",
            scanned_tables,
            len(holding_key),
            "the scan does see the runs: the secrets run's execution id is in "
            f"{', '.join(sorted(c for c in holding_id if c.startswith(('xcom', 'rendered'))))}, its "
            f"templated face URL in {', '.join(sorted(c for c in holding_face if c.startswith('rendered')))}",
        ),
        SecretScan(
            "Raw bytes of the DB file and its journals (deleted rows too)", len(raw_files), len(raw_leaks)
        ),
        SecretScan(
            "Console output of every dag.test run (dag.test writes no task log files)",
            len(dag_runner.console),
            len(console_leaks),
            "runs that log HEYGEN_API_KEY on purpose run under real services, not here",
        ),
        SecretScan(
            "Emulator request log: method, URL with query and body of every request the client sent",
            len(requests),
            len(request_leaks),
            f"{sum(entry.method == 'POST' for entry in requests)} submissions and "
            f"{sum(entry.method == 'GET' for entry in requests)} status requests (faulted ones included); "
            "the emulator accepts only this key, so each carried it in X-Api-Key",
        ),
        SecretScan("Emulator log", 1, int(API_KEY in emulator_log)),
    ]

    assert request_log.submissions("", since=started), "the secrets run reached the emulator"
    assert "xcom.value" in holding_id and "rendered_task_instance_fields.rendered_fields" in holding_face
    assert holding_key == []
    assert raw_leaks == []
    assert console_leaks == []
    assert any("Created HeyGen" in text for text in dag_runner.console), "the console scan saw the runs"
    assert request_leaks == []
    assert all(entry.status != 401 for entry in requests), "every request carried the key in its header"
    assert API_KEY not in emulator_log
