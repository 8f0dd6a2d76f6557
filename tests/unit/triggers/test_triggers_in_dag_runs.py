"""
The triggers inside real deferrable DAG runs (``dag.test()``): each yields its one event outside every
async context, so closing the generator logs nothing; and the trigger's log names the job's kind.

``dag.test()`` runs a trigger with ``asyncio.run(anext(trigger.run()))``: the generator stays suspended
at its ``yield`` and asyncio closes it at shutdown, together with every async generator still open. A
``yield`` inside ``async with hook.session()`` left the session's own generator open too, and closing
both at once logged ``RuntimeError: aclose(): asynchronous generator is already running`` through the
``asyncio`` logger, into the run's output.
"""

from __future__ import annotations

import gc
import re

import pytest
from airflow.models.dagrun import DagRun

from airflow_heygen.emulator.testing import EmulatorHandle
from tests.support.fake_heygen import FakeHeyGen
from tests.unit.dag_runs import run_test_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

ACLOSE_ERROR = "aclose(): asynchronous generator is already running"


def run_and_capture(
    dag_id: str, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> tuple[DagRun, str]:
    """
    Run a DAG; return the run and everything logged meanwhile: the ``logging`` records (the ``asyncio``
    logger's included) and what structlog printed to the process's stdout and stderr.
    """
    capfd.readouterr()
    run = run_test_dag(dag_id)
    # "Task exception was never retrieved" is logged when asyncio's failed close task is collected.
    gc.collect()
    out, err = capfd.readouterr()
    return run, "\n".join((caplog.text, out, err))


def test_the_execution_trigger_closes_cleanly_in_a_deferrable_dag_run(
    heygen_conn: FakeHeyGen, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    run, logged = run_and_capture("heygen_chain_deferrable", caplog, capfd)

    assert run.state == "success"
    assert "[DAG TEST] Trigger completed" in logged, "the triggers ran (and their output was captured)"
    assert ACLOSE_ERROR not in logged
    assert "RuntimeError" not in logged
    for ti in run.get_task_instances():
        execution_id = ti.xcom_pull(task_ids=ti.task_id, key="execution_id")
        assert f"HeyGen workflow execution {execution_id} is completed after " in logged
        video_url = heygen_conn.video_url(execution_id)
        assert logged.count(f"HeyGen workflow execution {execution_id} completed: {video_url}") == 1


def test_the_job_trigger_closes_cleanly_in_a_deferrable_v3_dag_run(
    emulator: EmulatorHandle, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    run, logged = run_and_capture("heygen_v3_video_deferrable", caplog, capfd)

    assert run.state == "success"
    assert "[DAG TEST] Trigger completed" in logged
    assert ACLOSE_ERROR not in logged
    assert "RuntimeError" not in logged
    (ti,) = run.get_task_instances()
    video_id = ti.xcom_pull(task_ids="video", key="job_id")
    video_url = ti.xcom_pull(task_ids="video")["video_url"]
    assert video_id and video_url
    # The trigger's bulk read knows no URL; the task reads it once, in the worker, and logs it there.
    assert f"HeyGen video {video_id} is completed after " in logged
    assert re.search(rf"HeyGen video {re.escape(video_id)} completed(\s|$)", logged, re.MULTILINE)
    assert logged.count(f"HeyGen video {video_id} completed: {video_url}") == 1
    assert f"HeyGen execution {video_id}" not in logged, "a video is not called an execution"
