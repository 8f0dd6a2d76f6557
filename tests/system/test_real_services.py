"""
The example pipeline under real Airflow services: API server, scheduler (LocalExecutor), DAG processor
and triggerer as separate processes, against the emulator rendering for real, driven through the REST API.

One run of ``heygen_avatar_faceswap_publish`` (avatar video -> face swap -> publish) is shared by the
module's tests; each asserts one thing that a user of the provider relies on in production.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import av
import pytest

from tests.system.pipeline import (
    API_KEY,
    DAG_ID,
    HEYGEN_TASKS,
    MANIFEST_DAG_ID,
    PUBLISH_TASK,
    PipelineRun,
    run_pipeline,
)

pytestmark = [pytest.mark.services, pytest.mark.timeout(480)]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineRun]:
    """One finished run of the pipeline, shared by the module's tests."""
    with run_pipeline(tmp_path_factory.mktemp("services")) as run:
        yield run


def test_the_run_succeeds_with_every_task_on_its_first_try(pipeline: PipelineRun) -> None:
    assert pipeline.observation.run["state"] == "success", pipeline.services.log_tails()
    tis = {ti["task_id"]: ti for ti in pipeline.services.task_instances(DAG_ID, pipeline.run_id)}
    assert set(tis) == {*HEYGEN_TASKS, PUBLISH_TASK}
    for task_id, ti in tis.items():
        assert (ti["state"], ti["try_number"]) == ("success", 1), task_id
        tries = pipeline.services.tries(DAG_ID, pipeline.run_id, task_id)
        assert [(t["try_number"], t["state"]) for t in tries] == [(1, "success")], task_id
    submissions = pipeline.emulator.stats()["submissions"]
    assert submissions == {"AvatarInferenceNode": 1, "FaceswapNode": 1}, "one paid submission per task"
    assert pipeline.services.import_errors() == [], "every example DAG imports in the DAG processor"


def test_heygen_tasks_waited_in_the_triggerer_not_in_a_worker(pipeline: PipelineRun) -> None:
    services, run_id = pipeline.services, pipeline.run_id
    for task_id in HEYGEN_TASKS:
        # The audit log records every state change: submit in a worker, wait deferred, resume once.
        events = services.task_events(DAG_ID, run_id, task_id)
        assert events == ["running", "deferred", "running", "success"], (task_id, events)
        assert pipeline.observation.saw(task_id, "deferred"), pipeline.observation.task_states
        # A worker process ran the task while it was running, and none held it while it waited.
        samples = pipeline.worker_samples[task_id]
        assert ("running", True) in samples, (task_id, samples)
        deferred = [alive for state, alive in samples if state == "deferred"]
        assert not deferred[-1] and deferred.count(False) >= 3, (task_id, samples)

        # The trigger's log, written by the triggerer, saw the execution complete; the worker only
        # submitted and deferred, then resumed with the trigger's event.
        folder = services.logs_folder / f"dag_id={DAG_ID}" / f"run_id={run_id}" / f"task_id={task_id}"
        worker_log = (folder / "attempt=1.log").read_text()
        (trigger_log_path,) = folder.glob("attempt=1.log.trigger.*.log")
        trigger_log = trigger_log_path.read_text()
        execution_id = services.xcom(DAG_ID, run_id, task_id, "execution_id")
        assert "Submitted HeyGen" in worker_log and "Pausing task as DEFERRED" in worker_log
        assert f"HeyGen execution {execution_id} is " not in worker_log
        assert f"HeyGen execution {execution_id} is completed" in trigger_log
        assert "triggerer_job_runner.py" in trigger_log

    # While the tasks were deferred, the trigger table held one HeyGen trigger each, run by a triggerer.
    classpaths = {row["classpath"] for row in pipeline.triggers.values()}
    assert classpaths == {"airflow_heygen.triggers.heygen.HeyGenExecutionTrigger"}
    assert len(pipeline.triggers) == len(HEYGEN_TASKS)
    assert all(row["triggerer_id"] is not None for row in pipeline.triggers.values())


def test_the_api_key_is_nowhere_in_the_database_logs_or_trigger_kwargs(pipeline: PipelineRun) -> None:
    services = pipeline.services
    execution_id = services.xcom(DAG_ID, pipeline.run_id, "faceswap", "execution_id")
    # The scans do see what the run stored: the execution id is in XCom, the trigger and the logs.
    assert "xcom.value" in services.find_in_database(execution_id)
    assert any(execution_id in kwargs for kwargs in pipeline.triggers)
    assert any(path.name.startswith("attempt=1.log.trigger") for path in services.find_in_files(execution_id))

    assert services.find_in_database(API_KEY) == []
    assert services.find_in_files(API_KEY) == []
    assert [kwargs for kwargs in pipeline.triggers if API_KEY in kwargs] == []
    for task_id in HEYGEN_TASKS:
        assert API_KEY not in services.task_log(DAG_ID, pipeline.run_id, task_id)


def _download(url: str, path: Path) -> Path:
    with urllib.request.urlopen(url, timeout=30) as response, path.open("wb") as file:
        shutil.copyfileobj(response, file)
    return path


def _decoded_frames(path: Path) -> int:
    with av.open(str(path)) as video:
        stream = video.streams.video[0]
        assert stream.width > 0 and stream.height > 0
        return sum(1 for _ in video.decode(stream))


def test_the_faceswap_task_links_to_its_video(pipeline: PipelineRun, tmp_path: Path) -> None:
    services = pipeline.services
    result = services.xcom(DAG_ID, pipeline.run_id, "faceswap")
    execution_id = result["execution_id"]
    assert result["status"] == "completed"
    assert result["video_url"] == pipeline.emulator.url(f"/media/{execution_id}.mp4")

    links = services.extra_links(DAG_ID, pipeline.run_id, "faceswap")
    assert links == {"HeyGen video": result["video_url"]}

    # The link leads to a real video: the face swapped into the avatar video.
    assert _decoded_frames(_download(result["video_url"], tmp_path / "faceswap.mp4")) >= 25


def test_the_swapped_video_is_published_whole_and_decodes(pipeline: PipelineRun, tmp_path: Path) -> None:
    services = pipeline.services
    published = services.xcom(DAG_ID, pipeline.run_id, PUBLISH_TASK)
    safe_run = pipeline.run_id.replace(":", "-").replace("+", "_")
    video = pipeline.publish_root / "avatar_faceswap" / f"{safe_run}.mp4"
    assert published["uri"] == video.as_uri()

    data = video.read_bytes()
    assert published["bytes"] == len(data)
    assert published["sha256"] == hashlib.sha256(data).hexdigest()
    swapped_url = services.xcom(DAG_ID, pipeline.run_id, "faceswap")["video_url"]
    original = _download(swapped_url, tmp_path / "faceswap.mp4").read_bytes()
    assert data == original, "the published file is the face-swapped video, byte for byte"
    assert _decoded_frames(video) >= 25
    assert [p.name for p in video.parent.iterdir() if p.name.startswith(".")] == [], "no temporary left"

    from PIL import Image

    preview = pipeline.publish_root / "avatar_faceswap" / f"{safe_run}.png"
    assert published["preview_uri"] == preview.as_uri()
    with Image.open(preview) as image:
        assert image.width > 0 and image.height > 0


def test_publishing_schedules_the_downstream_manifest_dag(pipeline: PipelineRun) -> None:
    """The publish task's asset event makes the scheduler run the asset-scheduled example DAG."""
    services = pipeline.services
    run_id = services.wait_for_first_run(MANIFEST_DAG_ID, timeout=60)
    assert services.wait_for_run(MANIFEST_DAG_ID, run_id, timeout=90).run["state"] == "success"

    manifest_path = Path(urlparse(services.xcom(MANIFEST_DAG_ID, run_id, "write_manifest")).path)
    assert manifest_path.parent == pipeline.publish_root / "manifests"
    manifest = json.loads(manifest_path.read_text())
    published = services.xcom(DAG_ID, pipeline.run_id, PUBLISH_TASK)
    assert [video["uri"] for video in manifest["videos"]] == [published["uri"]]
    assert manifest["videos"][0]["sha256"] == published["sha256"]


def test_the_heygen_connection_type_is_listed_with_its_form(pipeline: PipelineRun) -> None:
    heygen = pipeline.services.hook_meta()["heygen"]

    assert heygen["hook_name"] == "HeyGen"
    assert heygen["hook_class_name"] == "airflow_heygen.hooks.heygen.HeyGenHook"
    standard = heygen["standard_fields"]
    assert standard["password"]["title"] == "API Key"
    assert standard["host"]["title"] == "API URL"
    assert all(standard[name]["hidden"] for name in ("login", "port", "url_schema"))
    extra = heygen["extra_fields"]
    assert {name: extra[name]["schema"]["title"] for name in extra} == {
        "retry_limit": "Retry limit",
        "retry_min_delay": "Retry min delay (s)",
        "retry_max_delay": "Retry max delay (s)",
        "request_timeout": "Request timeout (s)",
    }
    assert extra["retry_limit"]["schema"]["type"] == ["integer", "null"]


def test_a_person_sees_the_form_and_the_video_link(pipeline: PipelineRun, tmp_path: Path) -> None:
    """Headless Chromium opens the UI: the HeyGen connection form, and the task's "HeyGen video" button."""
    if shutil.which("chromium") is None:
        message = "chromium is not installed (apt-get install -y chromium)"
        # CI installs it (.ci/run), so there a missing browser is a failure, not a reason to skip.
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from PIL import Image

    from scripts.screenshots import capture

    services = pipeline.services
    shots = capture(services.base_url, services.token(), DAG_ID, pipeline.run_id, "faceswap", tmp_path)

    assert shots.video_link == services.extra_links(DAG_ID, pipeline.run_id, "faceswap")["HeyGen video"]
    for png in (shots.connection_form, shots.task_extra_link):
        with Image.open(png) as image:
            assert image.width >= 1000 and image.height >= 600
            assert len(set(image.convert("L").getdata())) > 50, f"{png.name} looks blank"
