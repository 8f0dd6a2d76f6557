"""
The emulator (HeyGen) goes away and comes back while tasks wait for their executions: one task polls from
the worker, one from the triggerer. Each time a task starts polling, the emulator is stopped and started
again on the same data dir and port; the executions survive (they are re-queued) and the tasks finish.
"""

from __future__ import annotations

import time

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
    video_bytes_lost,
    wait_until,
)

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(240)]

TASKS = ("swap_sync", "swap_deferred")
# Long enough that each execution is still rendering when the emulator goes down under it.
LATENCY = 4


def test_waiting_tasks_finish_when_the_emulator_comes_back(
    calm_emulator: EmulatorHandle,
    request_log: RequestLog,
    dag_runner: DagRunner,
    report: ReliabilityReport,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    emulator = calm_emulator
    # Patient enough to outlast a restart (about two seconds on a busy machine): about 15 s of retries.
    monkeypatch.setenv(
        "AIRFLOW_CONN_HEYGEN_RESTART",
        heygen_connection(emulator.base_url, API_KEY, retry_limit=12, retry_min_delay=0.2, retry_max_delay=2),
    )
    emulator.set_faults(latency=LATENCY)
    requeued_before = emulator.log_path.read_text().count("re-queued")
    started = time.time()
    restarted: list[str] = []
    port = emulator.port

    def restart_under_each_waiting_task() -> None:
        for _ in TASKS:
            # A task waits once its execution is polled; restart then, while the execution still renders.
            def first_poll_of_a_new_execution() -> str | None:
                for entry in request_log.entries(since=started):
                    execution_id = entry.path.rsplit("/", 1)[-1]
                    if entry.method == "GET" and entry.status == 200 and execution_id not in restarted:
                        return execution_id
                return None

            restarted.append(wait_until("a task polling", first_poll_of_a_new_execution, timeout=90))
            emulator.restart()
            emulator.set_faults(latency=LATENCY)

    with Watcher(restart_under_each_waiting_task):
        run = dag_runner.run("heygen_reliability_emulator_restart", capfd)

    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    results = [tis[task].xcom_pull(task_ids=task) for task in TASKS]
    submissions = request_log.submissions(faces("restart"), since=started)
    retries = hook_retries(dag_runner.console[-1])
    lost = video_bytes_lost(emulator, [result for result in results if result])
    report.add(
        ScenarioCounts(
            scenario="Emulator restarted mid-job",
            injected=f"emulator stopped and restarted on the same data dir under each waiting task "
            f"(sync and deferrable; {LATENCY}s renders)",
            jobs=len(TASKS),
            submissions=len(submissions),
            http_retries=retries,
            task_retries=sum(ti.try_number - 1 for ti in tis.values()),
            failures=sum(ti.state != "success" for ti in tis.values()),
            bytes_lost=lost,
            seconds=round(time.time() - started, 1),
            notes="polls during each outage met refused or dropped connections and were retried; "
            "the restarted emulator re-queued the unfinished executions",
        )
    )

    assert emulator.port == port, "the emulator came back on its port"
    assert sorted(restarted) == sorted(result["execution_id"] for result in results)
    assert run.state == "success"
    assert {(ti.state, ti.try_number) for ti in tis.values()} == {("success", 1)}
    assert len(submissions) == len(TASKS), "waiting through an outage never submits again"
    assert all(result["status"] == "completed" for result in results)
    assert lost == 0
    assert retries >= len(TASKS), "each waiting task met the outage and retried"
    requeued = emulator.log_path.read_text().count("re-queued") - requeued_before
    assert requeued == len(TASKS), "each restart found an execution still rendering"
    for execution_id in restarted:
        polls = request_log.polls_of(execution_id, since=started)
        # Each restart fell between two polls of the same execution: it went on being polled afterwards.
        assert len(polls) >= 2 and polls[-1].status == 200
