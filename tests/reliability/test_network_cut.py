"""
The network to HeyGen goes down (connections refused, reset, or accepted and never answered) right after
a face swap was submitted, for longer than the connection's retry budget. The task must fail with a
message naming the execution and how to resume; a HeyGenExecutionSensor given that id then waits for the
same execution once the network is back, and no second job is ever submitted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle
from tests.dags.heygen_reliability_dags import faces
from tests.reliability.conftest import API_KEY
from tests.reliability.support import (
    DagRunner,
    ReliabilityReport,
    RequestLog,
    ScenarioCounts,
    Watcher,
    heygen_connection,
    hook_retries,
    latest_task_state,
    video_bytes_lost,
    wait_until,
)
from tests.support.faulty_proxy import CutMode, FaultyProxy

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(240)]

# The face swap's budget: 3 attempts of at most 0.5 s each, about a second in all.
CUT_CONNECTION = {
    "retry_limit": 2,
    "retry_min_delay": 0.05,
    "retry_max_delay": 0.1,
    "request_timeout": 0.5,
    "create_timeout": 0.5,  # the submission is a POST
}
# The sensor's: about 30 s of retries, which outlasts the rest of the cut.
CUT_WORDS = {CutMode.REFUSE: "refused", CutMode.RESET: "reset", CutMode.STALL: "accepted, never answered"}
PATIENT_CONNECTION = {"retry_limit": 60, "retry_min_delay": 0.2, "retry_max_delay": 0.5, "request_timeout": 2}


@pytest.fixture
def proxy(calm_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultyProxy]:
    """A cuttable proxy in front of the emulator; both connections of the network-cut DAGs go through it."""
    faulty = FaultyProxy(calm_emulator.port)
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_CUT", heygen_connection(faulty.url, API_KEY, **CUT_CONNECTION))
    monkeypatch.setenv(
        "AIRFLOW_CONN_HEYGEN_PATIENT", heygen_connection(faulty.url, API_KEY, **PATIENT_CONNECTION)
    )
    yield faulty
    faulty.close()


@pytest.mark.parametrize(
    ("mode", "wait"),
    [
        (CutMode.REFUSE, "sync"),
        (CutMode.RESET, "deferred"),
        (CutMode.STALL, "sync"),
        (CutMode.STALL, "deferred"),
    ],
    ids=["refused-sync", "reset-deferrable", "stalled-sync", "stalled-deferrable"],
)
def test_a_cut_longer_than_the_retries_fails_naming_the_execution_and_the_sensor_resumes(
    proxy: FaultyProxy,
    calm_emulator: EmulatorHandle,
    request_log: RequestLog,
    dag_runner: DagRunner,
    report: ReliabilityReport,
    airflow_db: Path,
    capfd: pytest.CaptureFixture[str],
    mode: CutMode,
    wait: str,
) -> None:
    dag_id = f"heygen_reliability_network_cut_{wait}"
    source_prefix = f"{faces('network-cut')}{dag_id}"
    calm_emulator.set_faults(latency=3)
    started = time.time()

    def cut_after_the_submission_until_the_task_failed() -> None:
        wait_until("the submission", lambda: request_log.submissions(source_prefix, since=started), 60)
        proxy.cut(mode)
        database = airflow_db / "airflow.db"
        wait_until("the task to fail", lambda: latest_task_state(database, dag_id, "swap") == "failed", 60)
        proxy.restore()

    with Watcher(cut_after_the_submission_until_the_task_failed):
        run = dag_runner.run(dag_id, capfd)

    console = dag_runner.console[-1]
    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    (submission,) = request_log.submissions(source_prefix, since=started)
    execution_id = tis["swap"].xcom_pull(task_ids="swap", key="execution_id")
    resumed = tis["resume"].xcom_pull(task_ids="resume")
    lost = video_bytes_lost(calm_emulator, [resumed] if resumed else [])
    report.add(
        ScenarioCounts(
            scenario=f"Network cut ({mode.value}, {wait})",
            injected=f"every connection {CUT_WORDS[mode]} from the submission until the task failed "
            "(longer than its 3 attempts), then restored",
            jobs=1,
            submissions=len(request_log.submissions(source_prefix, since=started)),
            http_retries=hook_retries(console),
            task_retries=sum(ti.try_number - 1 for ti in tis.values()),
            failures=sum(ti.state == "failed" for ti in tis.values()),
            bytes_lost=lost,
            seconds=round(time.time() - started, 1),
            notes="the one failure is the expected one (naming the execution); the sensor then "
            "delivered the same execution's video",
        )
    )

    assert submission.status == 200
    assert execution_id, "the execution id was pushed to XCom as soon as it was known"
    assert tis["swap"].state == "failed"
    failure = re.search(rf"HeyGen\w*Error: (HeyGen workflow execution {execution_id}: [^\n]*)", console)
    assert failure, "the task's error names the execution"
    assert "did not answer after 3 attempt(s)" in failure.group(1)
    assert f"HeyGenExecutionSensor(task_id=..., execution_id='{execution_id}')" in failure.group(1)

    assert tis["resume"].state == "success", "the sensor resumed waiting for the same execution"
    assert run.state == "success"
    assert resumed["execution_id"] == execution_id
    assert resumed["status"] == "completed"
    assert lost == 0
    assert len(request_log.submissions(source_prefix, since=started)) == 1, "resuming never resubmits"
    counted = {CutMode.REFUSE: None, CutMode.RESET: "reset", CutMode.STALL: "stalled"}[mode]
    if counted is not None:
        assert proxy.counts[counted] >= 1, proxy.counts
