"""
Retries of tasks whose worker died at the worst moments, with ``dag.test()``: the operators die on purpose
at one precise point of their first try (the real-services tests kill real processes where timing allows).

* Between HeyGen accepting a submission and its id reaching ``task_state_store``: the in-flight marker saved
  before the submission tells the retry that a job may exist, so it refuses to pay again and fails, naming
  the request and how to submit anyway.
* After a published video and its preview landed, before the task succeeded: the retry finds its own files
  in place and succeeds without copying again (instead of failing with "already exists").
"""

from __future__ import annotations

import hashlib
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
    heygen_connection,
    hook_retries,
)
from tests.support.scripted_server import Answer, ScriptedServer, scripted_server

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(180)]


def test_death_between_the_submission_and_saving_its_id_is_never_paid_twice(
    calm_emulator: EmulatorHandle,
    request_log: RequestLog,
    dag_runner: DagRunner,
    report: ReliabilityReport,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_WINDOW", heygen_connection(calm_emulator.base_url, API_KEY))
    started = time.time()

    run = dag_runner.run("heygen_reliability_submission_window", capfd)

    (ti,) = run.get_task_instances()
    result = ti.xcom_pull(task_ids="swap")
    submissions = request_log.submissions(faces("window"), since=started)
    polled = {
        entry.path.rsplit("/", 1)[-1] for entry in request_log.entries(since=started) if entry.method == "GET"
    }
    lost = 0  # no video was delivered, none was half-delivered
    report.add(
        ScenarioCounts(
            scenario="Death between submission and saving the id",
            injected="first try dies after HeyGen accepted the job, before the id reached task_state_store",
            jobs=1,
            submissions=len(submissions),
            http_retries=hook_retries(dag_runner.console[-1]),
            task_retries=ti.try_number - 1,
            failures=int(ti.state != "success"),
            bytes_lost=lost,
            seconds=round(time.time() - started, 1),
            notes="the retry finds the in-flight marker without an id and refuses to guess: it fails "
            "without submitting, naming the request and resubmit_unconfirmed; one job paid, none twice",
        )
    )

    console = dag_runner.console[-1]
    assert run.state == "failed"
    assert (ti.state, ti.try_number) == ("failed", 2), "the retry ran, and refused"
    assert len(submissions) == 1, "one paid job: the retry did not submit again"
    assert polled == set(), "nobody knows the job's id to poll it"
    assert result is None
    assert "an earlier try sent the FaceswapNode workflow" in console
    assert "resubmit_unconfirmed=True" in console


@pytest.fixture
def media() -> Iterator[ScriptedServer]:
    """A CDN serving the video to publish."""
    with scripted_server() as server:
        yield server


def test_a_retry_after_death_after_landing_returns_the_landed_video(
    media: ScriptedServer,
    dag_runner: DagRunner,
    report: ReliabilityReport,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    sample_video: bytes,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_PUBLISH", heygen_connection("https://api.heygen.com", API_KEY))
    video = Answer(200, sample_video, (("Content-Type", "video/mp4"),))
    media.reset([], video)
    destination = tmp_path / "published" / "ada.mp4"
    started = time.time()

    run = dag_runner.run(
        "heygen_reliability_publish_retry",
        capfd,
        conf={"video_url": f"{media.url}/ada.mp4", "destination": str(destination)},
    )

    (ti,) = run.get_task_instances()
    result = ti.xcom_pull(task_ids="publish")
    downloads = [request for request in media.received if request.path == "/ada.mp4"]
    published = destination.read_bytes()
    lost = len(sample_video) - len(published) if published == sample_video else len(sample_video)
    report.add(
        ScenarioCounts(
            scenario="Publish: death after the video landed",
            injected="first try dies after the video and its preview landed, before the task succeeded",
            jobs=1,
            submissions=0,
            http_retries=len(downloads) - 1,
            task_retries=ti.try_number - 1,
            failures=int(ti.state != "success"),
            bytes_lost=lost,
            seconds=round(time.time() - started, 1),
            notes="the retry recognised its own files (size and sha256 in task_state_store) and "
            "returned them without downloading again",
        )
    )

    assert run.state == "success"
    assert (ti.state, ti.try_number) == ("success", 2)
    assert len(downloads) == 1, "the retry did not download the video again"
    assert published == sample_video
    assert result["uri"] == destination.as_uri()
    assert result["sha256"] == hashlib.sha256(sample_video).hexdigest()
    assert result["bytes"] == len(sample_video)
    assert sorted(path.name for path in destination.parent.iterdir()) == ["ada.mp4", "ada.png"]
