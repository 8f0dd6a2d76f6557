"""
Faults that only real Airflow services can show (``tests/system/harness.py``: API server, scheduler with the
LocalExecutor, DAG processor and triggerer as separate processes), against a stub-rendering emulator:

* the task process of a HeyGen task is killed with SIGKILL while it polls (sync mode) and right after it
  submitted (deferrable mode, before it deferred); with ``retries=1`` each retry reattaches to its execution
  through ``task_state_store``: one submission per task, and the run succeeds;
* the triggerer is killed with SIGKILL while ten tasks are deferred, then started again: the new triggerer
  picks their triggers up and every task completes, with no resubmission and no failed try;
* v3 videos and lip-syncs (sync and deferrable, ``retries=1``) are killed with SIGKILL while their create is
  in flight (after the ``Idempotency-Key`` was saved, before the id): each retry sends the same key again,
  and the emulator counts one job per task and the replays;
* two deferred v3 videos are marked failed through the REST API: the triggerer's ``on_kill`` deletes the
  one with ``delete_on_kill=True`` at HeyGen and leaves the other running;
* afterwards, neither the connection's key nor the one from ``HEYGEN_API_KEY`` is anywhere in the metadata
  database, the log files, the REST API's task logs or what the client sent; a task that logs the
  ``HEYGEN_API_KEY`` key shows ``***``.

The module's tests share one set of services and run in order.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from tests.dags.heygen_reliability_dags import TRIGGERER_KILL_SIZE, V3_KILL_TASKS, faces
from tests.reliability.support import (
    ReliabilityReport,
    RequestLog,
    ScenarioCounts,
    SecretScan,
    heygen_connection,
    hook_retries,
    tables_holding,
    video_bytes_lost,
    wait_until,
)
from tests.support.v3_emulator import grown
from tests.system.harness import AirflowServices, RunObservation, trigger_kwargs

pytestmark = [pytest.mark.services, pytest.mark.timeout(900)]

DAGS_FOLDER = Path(__file__).resolve().parents[1] / "dags"
CONNECTION_KEY = f"hg-services-{secrets.token_hex(16)}"
ENV_KEY = f"hg-env-{secrets.token_hex(16)}"
WORKER_KILL_DAG = "heygen_reliability_worker_kill"
TRIGGERER_KILL_DAG = "heygen_reliability_triggerer_kill"
ENV_KEY_DAG = "heygen_reliability_env_key"
V3_KILL_DAG = "heygen_reliability_v3_worker_kill"
V3_DELETE_DAG = "heygen_reliability_v3_delete_on_kill"
# Each v3 create waits this long at the emulator: the window in which its task process is killed. Shorter
# than what the retry's 409 request_in_progress retries can wait out (5 retries, 1 s or more apart).
V3_CREATE_DELAY = 6
# Renders outlast a kill, a retry delay and a new task process. Airflow 3.3.2 also fails a deferred task
# whose trigger fires before its worker was reaped (apache/airflow#66374): never complete within seconds.
WORKER_KILL_RENDER_SECONDS = 20


@dataclass
class Stack:
    """
    The services, the emulator they use, and a second emulator that only accepts the ``HEYGEN_API_KEY`` key.

    :param services: the Airflow services.
    :param emulator: the emulator of connection ``heygen_services`` (key :data:`CONNECTION_KEY`).
    :param env_emulator: the emulator of connection ``heygen_env_key`` (key :data:`ENV_KEY`).
    :param runs: the DAG runs the tests made, by DAG id.
    :param triggers: trigger rows seen while tasks were deferred, by their decrypted kwargs.
    """

    services: AirflowServices
    emulator: EmulatorHandle
    env_emulator: EmulatorHandle
    runs: dict[str, str] = field(default_factory=dict)
    triggers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def request_log(self) -> RequestLog:
        """The main emulator's request log."""
        return RequestLog(self.emulator.data_dir / "requests.jsonl")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Both emulators and the Airflow services (on ``tests/dags``), shared by the module's tests."""
    tmp = tmp_path_factory.mktemp("reliability-services")
    with (
        run_emulator(
            tmp / "emulator",
            render="stub",
            api_key=CONNECTION_KEY,
            request_log=tmp / "emulator" / "requests.jsonl",
            # 10 renders held at once, beside renders of killed tasks that outlast their test: more
            # than the plan's default 10, which is not what these tests are about.
            plan_concurrency=1000,
        ) as emulator,
        run_emulator(
            tmp / "env-emulator",
            render="stub",
            api_key=ENV_KEY,
            request_log=tmp / "env-emulator" / "requests.jsonl",
        ) as env_emulator,
    ):
        env = {
            "AIRFLOW_CONN_HEYGEN_SERVICES": heygen_connection(
                emulator.base_url, CONNECTION_KEY, retry_min_delay=0.2
            ),
            "AIRFLOW_CONN_HEYGEN_ENV_KEY": heygen_connection(
                env_emulator.base_url, None, retry_min_delay=0.2
            ),
            "HEYGEN_API_KEY": ENV_KEY,
            # A restarted triggerer adopts the triggers of one silent for this long (30 s by default).
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "15",
        }
        with AirflowServices(tmp / "airflow", DAGS_FOLDER, env=env) as services:
            for dag_id in (WORKER_KILL_DAG, TRIGGERER_KILL_DAG, ENV_KEY_DAG, V3_KILL_DAG, V3_DELETE_DAG):
                services.wait_for_dag(dag_id)
            yield Stack(services, emulator, env_emulator)


def saved_record(stack: Stack, dag_id: str, task_id: str) -> dict[str, Any] | None:
    """
    The record a task saved in ``task_state_store`` (in-flight marker or id), read from the metadata database.

    :param stack: the services.
    :param dag_id: the DAG.
    :param task_id: the task.
    """
    query = "SELECT value FROM task_state_store WHERE dag_id = ? AND run_id = ? AND task_id = ? AND key = ?"
    with stack.services.database() as db:
        row = db.execute(query, (dag_id, stack.runs[dag_id], task_id, "heygen_execution")).fetchone()
    return dict(json.loads(row[0])) if row else None


def saved_execution(stack: Stack, dag_id: str, task_id: str) -> str | None:
    """
    The execution id a task saved in ``task_state_store``, read from the metadata database.

    :param stack: the services.
    :param dag_id: the DAG.
    :param task_id: the task.
    """
    record = saved_record(stack, dag_id, task_id)
    return record.get("execution_id") if record else None


def task_process(stack: Stack, dag_id: str, task_id: str) -> int | None:
    """
    The pid of the process running a task instance's current try: the task runner names itself
    ``airflow worker -- <task instance id>``. Only processes under the scheduler's (its LocalExecutor's
    supervisors') tree are considered.

    :param stack: the services.
    :param dag_id: the DAG.
    :param task_id: the task.
    """
    (ti,) = [
        ti for ti in stack.services.task_instances(dag_id, stack.runs[dag_id]) if ti["task_id"] == task_id
    ]
    title = f"airflow worker -- {ti['id']}".encode()
    scheduler = stack.services.components["scheduler"].process.pid
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if cmdline.read_bytes().rstrip(b"\0").startswith(title) and descends_from(
                int(cmdline.parent.name), scheduler
            ):
                return int(cmdline.parent.name)
    return None


def descends_from(pid: int, ancestor: int) -> bool:
    """
    Whether ``pid`` is ``ancestor`` or one of its descendants.

    :param pid: a process id.
    :param ancestor: the candidate ancestor.
    """
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


def kill_task_process(stack: Stack, dag_id: str, task_id: str) -> int:
    """
    SIGKILL the process of a task instance's current try and wait until it is gone; return its pid.

    :param stack: the services.
    :param dag_id: the DAG.
    :param task_id: the task.
    """
    pid = wait_until(f"the process of {task_id}", lambda: task_process(stack, dag_id, task_id), 60, 0.2)
    os.kill(pid, signal.SIGKILL)
    wait_until(
        f"{task_id}'s process {pid} to exit", lambda: not Path(f"/proc/{pid}/cmdline").exists(), 30, 0.1
    )
    return pid


def mapped_result(stack: Stack, dag_id: str, task_id: str, map_index: int) -> Any:
    """
    The return value of one mapped task instance, from the REST API.

    :param stack: the services.
    :param dag_id: the DAG.
    :param task_id: the mapped task.
    :param map_index: which of its instances.
    """
    path = (
        f"/api/v2/dags/{dag_id}/dagRuns/{stack.runs[dag_id]}/taskInstances/{task_id}/xcomEntries/return_value"
    )
    return stack.services.api("GET", path, params={"map_index": map_index, "deserialize": "true"})["value"]


def all_logs(stack: Stack, dag_id: str) -> str:
    """
    Every try's log of every task of a run, as the REST API serves it (worker and trigger parts).

    :param stack: the services.
    :param dag_id: the DAG.
    """
    services, run_id = stack.services, stack.runs[dag_id]
    logs = []
    for ti in services.task_instances(dag_id, run_id):
        for try_number in range(1, ti["try_number"] + 1):
            if ti["map_index"] < 0:
                logs.append(services.task_log(dag_id, run_id, ti["task_id"], try_number))
    folder = services.logs_folder / f"dag_id={dag_id}" / f"run_id={run_id}"
    logs += [path.read_text(errors="replace") for path in sorted(folder.rglob("*.log"))]
    return "\n".join(logs)


def test_killed_task_processes_retry_into_their_own_executions(
    stack: Stack, report: ReliabilityReport
) -> None:
    services, emulator = stack.services, stack.emulator
    emulator.set_faults(latency=WORKER_KILL_RENDER_SECONDS)
    started = time.time()
    stack.runs[WORKER_KILL_DAG] = services.trigger(WORKER_KILL_DAG)
    stack.runs[ENV_KEY_DAG] = services.trigger(ENV_KEY_DAG)

    # Sync: killed while it polls. Deferrable: killed after saving its execution id, before it deferred.
    sync_id = wait_until(
        "the sync task's saved id", lambda: saved_execution(stack, WORKER_KILL_DAG, "swap_sync"), 120, 0.2
    )
    wait_until("the sync task to poll", lambda: len(stack.request_log.polls_of(sync_id)) >= 2, 60, 0.2)
    kill_task_process(stack, WORKER_KILL_DAG, "swap_sync")
    deferred_id = wait_until(
        "the deferrable task's saved id",
        lambda: saved_execution(stack, WORKER_KILL_DAG, "swap_deferred"),
        120,
        0.2,
    )
    kill_task_process(stack, WORKER_KILL_DAG, "swap_deferred")

    try:
        run = services.wait_for_run(WORKER_KILL_DAG, stack.runs[WORKER_KILL_DAG], timeout=300)
        env_run = services.wait_for_run(ENV_KEY_DAG, stack.runs[ENV_KEY_DAG], timeout=120)
    except Exception as err:
        raise AssertionError(f"{err}{services.log_tails()}") from err
    tis = {ti["task_id"]: ti for ti in run.task_instances}
    results = {task: services.xcom(WORKER_KILL_DAG, stack.runs[WORKER_KILL_DAG], task) for task in tis}
    submissions = {
        task: len(stack.request_log.submissions(f"{faces('worker-kill')}{task.removeprefix('swap_')}.jpg"))
        for task in tis
    }
    logs = all_logs(stack, WORKER_KILL_DAG)
    lost = video_bytes_lost(emulator, list(results.values()))
    report.add(
        ScenarioCounts(
            scenario="Worker killed (kill -9 of the task process), real services",
            injected="sync task killed while polling; deferrable task killed after submitting, before "
            "deferring; retries=1",
            jobs=len(tis),
            submissions=sum(submissions.values()),
            http_retries=hook_retries(logs),
            task_retries=sum(ti["try_number"] - 1 for ti in tis.values()),
            failures=sum(ti["state"] != "success" for ti in tis.values()),
            bytes_lost=lost,
            seconds=round(time.time() - started, 1),
            notes="each retry reattached to its execution through task_state_store; "
            "the killed tries are the task retries",
        )
    )

    assert run.run["state"] == "success", services.log_tails()
    assert env_run.run["state"] == "success", services.log_tails()
    assert {task: (ti["state"], ti["try_number"]) for task, ti in tis.items()} == {
        "swap_sync": ("success", 2),
        "swap_deferred": ("success", 2),
    }
    assert submissions == {"swap_sync": 1, "swap_deferred": 1}, "exactly one paid submission per task"
    assert (results["swap_sync"]["execution_id"], results["swap_deferred"]["execution_id"]) == (
        sync_id,
        deferred_id,
    )
    for task, execution_id in (("swap_sync", sync_id), ("swap_deferred", deferred_id)):
        first, second = services.tries(WORKER_KILL_DAG, stack.runs[WORKER_KILL_DAG], task)
        assert first["state"] != "success" and second["state"] == "success"
        retry_log = services.task_log(WORKER_KILL_DAG, stack.runs[WORKER_KILL_DAG], task, 2)
        assert f"Reattaching to HeyGen workflow execution {execution_id}" in retry_log
        assert "Created HeyGen" not in retry_log
    assert "deferred" in services.task_events(WORKER_KILL_DAG, stack.runs[WORKER_KILL_DAG], "swap_deferred")
    assert lost == 0


def test_a_killed_triggerer_is_replaced_and_every_deferred_task_completes(
    stack: Stack, report: ReliabilityReport
) -> None:
    services, emulator = stack.services, stack.emulator
    killed: dict[str, Any] = {}

    def kill_the_triggerer_once_all_are_deferred(observation: RunObservation) -> None:
        if observation.count("deferred"):
            stack.triggers.update({row["kwargs"]: row for row in services.triggers()})
        if killed or observation.count("deferred") < TRIGGERER_KILL_SIZE:
            return
        rows = services.triggers()
        if len(rows) < TRIGGERER_KILL_SIZE or any(row["triggerer_id"] is None for row in rows):
            return
        killed["triggerer_ids"] = {row["triggerer_id"] for row in rows}
        killed["submissions"] = len(stack.request_log.submissions(faces("triggerer-kill")))
        services.kill("triggerer")
        time.sleep(3)  # nothing polls HeyGen now; the tasks stay deferred
        killed["still_deferred"] = sum(
            ti["state"] == "deferred" for ti in services.task_instances(TRIGGERER_KILL_DAG, run_id)
        )
        services.start("triggerer")
        killed["restarted_at"] = time.time()

    def adopted(observation: RunObservation) -> None:
        kill_the_triggerer_once_all_are_deferred(observation)
        if "restarted_at" in killed:
            rows = services.triggers()
            killed.setdefault("new_triggerer_ids", set()).update(
                row["triggerer_id"] for row in rows if row["triggerer_id"] is not None
            )
            adopted_rows = [row for row in rows if row["triggerer_id"] not in killed["triggerer_ids"]]
            if "released" not in killed and len(adopted_rows) == TRIGGERER_KILL_SIZE:
                killed["released"] = emulator.release()  # every trigger adopted: let the renders end

    # Renders are held through deferring all ten tasks (about 11 s after the run starts on the 2-core
    # development machine), the kill and the new triggerer's adoption, then released.
    started = time.time()
    with emulator.held_renders():
        run_id = stack.runs[TRIGGERER_KILL_DAG] = services.trigger(TRIGGERER_KILL_DAG)
        try:
            observation = services.wait_for_run(TRIGGERER_KILL_DAG, run_id, timeout=400, watch=adopted)
        except Exception as err:
            raise AssertionError(f"{err}{services.log_tails()}") from err
    tis = observation.task_instances
    results = [mapped_result(stack, TRIGGERER_KILL_DAG, "swap", ti["map_index"]) for ti in tis]
    submissions = stack.request_log.submissions(faces("triggerer-kill"))
    logs = all_logs(stack, TRIGGERER_KILL_DAG)
    states_seen = {state for states in observation.task_states.values() for state in states}
    lost = video_bytes_lost(emulator, results)
    report.add(
        ScenarioCounts(
            scenario="Triggerer killed (kill -9) with 10 tasks deferred, real services",
            injected="triggerer's process group killed while all 10 mapped face swaps were deferred; "
            "started again 3 s later",
            jobs=TRIGGERER_KILL_SIZE,
            submissions=len(submissions),
            http_retries=hook_retries(logs),
            task_retries=sum(ti["try_number"] - 1 for ti in tis),
            failures=sum(ti["state"] != "success" for ti in tis),
            bytes_lost=lost,
            seconds=round(time.time() - started, 1),
            notes=f"{killed.get('still_deferred')} tasks still deferred while no triggerer ran; the new "
            "triggerer adopted every trigger",
        )
    )

    assert killed, f"the triggerer was never killed; states seen: {observation.task_states}"
    assert killed["submissions"] == TRIGGERER_KILL_SIZE
    assert killed["still_deferred"] == TRIGGERER_KILL_SIZE, "a dead triggerer fails no task"
    assert killed.get("released") == TRIGGERER_KILL_SIZE, "every render was held until the adoption"
    assert observation.run["state"] == "success", services.log_tails()
    assert {(ti["state"], ti["try_number"]) for ti in tis} == {("success", 1)}, "no try failed"
    assert not states_seen & {"failed", "up_for_retry"}, observation.task_states
    assert len(submissions) == TRIGGERER_KILL_SIZE, "no resubmission"
    assert killed["new_triggerer_ids"] - killed["triggerer_ids"], "a new triggerer job adopted the triggers"
    assert len({result["execution_id"] for result in results}) == TRIGGERER_KILL_SIZE
    assert lost == 0


def test_v3_creates_killed_in_flight_retry_with_their_key_into_one_job_each(stack: Stack) -> None:
    """
    Each task process is killed (SIGKILL) while its create waits at the emulator: the in-flight marker with
    the ``Idempotency-Key`` is saved, the id is not. The retry sends the same key; the emulator answers 409
    ``request_in_progress`` while the first create is still processed, then replays its answer.
    """
    services, emulator = stack.services, stack.emulator
    emulator.set_faults(latency=WORKER_KILL_RENDER_SECONDS, create_delay=V3_CREATE_DELAY)
    before = emulator.stats()
    run_id = stack.runs[V3_KILL_DAG] = services.trigger(V3_KILL_DAG)
    killed: dict[str, dict[str, Any]] = {}
    marked: dict[str, float] = {}

    def kill_each_create_in_flight() -> bool:
        for task in V3_KILL_TASKS:
            record = saved_record(stack, V3_KILL_DAG, task)
            if task in killed or record is None:
                continue
            assert "execution_id" not in record, f"{task} saved its id before it could be killed"
            # The create leaves right after its marker is saved; half a second later it surely waits
            # at the emulator, which holds it for V3_CREATE_DELAY seconds.
            if time.monotonic() - marked.setdefault(task, time.monotonic()) < 0.5:
                continue
            pid = task_process(stack, V3_KILL_DAG, task)
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                killed[task] = {**record, "pid": pid}
        return len(killed) == len(V3_KILL_TASKS)

    try:
        wait_until("every v3 create to be in flight and killed", kill_each_create_in_flight, 120, 0.1)
        emulator.set_faults(create_delay=0)
        run = services.wait_for_run(V3_KILL_DAG, run_id, timeout=300)
    except Exception as err:
        raise AssertionError(f"{err}{services.log_tails()}") from err
    finally:
        emulator.set_faults(create_delay=0)
    after = emulator.stats()
    tis = {ti["task_id"]: ti for ti in run.task_instances}

    assert run.run["state"] == "success", services.log_tails()
    assert {task: (ti["state"], ti["try_number"]) for task, ti in tis.items()} == dict.fromkeys(
        V3_KILL_TASKS, ("success", 2)
    )
    # The emulator is the judge: one job per task instance, and each retry's create was a replay.
    assert grown(before["jobs_created"], after["jobs_created"]) == {"video": 2, "lipsync": 2}
    assert grown(before["idempotent_replays"], after["idempotent_replays"]) == {"video": 2, "lipsync": 2}
    assert after["faults"]["slow_create"] - before["faults"]["slow_create"] == len(V3_KILL_TASKS)
    in_progress = grown(before["request_in_progress"], after["request_in_progress"])
    assert set(in_progress) <= {"video", "lipsync"}, in_progress
    for task in V3_KILL_TASKS:
        result = services.xcom(V3_KILL_DAG, run_id, task)
        assert result["status"] == "completed" and result["video_url"], (task, result)
        first, second = services.tries(V3_KILL_DAG, run_id, task)
        assert first["state"] != "success" and second["state"] == "success", task
        retry_log = services.task_log(V3_KILL_DAG, run_id, task, 2)
        key = killed[task]["idempotency_key"]
        assert "An earlier try's create got no answer: sending it again with the same key" in retry_log
        assert f"Idempotency-Key {key}" in retry_log, "the retry sent the first try's key"
        assert f"Idempotency-Key {key}" in services.task_log(V3_KILL_DAG, run_id, task, 1)
    for task in ("video_deferred", "lipsync_deferred"):
        assert "deferred" in services.task_events(V3_KILL_DAG, run_id, task), task


def test_marking_deferred_v3_videos_failed_deletes_only_the_delete_on_kill_one(stack: Stack) -> None:
    """
    A user marks two deferred v3 videos failed (REST API): the triggerer cancels both triggers and calls
    their ``on_kill``; the one with ``delete_on_kill=True`` deletes its video at HeyGen, the other's keeps
    rendering. The emulator's state is the judge: the deleted video reads 404, the kept one is still there.
    """
    services, emulator = stack.services, stack.emulator
    # Longer than the test: both videos still render when their tasks are marked failed.
    emulator.set_faults(latency=600)
    before = emulator.stats()
    run_id = stack.runs[V3_DELETE_DAG] = services.trigger(V3_DELETE_DAG)
    tasks = ("video_deleted", "video_kept")
    deferred_at = time.time()

    def waited_in_the_triggerer(observation: RunObservation) -> bool:
        if observation.count("deferred") < len(tasks):
            return False
        stack.triggers.update({row["kwargs"]: row for row in services.triggers()})
        ids = [services.xcom(V3_DELETE_DAG, run_id, task, "job_id") for task in tasks]
        # The triggerer runs both triggers once it has read both videos' statuses.
        reads = [entry.path for entry in stack.request_log.entries(deferred_at) if entry.method == "GET"]
        return all(any(job_id in path for path in reads) for job_id in ids)

    try:
        wait_until(
            "both videos to wait in the triggerer",
            lambda: waited_in_the_triggerer(observation_of(stack, V3_DELETE_DAG)),
            120,
            0.5,
        )
        ids = {task: services.xcom(V3_DELETE_DAG, run_id, task, "job_id") for task in tasks}
        kwargs = {task: trigger_kwargs_of(stack, ids[task]) for task in tasks}
        for task in tasks:
            path = f"/api/v2/dags/{V3_DELETE_DAG}/dagRuns/{run_id}/taskInstances/{task}"
            services.api("PATCH", path, json_body={"new_state": "failed"})
        wait_until(
            "the delete_on_kill video to be deleted",
            lambda: not video_exists(emulator, ids["video_deleted"]),
            60,
        )
        run = services.wait_for_run(V3_DELETE_DAG, run_id, timeout=60)
        # The kept video's trigger is cancelled by the same user action; its on_kill says it deletes nothing.
        wait_until(
            "the kept video's on_kill", lambda: "(delete_on_kill=False)" in trigger_logs(stack, run_id), 60
        )
    except Exception as err:
        raise AssertionError(f"{err}{services.log_tails()}") from err
    finally:
        emulator.set_faults(latency=WORKER_KILL_RENDER_SECONDS)
    deletes = {
        endpoint: codes
        for endpoint, codes in emulator.stats()["requests"].items()
        if endpoint.startswith("DELETE ")
    }
    before_deletes = {e: c for e, c in before["requests"].items() if e.startswith("DELETE ")}

    assert run.run["state"] == "failed"
    assert {ti["task_id"]: ti["state"] for ti in run.task_instances} == dict.fromkeys(tasks, "failed")
    assert kwargs["video_deleted"]["delete_on_kill"] is True
    assert set(kwargs["video_kept"]) == {"kind", "job_id", "heygen_conn_id", "poll_interval", "deadline"}
    assert not video_exists(emulator, ids["video_deleted"])
    assert video_exists(emulator, ids["video_kept"]), "without delete_on_kill the video keeps rendering"
    assert deletes == {"DELETE /v3/videos/{video_id}": {"200": 1}} and before_deletes == {}, deletes
    logs = trigger_logs(stack, run_id)
    assert "Trigger cancelled by user action, invoking on_kill" in logs
    assert f"Deleted HeyGen video {ids['video_deleted']} (delete_on_kill)" in logs
    assert f"{ids['video_kept']}; it keeps running there (delete_on_kill=False)" in logs


def observation_of(stack: Stack, dag_id: str) -> RunObservation:
    """
    The run's task instances now, as :meth:`AirflowServices.wait_for_run` would see them.

    :param stack: the services.
    :param dag_id: the DAG.
    """
    observation = RunObservation(run={})
    observation.task_instances = stack.services.task_instances(dag_id, stack.runs[dag_id])
    return observation


def trigger_kwargs_of(stack: Stack, job_id: str) -> dict[str, Any]:
    """
    The kwargs of the trigger waiting for a job, as the triggerer rebuilds the trigger from them.

    :param stack: the services.
    :param job_id: the job.
    """
    (kwargs,) = [kwargs for kwargs in stack.triggers if job_id in kwargs]
    return trigger_kwargs(kwargs)


def video_exists(emulator: EmulatorHandle, video_id: str) -> bool:
    """
    Whether HeyGen (the emulator) still has a v3 video: ``GET /v3/videos/{id}`` answers 200, not 404.

    :param emulator: the emulator.
    :param video_id: the video.
    """
    status, _ = emulator.v3("GET", f"/v3/videos/{video_id}")
    assert status in (200, 404), status
    return status == 200


def trigger_logs(stack: Stack, run_id: str) -> str:
    """
    What the triggerer logged for a run of :data:`V3_DELETE_DAG`: its tasks' trigger logs and its own log.

    :param stack: the services.
    :param run_id: the run.
    """
    folder = stack.services.logs_folder / f"dag_id={V3_DELETE_DAG}" / f"run_id={run_id}"
    paths = [*sorted(folder.rglob("*.log.trigger.*.log")), stack.services.home / "triggerer.log"]
    return "\n".join(path.read_text(errors="replace") for path in paths if path.exists())


def console_lines_with(stack: Stack, key: str) -> list[str]:
    """
    Lines of the components' own console logs (``<component>.log`` in the home) that hold ``key``.

    :param stack: the services.
    :param key: the key.
    """
    return [
        line
        for path in sorted(stack.services.home.glob("*.log"))
        for line in path.read_text(errors="replace").splitlines()
        if key in line
    ]


def test_no_key_anywhere_and_the_env_key_is_masked_in_task_logs(
    stack: Stack, report: ReliabilityReport
) -> None:
    """
    Neither key is in the database, a task log (file or REST API), a trigger's kwargs or a request; the task
    that logs ``HEYGEN_API_KEY`` shows ``***``.

    One place is outside the provider's reach: the LocalExecutor also copies every task's log lines to the
    scheduler's console, and Airflow 3.3.2 redacts that copy with the core secrets masker, while secrets a
    task registers at run time (``mask_secret``, connection passwords) go to the Task SDK's masker. So what a
    task itself prints unmasked reaches ``scheduler.log`` (never the task log). The provider never writes a
    key anywhere: the connection's key is in no file at all, and the ``HEYGEN_API_KEY`` key only in the
    scheduler's console copy of the two lines that print it on purpose.
    """
    services = stack.services
    assert stack.runs.keys() >= {WORKER_KILL_DAG, TRIGGERER_KILL_DAG, ENV_KEY_DAG}, "the scenarios ran first"
    env_log = all_logs(stack, ENV_KEY_DAG)
    task_logs = {dag_id: all_logs(stack, dag_id) for dag_id in stack.runs}
    request_lines = [
        line
        for handle in (stack.emulator, stack.env_emulator)
        for line in (handle.data_dir / "requests.jsonl").read_text().splitlines()
    ]
    consoles = list(services.home.glob("*.log"))
    keys = {"connection key": CONNECTION_KEY, "HEYGEN_API_KEY key": ENV_KEY}
    found = {
        name: {
            "database": tables_holding(services.db_path, key)[1],
            "task log files": [
                str(path.relative_to(services.home))
                for path in services.find_in_files(key)
                if path.parent != services.home
            ],
            "task logs via REST": [dag_id for dag_id, text in task_logs.items() if key in text],
            "trigger kwargs": [kwargs for kwargs in stack.triggers if key in kwargs],
            "requests": [line for line in request_lines if key in line],
        }
        for name, key in keys.items()
    }
    console_leaks = {name: console_lines_with(stack, key) for name, key in keys.items()}
    files = sum(1 for path in services.home.rglob("*") if path.is_file())
    tables = tables_holding(services.db_path, CONNECTION_KEY)[0]
    for name, places in found.items():
        report.secrets += [
            SecretScan(
                f"Real services, {name}: metadata DB, every column of every table",
                tables,
                len(places["database"]),
            ),
            SecretScan(
                f"Real services, {name}: files under AIRFLOW_HOME but consoles (task logs, DB, WAL)",
                files,
                len(places["task log files"]),
            ),
            SecretScan(
                f"Real services, {name}: task logs via the REST API",
                len(task_logs),
                len(places["task logs via REST"]),
            ),
            SecretScan(
                f"Real services, {name}: trigger kwargs", len(stack.triggers), len(places["trigger kwargs"])
            ),
            SecretScan(
                f"Real services, {name}: emulator request logs", len(request_lines), len(places["requests"])
            ),
            SecretScan(
                f"Real services, {name}: component console logs (scheduler.log, triggerer.log, ...)",
                len(consoles),
                len(console_leaks[name]),
                "the 2 lines a task printed on purpose, copied unmasked by the LocalExecutor (an Airflow "
                "3.3.2 bug, see RELIABILITY.md); the provider itself writes no key"
                if console_leaks[name]
                else "",
            ),
        ]
    report.secrets.append(
        SecretScan(
            "Real services: the task log of a task that logs and prints HEYGEN_API_KEY",
            1,
            int(ENV_KEY in env_log),
            "it reads 'HEYGEN_API_KEY logged: ***' and 'HEYGEN_API_KEY printed: ***'",
        )
    )

    assert "HEYGEN_API_KEY logged: ***" in env_log
    assert "HEYGEN_API_KEY printed: ***" in env_log
    assert stack.triggers, "trigger rows were seen while tasks were deferred"
    assert any("node-gw-" in kwargs for kwargs in stack.triggers), "the kwargs scan reads real rows"
    assert found == {name: {place: [] for place in places} for name, places in found.items()}
    assert console_leaks["connection key"] == []
    assert all(
        "HEYGEN_API_KEY logged:" in line or "HEYGEN_API_KEY printed:" in line
        for line in console_leaks["HEYGEN_API_KEY key"]
    )
