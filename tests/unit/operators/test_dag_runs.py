"""Operators and the sensor inside real DAG runs (``dag.test()``), deferrable and not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from airflow.models.dagrun import DagRun

from tests.conftest import TEST_KEY
from tests.support.fake_heygen import FakeHeyGen

pytestmark = pytest.mark.usefixtures("airflow_db")


def run_dag(dag_id: str) -> DagRun:
    from airflow.sdk import DAG

    from tests.dags import heygen_test_dags

    dags = {d.dag_id: d for d in vars(heygen_test_dags).values() if isinstance(d, DAG)}
    return dags[dag_id].test()


@pytest.mark.parametrize("dag_id", ["heygen_chain_sync", "heygen_chain_deferrable"])
def test_avatar_then_faceswap_chain(heygen_conn: FakeHeyGen, dag_id: str) -> None:
    run = run_dag(dag_id)

    assert run.state == "success"
    avatar_post, faceswap_post = [json.loads(r.body) for r in heygen_conn.requests if r.method == "POST"]
    assert avatar_post["workflow_type"] == "AvatarInferenceNode"
    avatar_id = next(i for i, e in heygen_conn.executions.items() if e.workflow_type == "AvatarInferenceNode")
    assert faceswap_post["input"] == {
        "source_image_url": "https://example.com/faces/ada.jpg",
        "target_video_url": heygen_conn.video_url(avatar_id),
    }
    faceswap = next(ti for ti in run.get_task_instances() if ti.task_id == "faceswap")
    faceswap_id = faceswap.xcom_pull(task_ids="faceswap", key="execution_id")
    link = faceswap.xcom_pull(task_ids="faceswap", key="_link_HeyGenVideoLink")
    assert link == heygen_conn.video_url(faceswap_id), "the 'HeyGen video' link points at the video"


@pytest.mark.parametrize(
    ("dag_id", "poller"), [("heygen_chain_deferrable", "aiohttp"), ("heygen_chain_sync", "requests")]
)
def test_who_waits(heygen_conn: FakeHeyGen, dag_id: str, poller: str) -> None:
    """Deferrable tasks are polled by the trigger's aiohttp client, sync ones by the worker's requests."""
    assert run_dag(dag_id).state == "success"

    status_polls = [r for r in heygen_conn.requests if r.method == "GET"]
    assert status_polls
    assert all(poller in r.headers["User-Agent"] for r in status_polls)


def test_fan_out_then_sensors(heygen_conn: FakeHeyGen) -> None:
    heygen_conn.plan.polls = 3
    run = run_dag("heygen_fan_out")

    assert run.state == "success"
    assert heygen_conn.submissions == 2
    results = {ti.task_id: ti.xcom_pull(task_ids=ti.task_id) for ti in run.get_task_instances()}
    for mode in ("sync", "deferred"):
        assert results[f"submit_{mode}"]["status"] == "submitted"
        assert results[f"wait_{mode}"]["status"] == "completed"
        assert results[f"wait_{mode}"]["execution_id"] == results[f"submit_{mode}"]["execution_id"]
        assert results[f"wait_{mode}"]["video_url"] == heygen_conn.video_url(
            results[f"submit_{mode}"]["execution_id"]
        )


def test_mapped_faceswaps(heygen_conn: FakeHeyGen) -> None:
    run = run_dag("heygen_mapped")

    assert run.state == "success"
    sources = sorted(
        json.loads(r.body)["input"]["source_image_url"] for r in heygen_conn.requests if r.method == "POST"
    )
    assert sources == [f"https://example.com/faces/{n}.jpg" for n in range(3)]


def test_failed_execution_fails_the_run(heygen_conn: FakeHeyGen) -> None:
    heygen_conn.plan.status = "failed"
    run = run_dag("heygen_chain_deferrable")

    assert run.state == "failed"
    assert heygen_conn.submissions == 1, "the face swap never ran after the avatar failed"


def test_retry_after_a_crash_reattaches_instead_of_paying_twice(heygen_conn: FakeHeyGen) -> None:
    heygen_conn.plan.polls = 2
    run = run_dag("heygen_reattach")

    assert run.state == "success"
    assert heygen_conn.count("POST") == 2, "one submission per task (sync and deferrable), none on retry"
    for ti in run.get_task_instances():
        assert ti.try_number == 2, f"{ti.task_id} should have crashed once and succeeded on its retry"
        assert ti.xcom_pull(task_ids=ti.task_id)["status"] == "completed"


def test_api_key_is_nowhere_in_the_metadata_database_or_logs(
    heygen_conn: FakeHeyGen, airflow_db: Path
) -> None:
    assert run_dag("heygen_chain_deferrable").state == "success"

    stored = [airflow_db / "airflow.db", *(p for p in (airflow_db / "logs").rglob("*") if p.is_file())]
    leaks = [str(path) for path in stored if TEST_KEY.encode() in path.read_bytes()]
    assert not leaks
