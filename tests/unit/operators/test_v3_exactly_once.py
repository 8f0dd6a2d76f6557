"""
Exactly one HeyGen job per task instance, with the emulator's counters as the judge: a lost reply to
the first create, 503 storms, a 409 while the first create is still in flight, and a task retry after
a try that died between the create and saving the id; videos and lip-syncs, sync and deferrable.
"""

from __future__ import annotations

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle
from tests.support.v3_emulator import Counts, connection
from tests.unit.dag_runs import run_test_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

KINDS = ["video", "lipsync"]
MODES = ["sync", "deferrable"]
CREATE = {"video": "POST /v3/videos", "lipsync": "POST /v3/lipsyncs"}


def _finished(run, kind: str) -> dict:
    (ti,) = run.get_task_instances()
    assert run.state == "success", f"{run.dag_id}: {ti.state}"
    result = ti.xcom_pull(task_ids=ti.task_id)
    assert result["kind"] == kind and result["status"] == "completed", result
    assert result["video_url"].startswith("http"), result
    return {"ti": ti, "result": result}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", KINDS)
def test_a_lost_reply_is_replayed_not_paid_twice(emulator: EmulatorHandle, kind: str, mode: str) -> None:
    counts = Counts(emulator)
    emulator.set_faults(lost_replies=1)

    done = _finished(run_test_dag(f"heygen_v3_{kind}_{mode}"), kind)

    assert counts.delta("jobs_created", kind) == 1, "HeyGen made exactly one job"
    assert counts.delta("idempotent_replays", kind) == 1, "the repeated create was answered by its key"
    assert done["ti"].try_number == 1, "retried within the try, no task retry needed"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", KINDS)
def test_503_storms_on_creates_make_one_job(emulator: EmulatorHandle, kind: str, mode: str) -> None:
    counts = Counts(emulator)
    emulator.set_faults(error_rate=0.6, seed=5)

    _finished(run_test_dag(f"heygen_v3_{kind}_{mode}"), kind)

    emulator.set_faults(error_rate=0)
    stats = emulator.stats()
    assert stats["requests"][CREATE[kind]].get("503", 0) > counts.before["requests"].get(
        CREATE[kind], {}
    ).get("503", 0), "the storm did hit the create"
    assert counts.delta("jobs_created", kind) == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", KINDS)
def test_a_create_still_in_flight_is_waited_for(
    emulator: EmulatorHandle, kind: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first create takes 1.5 s, the client gives up after 0.5 s and sends the same key again:
    # 409 request_in_progress, a wait, then the first create's answer.
    monkeypatch.setenv(
        "AIRFLOW_CONN_HEYGEN_DEFAULT", connection(emulator, create_timeout=0.5, retry_limit=10)
    )
    counts = Counts(emulator)
    emulator.set_faults(create_delay=1.5)

    _finished(run_test_dag(f"heygen_v3_{kind}_{mode}"), kind)

    assert counts.delta("request_in_progress", kind) >= 1, "the duplicate met the create in flight"
    assert counts.delta("idempotent_replays", kind) >= 1
    assert counts.delta("jobs_created", kind) == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", KINDS)
def test_a_try_that_died_after_the_create_is_not_paid_twice(
    emulator: EmulatorHandle, kind: str, mode: str
) -> None:
    counts = Counts(emulator)

    done = _finished(run_test_dag(f"heygen_v3_{kind}_{mode}_dies"), kind)

    assert done["ti"].try_number == 2, "the first try died; Airflow retried it"
    assert counts.delta("jobs_created", kind) == 1, "the retry sent the saved key: HeyGen's one job"
    assert counts.delta("idempotent_replays", kind) == 1


def test_two_runs_make_two_jobs(emulator: EmulatorHandle) -> None:
    counts = Counts(emulator)
    for _ in range(2):
        _finished(run_test_dag("heygen_v3_video_sync"), "video")
    assert counts.delta("jobs_created", "video") == 2
    assert counts.delta("idempotent_replays", "video") == 0
