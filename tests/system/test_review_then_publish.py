"""
The example ``heygen_review_then_publish`` on real Airflow services: two runs wait for a person, one is
approved and one rejected through Airflow's REST API (``PATCH .../hitlDetails``), as a reviewer's UI does.

Approved: the video is published. Rejected: publishing is skipped, the review copy stays, and the answer
and its reviewer are in the run. Either way HeyGen did each job once (the emulator's count), and the
approval waited holding no worker (no task process while it awaited input).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import av
import pytest
import requests

from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from airflow_heygen.links.view import TaskInstanceView
from tests.system.harness import USERNAME, AirflowServices
from tests.system.pipeline import API_KEY, DAGS_FOLDER

pytestmark = [pytest.mark.services, pytest.mark.timeout(900)]

DAG_ID = "heygen_review_then_publish"
RENDER_SECONDS = 10
WAIT_FOR_REVIEW = 240.0
# How long the worker may take to end the parked task's process, and the executor to reap it after
# ([workers] min_heartbeat_interval is 5 s).
PARKING_SECONDS = 30.0
REAP_SECONDS = 6.0


@dataclass
class ReviewRuns:
    """
    Two runs of the example answered through the REST API.

    :param services: the Airflow services, still running.
    :param emulator: the emulator.
    :param publish_root: Variable ``heygen_publish_root``.
    :param approved: the approved run.
    :param rejected: the rejected run.
    :param questions: each run's hitlDetails as the reviewer saw them before answering.
    :param answers: each run's answer as the PATCH returned it.
    :param held_worker: whether a task process ran the approval while it awaited input, by run.
    """

    services: AirflowServices
    emulator: EmulatorHandle
    publish_root: Path
    approved: str
    rejected: str
    questions: dict[str, dict[str, Any]]
    answers: dict[str, dict[str, Any]]
    held_worker: dict[str, bool]


def _hitl_path(run_id: str) -> str:
    return f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances/review/-1/hitlDetails"


def _review_state(services: AirflowServices, run_id: str) -> str | None:
    for ti in services.task_instances(DAG_ID, run_id):
        if ti["task_id"] == "review":
            return ti["state"]
    return None


def _wait_for_the_question(services: AirflowServices, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_FOR_REVIEW
    while time.monotonic() < deadline:
        run = services.dag_run(DAG_ID, run_id)
        if run["state"] in ("success", "failed"):
            raise AssertionError(f"{run_id} ended ({run['state']}) before asking{services.log_tails()}")
        if _review_state(services, run_id) == "awaiting_input":
            return dict(services.api("GET", _hitl_path(run_id)))
        time.sleep(1)
    raise AssertionError(f"{run_id} never awaited its review{services.log_tails()}")


def _holds_a_worker(services: AirflowServices, ti_id: str) -> bool:
    """
    Whether a task process still runs the parked approval after its worker had time to end it; then wait
    out the executor's reaping. An answer that resumes a task whose parking worker is not yet reaped fails
    it in Airflow 3.3.2 (as a trigger firing that early does, apache/airflow#66374): a person never
    answers within seconds, a test does.
    """
    deadline = time.monotonic() + PARKING_SECONDS
    while services.task_pid(ti_id) is not None:
        if time.monotonic() > deadline:
            return True
        time.sleep(0.5)
    time.sleep(REAP_SECONDS)
    return False


@pytest.fixture(scope="module")
def reviews(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewRuns]:
    tmp = tmp_path_factory.mktemp("review")
    with run_emulator(tmp / "emulator", render="stub", api_key=API_KEY, latency=RENDER_SECONDS) as emulator:
        connection = {"conn_type": "heygen", "password": API_KEY, "host": emulator.base_url}
        publish_root = tmp / "published"
        env = {
            "AIRFLOW_CONN_HEYGEN_DEFAULT": json.dumps(connection),
            "AIRFLOW_VAR_HEYGEN_PUBLISH_ROOT": publish_root.as_uri(),
        }
        with AirflowServices(tmp / "airflow", DAGS_FOLDER, env=env) as services:
            services.wait_for_dag(DAG_ID)
            approved = services.trigger(DAG_ID)
            rejected = services.trigger(DAG_ID)
            questions, answers, held = {}, {}, {}
            for run_id, choice in ((approved, "Approve"), (rejected, "Reject")):
                questions[run_id] = _wait_for_the_question(services, run_id)
                review = next(
                    ti for ti in services.task_instances(DAG_ID, run_id) if ti["task_id"] == "review"
                )
                held[run_id] = _holds_a_worker(services, review["id"])
                answers[run_id] = dict(
                    services.api(
                        "PATCH",
                        _hitl_path(run_id),
                        json_body={"chosen_options": [choice], "params_input": {}},
                    )
                )
            for run_id in (approved, rejected):
                services.wait_for_run(DAG_ID, run_id, timeout=180)
            yield ReviewRuns(services, emulator, publish_root, approved, rejected, questions, answers, held)


def _states(reviews: ReviewRuns, run_id: str) -> dict[str, str]:
    return {ti["task_id"]: ti["state"] for ti in reviews.services.task_instances(DAG_ID, run_id)}


def _name(run_id: str) -> str:
    return run_id.replace(":", "-").replace("+", "_")


def test_the_question_shows_the_preview_and_links_the_heygen_view(reviews: ReviewRuns) -> None:
    question = reviews.questions[reviews.approved]
    assert question["options"] == ["Approve", "Reject"]
    assert question["subject"] == f"Publish the face swap of {reviews.approved}?"
    body = question["body"]
    review_copy = TaskInstanceView(DAG_ID, reviews.approved, "review_copy")
    assert f"]({review_copy.preview})" in body
    assert f"]({TaskInstanceView(DAG_ID, reviews.approved, 'faceswap').tab})" in body
    # The execution the reviewer looks at is the one HeyGen made for this run.
    faceswap = reviews.services.xcom(DAG_ID, reviews.approved, "faceswap")
    assert f"`{faceswap['execution_id']}`" in body
    assert API_KEY not in json.dumps(reviews.questions)


def test_the_preview_in_the_question_is_served_by_the_heygen_view(reviews: ReviewRuns) -> None:
    # What the reviewer's browser fetches for the body's image, signed in (and refused when not).
    services = reviews.services
    preview = TaskInstanceView(DAG_ID, reviews.rejected, "review_copy").preview
    signed_in = {"Authorization": f"Bearer {services.token()}"}
    answer = requests.get(services.base_url + preview, headers=signed_in, timeout=30)
    assert answer.status_code == 200, answer.text[:500]
    copy = reviews.publish_root / "review" / f"{_name(reviews.rejected)}.png"
    assert answer.content == copy.read_bytes()
    assert requests.get(services.base_url + preview, timeout=30).status_code in (401, 403)


def test_the_review_copy_and_its_preview_exist_before_anyone_answers(reviews: ReviewRuns) -> None:
    for run_id in (reviews.approved, reviews.rejected):
        copy = reviews.publish_root / "review" / f"{_name(run_id)}.mp4"
        assert copy.is_file()
        with av.open(str(copy)) as container:
            assert container.streams.video
        assert list(copy.parent.glob(f"{_name(run_id)}*.png"))


def _failures(reviews: ReviewRuns, run_id: str) -> str:
    """The states of a run's tasks and the logs of its failed ones, for an assertion's message."""
    states = _states(reviews, run_id)
    logs = [
        reviews.services.task_log(DAG_ID, run_id, task_id)[-3000:]
        for task_id, state in states.items()
        if state == "failed"
    ]
    return f"{states}\n" + "\n".join(logs)


def test_approved_publishes_the_video(reviews: ReviewRuns) -> None:
    run = reviews.services.dag_run(DAG_ID, reviews.approved)
    assert run["state"] == "success", _failures(reviews, reviews.approved)
    states = _states(reviews, reviews.approved)
    assert states == {
        "avatar_video": "success",
        "faceswap": "success",
        "review_copy": "success",
        "review": "success",
        "publish": "success",
    }
    published = reviews.publish_root / "reviewed" / f"{_name(reviews.approved)}.mp4"
    assert published.is_file()
    result = reviews.services.xcom(DAG_ID, reviews.approved, "publish")
    assert result["uri"] == published.as_uri()


def test_rejected_skips_publishing_and_deletes_nothing(reviews: ReviewRuns) -> None:
    run = reviews.services.dag_run(DAG_ID, reviews.rejected)
    assert run["state"] == "success", _failures(reviews, reviews.rejected)
    states = _states(reviews, reviews.rejected)
    assert states["review"] == "success"
    assert states["publish"] == "skipped"
    assert not (reviews.publish_root / "reviewed" / f"{_name(reviews.rejected)}.mp4").exists()
    assert (reviews.publish_root / "review" / f"{_name(reviews.rejected)}.mp4").is_file()


def test_the_answer_and_its_reviewer_are_kept_in_the_run(reviews: ReviewRuns) -> None:
    for run_id, choice in ((reviews.approved, "Approve"), (reviews.rejected, "Reject")):
        detail = reviews.services.api("GET", _hitl_path(run_id))
        assert detail["response_received"] is True
        assert detail["chosen_options"] == [choice]
        assert detail["responded_by_user"]["name"] == USERNAME
        assert detail["responded_at"]


def test_each_heygen_job_was_paid_once_and_the_wait_held_no_worker(reviews: ReviewRuns) -> None:
    stats = reviews.emulator.stats()
    # Two runs, an avatar video and a face swap each: four executions, whatever the answers were.
    assert sorted(stats["submissions"].values()) == [2, 2], stats
    assert reviews.held_worker == {reviews.approved: False, reviews.rejected: False}
