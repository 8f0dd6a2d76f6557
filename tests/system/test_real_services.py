"""
The example pipeline under real Airflow services: API server, scheduler (LocalExecutor), DAG processor
and triggerer as separate processes, against the emulator rendering for real, driven through the REST API.

One run of ``heygen_avatar_faceswap_publish`` (avatar video -> face swap -> publish) is shared by the
module's tests; each asserts one thing that a user of the provider relies on in production. A run of the
v3 example ``heygen_v3_personalized`` (asset upload -> v3 avatar video -> face swap -> translations ->
publish, mapped over two customers) goes on at the same time in the same services, against an emulator
of its own whose counters judge it.
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

from tests.system.harness import trigger_kwargs
from tests.system.pipeline import (
    API_KEY,
    DAG_ID,
    HEYGEN_TASKS,
    MANIFEST_DAG_ID,
    PUBLISH_TASK,
    V3_DAG_ID,
    PipelineRun,
    V3Run,
    run_pipeline,
)

pytestmark = [pytest.mark.services, pytest.mark.timeout(480)]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineRun]:
    """One finished run of the pipeline, shared by the module's tests."""
    with run_pipeline(tmp_path_factory.mktemp("services"), with_v3=True) as run:
        yield run


@pytest.fixture
def v3(pipeline: PipelineRun) -> V3Run:
    """The v3 example's run of the shared services."""
    assert pipeline.v3 is not None
    return pipeline.v3


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
        # No worker process held the task while it waited (that one ran it is in its worker log, below:
        # its short running state can begin and end between two samples).
        samples = pipeline.worker_samples[task_id]
        deferred = [alive for state, alive in samples if state == "deferred"]
        assert not deferred[-1] and deferred.count(False) >= 3, (task_id, samples)

        # The trigger's log, written by the triggerer, saw the execution complete; the worker only
        # submitted and deferred, then resumed with the trigger's event.
        folder = services.logs_folder / f"dag_id={DAG_ID}" / f"run_id={run_id}" / f"task_id={task_id}"
        worker_log = (folder / "attempt=1.log").read_text()
        (trigger_log_path,) = folder.glob("attempt=1.log.trigger.*.log")
        trigger_log = trigger_log_path.read_text()
        execution_id = services.xcom(DAG_ID, run_id, task_id, "execution_id")
        assert (
            f"Created HeyGen workflow execution {execution_id}" in worker_log
            and "Pausing task as DEFERRED" in worker_log
        )
        assert f"HeyGen workflow execution {execution_id} is " not in worker_log
        assert f"HeyGen workflow execution {execution_id} is completed" in trigger_log
        assert "triggerer_job_runner.py" in trigger_log

    # While the tasks were deferred, the trigger table held one HeyGen trigger each, run by a triggerer.
    # One trigger for every kind: a workflows execution is a job of the ``workflow`` kind.
    classpaths = {row["classpath"] for row in pipeline.triggers.values()}
    assert classpaths == {"airflow_heygen.triggers.jobs.HeyGenJobTrigger"}
    assert {trigger_kwargs(kwargs)["kind"] for kwargs in pipeline.triggers} == {"workflow"}
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
        "create_timeout": "Create timeout (s)",
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


# -- the v3 example, run alongside ------------------------------------------------------------------------

# The v3 example's mapped task instances per customer (two sample customers) and what each makes at HeyGen.
V3_CUSTOMERS = ("ada", "grace")
V3_LANGUAGES = ("es", "fr")
V3_HEYGEN_TASKS = ("upload_photo", "avatar_video", "faceswap", "translate")


def test_the_v3_example_succeeds_first_try_with_one_job_per_task_instance(
    pipeline: PipelineRun, v3: V3Run
) -> None:
    services = pipeline.services
    print(f"the v3 run went on {v3.waited_seconds} s after the workflows pipeline's")
    assert v3.observation.run["state"] == "success", (v3.observation.task_states, services.log_tails())
    tis = services.task_instances(V3_DAG_ID, v3.run_id)
    mapped = {
        task: sorted(ti["map_index"] for ti in tis if ti["task_id"] == task) for task in V3_HEYGEN_TASKS
    }
    assert mapped == {task: [0, 1] for task in V3_HEYGEN_TASKS}
    assert sum(ti["task_id"] == "publish" for ti in tis) == len(V3_CUSTOMERS) * len(V3_LANGUAGES)
    assert {(ti["task_id"], ti["state"], ti["try_number"]) for ti in tis} == {
        (ti["task_id"], "success", 1) for ti in tis
    }, "every task instance succeeded on its first try"
    seen = {state for states in v3.observation.task_states.values() for state in states}
    assert not seen & {"failed", "up_for_retry", "up_for_reschedule"}, v3.observation.task_states

    # The emulator's counters: one job per task instance (a translation's one create makes a job per
    # language), and not one create answered from its Idempotency-Key: nothing was sent twice.
    stats = v3.emulator.stats()
    customers, languages = len(V3_CUSTOMERS), len(V3_LANGUAGES)
    assert stats["jobs_created"] == {
        "asset": customers,
        "video": customers,
        "workflow_execution": customers,
        "video_translation": customers * languages,
        "lipsync": 0,
    }
    assert stats["submissions"] == {"FaceswapNode": customers}
    assert set(stats["idempotent_replays"].values()) == {0}
    assert set(stats["request_in_progress"].values()) == {0}
    creates = {
        endpoint: codes
        for endpoint, codes in stats["requests"].items()
        if endpoint.startswith("POST /v3/") and not endpoint.startswith("POST /v3/assets")
    }
    assert creates == {
        "POST /v3/videos": {"200": customers},
        "POST /v3/video-translations": {"200": customers},
    }


def test_the_v3_jobs_waited_in_the_triggerer_with_the_five_kwargs(pipeline: PipelineRun, v3: V3Run) -> None:
    services = pipeline.services
    for task in ("avatar_video", "faceswap", "translate"):
        for map_index in (0, 1):
            # The audit log, not the sampled states: a short wait can begin and end between two samples.
            events = services.task_events(V3_DAG_ID, v3.run_id, task, map_index)
            assert "deferred" in events, (task, map_index, events)
    by_class: dict[str, list[dict[str, object]]] = {}  # one class: HeyGenJobTrigger
    for kwargs, trigger in v3.triggers.items():
        by_class.setdefault(trigger["classpath"], []).append(trigger_kwargs(kwargs))
    (rows,) = by_class.values()
    jobs = [row for row in rows if row["kind"] != "workflow"]
    assert {row["workflow_type"] for row in rows if row["kind"] == "workflow"} == {"FaceswapNode"}
    # Without delete_on_kill a v3 trigger's kwargs are exactly these five.
    for row in jobs:
        assert set(row) == {"kind", "job_id", "heygen_conn_id", "poll_interval", "deadline"}, row
    kinds = sorted(str(row["kind"]) for row in jobs)
    assert kinds.count("video") == len(V3_CUSTOMERS)
    assert kinds.count("video_translation") >= len(V3_CUSTOMERS), "each translation waited for a language"
    assert [kwargs for kwargs in v3.triggers if API_KEY in kwargs] == []
    assert services.find_in_database(API_KEY) == []


def test_the_v3_videos_are_published_for_every_customer_and_language_and_decode(
    pipeline: PipelineRun, v3: V3Run
) -> None:
    run_folder = pipeline.publish_root / "v3_personalized"
    published = sorted(path.relative_to(run_folder).parts[-1] for path in run_folder.rglob("*.mp4"))
    assert published == sorted(f"{name}.{lang}.mp4" for name in V3_CUSTOMERS for lang in V3_LANGUAGES)
    for video in run_folder.rglob("*.mp4"):
        with av.open(str(video)) as container:
            assert container.streams.audio, f"{video.name} has an audio track"
            stream = container.streams.video[0]
            assert stream.width > 0 and stream.height > 0
            frames = sum(1 for _ in container.decode(stream))
        with av.open(str(video)) as container:
            samples = sum(frame.samples for frame in container.decode(audio=0))
        assert frames >= 25, (video.name, frames)
        assert samples > 0, video.name
