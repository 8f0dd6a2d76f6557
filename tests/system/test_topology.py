"""
The provider on the production topology (``tests/system/topology.py``): PostgreSQL, CeleryExecutor with a
Redis broker, two schedulers, two triggerers, two Celery workers, one DAG processor, one API server, S3
(moto), all started by the module and shared by its tests, which run in order. Every count comes from the
emulator (``/_admin/stats``, its request log) and the metadata database.

The counts of the failover tests are written as JSON to ``$HEYGEN_TOPOLOGY_REPORT`` when it is set (for
RELIABILITY.md).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import random
import re
import signal
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import pytest

from airflow_heygen.lineage.datasets import DatasetRef, url_dataset
from tests.dags.heygen_topology_dags import (
    BATCH_SIZE,
    BUCKET,
    CAMPAIGN_HOLD_AFTER,
    CAMPAIGN_IN_FLIGHT,
    CHAIN_LENGTH,
    DEFERRED_SIZE,
    HEYGEN_POOL,
)
from tests.support.v3_emulator import grown
from tests.system.backends import BackendMissing
from tests.system.campaign_runs import (
    Campaign,
    accepted_creates,
    campaign_emulator,
    manifest,
    upload_campaign,
)
from tests.system.topology import API_KEY, Topology, run_topology
from tests.unit.lineage.schemas import checked_facet_names, validate_event

pytestmark = [pytest.mark.services, pytest.mark.topology, pytest.mark.timeout(1500)]

PIPELINE = "heygen_avatar_faceswap_publish"
MANIFEST = "heygen_video_manifest"
V3_CHAIN = "heygen_v3_personalized"
PIPELINE_RUNS = 4
HEYGEN_TASK_STATES = ("running", "deferred", "queued", "scheduled", "up_for_reschedule")
LARGE_VIDEO_BYTES = 200 * 1024 * 1024
RSS_LIMIT = 64 * 1024 * 1024
CAMPAIGN_DAG = "heygen_topology_campaign"
CAMPAIGN_KILLED_DAG = "heygen_topology_campaign_killed"
CAMPAIGN_ITEMS = 60
# Long enough that a job never ends within the 5 s Airflow 3.3.2 may take to reap the worker that
# deferred (apache/airflow#66374, topology.py), short enough for six rounds of ten in about a minute.
CAMPAIGN_RENDER_SECONDS = 6
CAMPAIGN_TRIGGER = "airflow_heygen.triggers.campaign.HeyGenCampaignTrigger"
# What the tests share: the example pipeline's runs, the failover counts.
SHARED: dict[str, Any] = {"counts": {}}


@pytest.fixture(scope="module")
def topo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """The topology, started once for the module; every process is stopped at the end, on failure too."""
    try:
        context = run_topology(tmp_path_factory.mktemp("topology"), lineage=True)
        topology = context.__enter__()
    except BackendMissing as missing:
        # CI installs them (.ci/run): there a missing one is a failure, not a reason to skip.
        if os.environ.get("CI"):
            pytest.fail(str(missing))
        pytest.skip(str(missing))
    try:
        for dag_id in (
            PIPELINE,
            MANIFEST,
            V3_CHAIN,
            "heygen_topology_batch",
            "heygen_topology_publish_large",
            CAMPAIGN_DAG,
            CAMPAIGN_KILLED_DAG,
        ):
            topology.services.wait_for_dag(dag_id, timeout=180)
        yield topology
    finally:
        report = os.environ.get("HEYGEN_TOPOLOGY_REPORT")
        if report:
            Path(report).write_text(json.dumps(SHARED["counts"], indent=2, sort_keys=True) + "\n")
        context.__exit__(None, None, None)


def first_tries(topo: Topology, dag_id: str, run_id: str) -> dict[str, list[tuple[int, str]]]:
    """Every task instance of a run (``task[i]`` when mapped) to its tries' (number, state)."""
    tries = {}
    for ti in topo.services.task_instances(dag_id, run_id):
        key = ti["task_id"] if ti["map_index"] < 0 else f"{ti['task_id']}[{ti['map_index']}]"
        tries[key] = [(ti["try_number"], ti["state"])]
    return tries


def all_task_instances(topo: Topology, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """Every task instance of a run, mapped ones included (the REST API pages by 100)."""
    path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
    found: list[dict[str, Any]] = []
    while True:
        page = topo.services.api("GET", path, params={"limit": 100, "offset": len(found)})
        found += page["task_instances"]
        if len(found) >= page["total_entries"] or not page["task_instances"]:
            return found


def s3_object(topo: Topology, uri: str) -> bytes:
    """The content of ``s3://<bucket>/<key>``."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bytes(topo.s3.client().get_object(Bucket=bucket, Key=key)["Body"].read())


def temporaries(topo: Topology, prefix: str = "") -> list[str]:
    """
    Keys that look like a temporary: the publisher's ``.<name>.<random>.part``, the manifest DAG's
    ``.<name>.partial``, or any other hidden name.

    :param prefix: only keys under it.
    """
    keys = topo.s3.objects(prefix)
    return [key for key in keys if key.rsplit("/", 1)[-1].startswith(".") or ".part" in key]


def wait_until(what: str, check: Any, timeout: float, interval: float = 0.5) -> Any:
    """Poll ``check`` until truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def submissions_since(topo: Topology, before: dict[str, int]) -> dict[str, int]:
    """Accepted submissions since ``before`` (a :meth:`Topology.submissions`), by workflow type."""
    return grown(before, topo.submissions())


def ensure_heygen_pool(topo: Topology, slots: int = 10) -> None:
    """The ``heygen`` pool with ``slots`` slots, deferred tasks counted; created or updated."""
    pool = {"name": HEYGEN_POOL, "slots": slots, "include_deferred": True, "description": "HeyGen jobs"}
    try:
        topo.services.api("POST", "/api/v2/pools", json_body=pool)
    except Exception:  # it exists: set its slots
        topo.services.api("PATCH", f"/api/v2/pools/{HEYGEN_POOL}", json_body=pool)


# -- 1. the example pipeline -------------------------------------------------------------------------------


def test_the_example_pipeline_runs_on_both_workers_first_try_one_submission_each(topo: Topology) -> None:
    services = topo.services
    before = topo.submissions()
    # Four runs at once: eight task instances queued together, more than one worker takes (3 each).
    run_ids = [topo.trigger(PIPELINE) for _ in range(PIPELINE_RUNS)]
    observations = {run_id: topo.wait(PIPELINE, run_id, timeout=420) for run_id in run_ids}
    SHARED["pipeline_runs"] = run_ids

    hostnames = set()
    for run_id, observation in observations.items():
        assert observation.run["state"] == "success", services.log_tails()
        tis = {ti["task_id"]: ti for ti in services.task_instances(PIPELINE, run_id)}
        assert set(tis) == {"avatar_video", "faceswap", "publish"}
        for task_id, ti in tis.items():
            assert (ti["state"], ti["try_number"]) == ("success", 1), (run_id, task_id)
            tries = services.tries(PIPELINE, run_id, task_id)
            assert [(t["try_number"], t["state"]) for t in tries] == [(1, "success")], (run_id, task_id)
            hostnames.add(ti["hostname"])
        for task_id in ("avatar_video", "faceswap"):
            events = services.task_events(PIPELINE, run_id, task_id)
            assert events == ["running", "deferred", "running", "success"], (run_id, task_id, events)
    assert hostnames == {"celery-worker-1", "celery-worker-2"}, "tasks ran on both Celery workers"
    assert submissions_since(topo, before) == {
        "AvatarInferenceNode": PIPELINE_RUNS,
        "FaceswapNode": PIPELINE_RUNS,
    }, "one paid submission per HeyGen task"

    # Each HeyGen task's trigger (seen while deferred) was run by a job of one of the two triggerers.
    triggerer_jobs = {job for name in services.of_kind("triggerer") for job in services.job_ids(name)}
    assert len(topo.trigger_assignments) >= 2 * PIPELINE_RUNS - 1, topo.trigger_assignments
    assert all(jobs <= triggerer_jobs for jobs in topo.trigger_assignments.values())
    SHARED["counts"]["pipeline"] = {
        "runs": PIPELINE_RUNS,
        "submissions": submissions_since(topo, before),
        "hostnames": sorted(hostnames),
        "triggers_per_triggerer": per_triggerer(topo),
    }
    assert services.import_errors() == []


def per_triggerer(topo: Topology) -> dict[str, int]:
    """How many of the triggers seen so far each triggerer instance ran (a trigger adopted counts twice)."""
    counts: dict[str, int] = {}
    for jobs in topo.trigger_assignments.values():
        for job in jobs:
            name = topo.triggerer_of(job)
            counts[name] = counts.get(name, 0) + 1
    return counts


# -- 4. publishing to S3 -----------------------------------------------------------------------------------


def test_published_videos_are_whole_in_s3_and_schedule_the_manifest_dag(topo: Topology) -> None:
    services = topo.services
    run_ids = SHARED["pipeline_runs"]
    published = []
    for run_id in run_ids:
        result = services.xcom(PIPELINE, run_id, "publish")
        safe_run = run_id.replace(":", "-").replace("+", "_")
        assert result["uri"] == f"s3://{BUCKET}/avatar_faceswap/{safe_run}.mp4"
        assert result["preview_uri"] == f"s3://{BUCKET}/avatar_faceswap/{safe_run}.png"
        data = s3_object(topo, result["uri"])
        assert (len(data), hashlib.sha256(data).hexdigest()) == (result["bytes"], result["sha256"])
        swapped = services.xcom(PIPELINE, run_id, "faceswap")["video_url"]
        with urllib.request.urlopen(swapped, timeout=30) as response:
            assert data == response.read(), "the object is the face-swapped video, byte for byte"
        assert s3_object(topo, result["preview_uri"]).startswith(b"\x89PNG")
        published.append(result)
    assert temporaries(topo, "avatar_faceswap/") == [], "no temporary object left"

    # The asset events carry the s3:// URIs (no connection id), and the manifest DAG ran on them.
    events = services.api("GET", "/api/v2/assets/events", params={"source_dag_id": PIPELINE, "limit": 100})
    event_uris = {event["uri"] for event in events["asset_events"]}
    assert event_uris >= {result["uri"] for result in published}
    assert all(uri.startswith(f"s3://{BUCKET}/") for uri in event_uris)

    def manifest_runs_done() -> list[dict[str, Any]] | None:
        runs = services.dag_runs(MANIFEST)
        return runs if runs and all(run["state"] in ("success", "failed") for run in runs) else None

    listed: dict[str, str] = {}
    deadline = time.monotonic() + 120
    while len(listed) < len(published):
        runs = wait_until("the manifest DAG's runs", manifest_runs_done, 120, 1.0)
        for run in runs:
            assert run["state"] == "success", services.log_tails()
            manifest_uri = services.xcom(MANIFEST, run["dag_run_id"], "write_manifest")
            assert manifest_uri.startswith(f"s3://aws_default@{BUCKET}/manifests/")
            manifest = json.loads(s3_object(topo, manifest_uri.replace("aws_default@", "")))
            listed.update({video["uri"]: video["sha256"] for video in manifest["videos"]})
        assert time.monotonic() < deadline, f"manifests list {sorted(listed)}"
        time.sleep(1)
    assert listed == {result["uri"]: result["sha256"] for result in published}
    assert temporaries(topo) == [], "neither the publisher nor the manifest DAG left a temporary"
    SHARED["counts"]["published"] = {
        "objects": len(published),
        "manifest_runs": len(services.dag_runs(MANIFEST)),
    }


def _event_run_id(event: dict[str, Any]) -> str | None:
    """The Airflow DAG run an OpenLineage task event belongs to (the provider's ``airflow`` run facet)."""
    airflow = event["run"].get("facets", {}).get("airflow") or {}
    return (airflow.get("dagRun") or {}).get("run_id")


def test_every_heygen_task_reported_valid_lineage_from_the_celery_workers(topo: Topology) -> None:
    # The real OpenLineage listener in every Celery task process, its file transport shared by all.
    events = topo.lineage_events()
    assert events, f"no OpenLineage event in {topo.lineage_file}"
    problems = {}
    for run_id in SHARED["pipeline_runs"]:
        safe_run = run_id.replace(":", "-").replace("+", "_")
        final: dict[str, dict[str, Any]] = {}
        for task_id in ("avatar_video", "faceswap", "publish"):
            ours = [
                e
                for e in events
                if e["job"]["name"] == f"{PIPELINE}.{task_id}" and _event_run_id(e) == run_id
            ]
            assert {e["eventType"] for e in ours} >= {"START", "COMPLETE"}, (run_id, task_id, ours)
            for event in ours:
                if errors := validate_event(event):
                    problems[(run_id, task_id, event["eventType"])] = errors
            final[task_id] = [e for e in ours if e["eventType"] == "COMPLETE"][-1]
        swap = final["faceswap"]
        execution_id = topo.services.xcom(PIPELINE, run_id, "faceswap")["execution_id"]
        facets = swap["run"]["facets"]
        assert facets["externalQuery"] == {**facets["externalQuery"], "externalQueryId": execution_id}
        assert "heygenJob" in checked_facet_names(swap)
        assert facets["heygenJob"]["job_ids"] == [execution_id]
        assert facets["heygenJob"]["statuses"] == ["completed"]
        # The face swap read the avatar video (its target) and the face; it made the execution's video.
        avatar_video = topo.services.xcom(PIPELINE, run_id, "avatar_video")["video_url"]
        assert url_dataset(avatar_video) in {DatasetRef(d["namespace"], d["name"]) for d in swap["inputs"]}
        assert [d["name"] for d in swap["outputs"]] == [f"workflows/executions/{execution_id}"]
        publish = final["publish"]
        assert [(d["namespace"], d["name"]) for d in publish["outputs"]] == [
            (f"s3://{BUCKET}", f"avatar_faceswap/{safe_run}.mp4"),
            (f"s3://{BUCKET}", f"avatar_faceswap/{safe_run}.png"),
        ]
    assert problems == {}


def test_overwrite_false_refuses_an_existing_key(topo: Topology) -> None:
    services = topo.services
    run_id = SHARED["pipeline_runs"][0]
    existing = services.xcom(PIPELINE, run_id, "publish")
    video_url = services.xcom(PIPELINE, SHARED["pipeline_runs"][1], "faceswap")["video_url"]
    refused = topo.trigger(
        "heygen_topology_publish", {"video_url": video_url, "destination": existing["uri"]}
    )
    assert topo.wait("heygen_topology_publish", refused, timeout=180).run["state"] == "failed"
    log = services.task_log("heygen_topology_publish", refused, "publish", 1)
    assert f"{existing['uri']} already exists; set overwrite=True to replace it" in log
    data = s3_object(topo, existing["uri"])
    assert hashlib.sha256(data).hexdigest() == existing["sha256"], "the existing object is untouched"
    assert temporaries(topo) == []


def test_a_publish_killed_after_landing_is_recognised_by_its_retry(topo: Topology) -> None:
    services = topo.services
    dag_id = "heygen_topology_publish_killed"
    video_url = services.xcom(PIPELINE, SHARED["pipeline_runs"][0], "faceswap")["video_url"]
    key = f"killed/{uuid.uuid4().hex}.mp4"
    run_id = topo.trigger(dag_id, {"video_url": video_url, "destination": f"s3://{BUCKET}/{key}"})
    wanted = {key, key.replace(".mp4", ".png")}
    wait_until("both objects to land", lambda: wanted <= set(topo.s3.objects("killed/")), 180)
    (ti,) = services.task_instances(dag_id, run_id)
    pid = wait_until("the publish task's process", lambda: services.task_pid(ti["id"]), 60, 0.2)
    os.kill(pid, signal.SIGKILL)

    observation = topo.wait(dag_id, run_id, timeout=240)
    assert observation.run["state"] == "success", services.log_tails()
    first, second = services.tries(dag_id, run_id, "publish")
    assert (first["state"], second["state"]) == ("failed", "success")
    retry_log = services.task_log(dag_id, run_id, "publish", 2)
    assert "already published" in retry_log and "not copying it again" in retry_log
    result = services.xcom(dag_id, run_id, "publish")
    data = s3_object(topo, f"s3://{BUCKET}/{key}")
    assert (result["uri"], result["bytes"]) == (f"s3://{BUCKET}/{key}", len(data))
    assert result["sha256"] == hashlib.sha256(data).hexdigest()
    assert set(topo.s3.objects("killed/")) == wanted, "one video, one preview"
    assert temporaries(topo) == []
    puts = [line for line in topo.s3.requests() if '"PUT /' in line and key.rsplit("/", 1)[-1] in line]
    SHARED["counts"]["publish_killed"] = {"tries": 2, "puts_of_the_key": len(puts)}


def test_the_v3_chain_uploads_a_private_s3_photo_and_publishes_every_language_to_s3(topo: Topology) -> None:
    # The v3 example DAG: a customer photo in a private bucket -> asset -> v3 avatar video -> face swap
    # (workflows API) -> translations -> publish to s3://, on the CeleryExecutor and both triggerers.
    services = topo.services
    ensure_heygen_pool(topo)
    photo = (Path(topo.emulator.data_dir) / "samples" / "face.jpg").read_bytes()
    topo.s3.client().put_object(Bucket=BUCKET, Key="private/faces/ada.jpg", Body=photo)
    customers = [
        {"name": "ada", "photo": f"s3://aws_default@{BUCKET}/private/faces/ada.jpg", "script": "Hello Ada."},
        {
            "name": "grace",
            "photo": topo.emulator.sample_url("face2.jpg"),
            "audio_url": topo.emulator.sample_url("speech.wav"),
        },
    ]
    jobs_before = topo.jobs_created()
    run_id = topo.trigger(V3_CHAIN, {"customers": customers, "languages": ["es", "fr"]})
    observation = topo.wait(V3_CHAIN, run_id, timeout=600)

    assert observation.run["state"] == "success", services.log_tails()
    tis = all_task_instances(topo, V3_CHAIN, run_id)
    assert {(ti["state"], ti["try_number"]) for ti in tis} == {("success", 1)}, "every task on its first try"
    jobs = grown(jobs_before, topo.jobs_created())
    assert jobs == {"asset": 2, "video": 2, "workflow_execution": 2, "video_translation": 4}, "one job each"

    # The private photo reached HeyGen only as an asset upload, byte for byte.
    asset = services.xcom(V3_CHAIN, run_id, "upload_photo", map_index=0)
    with urllib.request.urlopen(asset["url"], timeout=30) as response:
        assert response.read() == photo
    published = [services.xcom(V3_CHAIN, run_id, "publish", map_index=n) for n in range(4)]
    safe_run = re.sub(r"[^A-Za-z0-9_.-]+", "-", run_id)
    assert sorted(result["uri"] for result in published) == [
        f"s3://{BUCKET}/v3_personalized/{safe_run}/{name}.{language}.mp4"
        for name in ("ada", "grace")
        for language in ("es", "fr")
    ]
    for result in published:
        data = s3_object(topo, result["uri"])
        assert (len(data), hashlib.sha256(data).hexdigest()) == (result["bytes"], result["sha256"])
    with av.open(io.BytesIO(s3_object(topo, published[0]["uri"]))) as container:
        assert sum(1 for _ in container.decode(video=0)) > 0, "the published video decodes"
    assert temporaries(topo, "v3_personalized/") == []
    SHARED["counts"]["v3_chain"] = {"tasks": len(tis), "jobs": jobs, "published": len(published)}


class LargeVideo:
    """A loopback HTTP server serving :data:`LARGE_VIDEO_BYTES` of deterministic bytes, 1 MiB at a time."""

    def __init__(self) -> None:
        self.block = random.Random(7).randbytes(1024 * 1024)
        digest = hashlib.sha256()
        for index in range(LARGE_VIDEO_BYTES // len(self.block)):
            digest.update(self.chunk(index))
        self.sha256 = digest.hexdigest()
        video = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(LARGE_VIDEO_BYTES))
                self.end_headers()
                with contextlib.suppress(OSError):
                    for index in range(LARGE_VIDEO_BYTES // len(video.block)):
                        self.wfile.write(video.chunk(index))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def chunk(self, index: int) -> bytes:
        """The ``index``-th MiB."""
        return index.to_bytes(8, "big") + self.block[8:]

    @property
    def url(self) -> str:
        """The video's URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/large.mp4"

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def test_a_large_video_goes_up_in_multipart_parts_with_bounded_memory(topo: Topology) -> None:
    services = topo.services
    dag_id = "heygen_topology_publish_large"
    video = LargeVideo()
    key = f"large/{uuid.uuid4().hex}.mp4"
    try:
        run_id = topo.trigger(dag_id, {"video_url": video.url, "destination": f"s3://{BUCKET}/{key}"})
        observation = topo.wait(dag_id, run_id, timeout=400)
    finally:
        video.close()
    assert observation.run["state"] == "success", services.log_tails()
    result = services.xcom(dag_id, run_id, "publish")
    assert (result["bytes"], result["sha256"]) == (LARGE_VIDEO_BYTES, video.sha256)
    head = topo.s3.client().head_object(Bucket=BUCKET, Key=key)
    assert head["ContentLength"] == LARGE_VIDEO_BYTES
    # The temporary object went up in multipart parts (then was moved to the key).
    parts = [
        line for line in topo.s3.requests() if '"PUT /' in line and "partNumber=" in line and ".part" in line
    ]
    parts_of_this = [line for line in parts if key.rsplit("/", 1)[-1].removesuffix(".mp4") in line]
    assert len(parts_of_this) >= 2, parts[-10:]
    growth = result["rss_peak"] - result["rss_before"]
    SHARED["counts"]["large"] = {
        "bytes": LARGE_VIDEO_BYTES,
        "parts": len(parts_of_this),
        "rss_growth": growth,
    }
    assert growth < RSS_LIMIT, f"the task process's RSS grew by {growth / 2**20:.1f} MiB"
    assert temporaries(topo) == []


# -- 3. failover -------------------------------------------------------------------------------------------


def test_a_killed_triggerer_s_triggers_are_adopted_and_every_task_succeeds_first_try(topo: Topology) -> None:
    services, dag_id = topo.services, "heygen_topology_deferred"
    before = topo.submissions()
    killed: dict[str, Any] = {}

    def kill_once_all_are_deferred(observation: Any) -> None:
        if killed:
            if "adopted_at" not in killed:
                rows = {row["id"]: row["triggerer_id"] for row in services.triggers()}
                if all(
                    rows.get(t) in killed["survivor_jobs"] for t in killed["victim_triggers"] if t in rows
                ):
                    killed["adopted_at"] = time.monotonic()
                    killed["released"] = topo.emulator.release()
            return
        if observation.count("deferred") < DEFERRED_SIZE:
            return
        rows = services.triggers()
        if len(rows) < DEFERRED_SIZE or any(row["triggerer_id"] is None for row in rows):
            return
        by_instance: dict[str, list[int]] = {}
        for row in rows:
            by_instance.setdefault(topo.triggerer_of(row["triggerer_id"]), []).append(row["id"])
        victim = max(by_instance, key=lambda name: len(by_instance[name]))
        survivor = next(name for name in services.of_kind("triggerer") if name != victim)
        killed.update(
            victim=victim,
            split={name: len(ids) for name, ids in by_instance.items()},
            victim_triggers=by_instance[victim],
            survivor_jobs=services.job_ids(survivor),
            submissions=submissions_since(topo, before),
        )
        services.kill(victim)
        killed["at"] = time.monotonic() - services.silent_for(victim)

    # Renders are held through deferring all twenty, the kill and the adoption, then released.
    started = time.time()
    with topo.emulator.held_renders():
        run_id = topo.trigger(dag_id)
        try:
            observation = topo.wait(dag_id, run_id, timeout=420, watch=kill_once_all_are_deferred)
            ended = time.time()
        finally:
            if "victim" in killed:  # the tests after this one find both triggerers
                services.start(killed["victim"])
    tis = all_task_instances(topo, dag_id, run_id)
    states_seen = {state for states in observation.task_states.values() for state in states}
    counts = {
        "tasks": len(tis),
        "split_before_kill": killed.get("split"),
        "adopted_after_s": round(killed["adopted_at"] - killed["at"], 1) if "adopted_at" in killed else None,
        "submissions": submissions_since(topo, before),
        "task_retries": sum(ti["try_number"] - 1 for ti in tis),
        "failures": sum(ti["state"] != "success" for ti in tis),
        "seconds": round(ended - started, 1),
    }
    SHARED["counts"]["triggerer_killed"] = counts

    assert killed, f"never saw all {DEFERRED_SIZE} deferred; states seen: {observation.task_states}"
    assert killed["submissions"] == {"FaceswapNode": DEFERRED_SIZE}
    assert killed.get("released") == DEFERRED_SIZE, "every render was held until the triggers were adopted"
    # Which triggerer picks up new triggers is a race between their loops: the twenty may all be on one
    # (seen in CI), and then the survivor adopts all of them. The spread itself is the pipeline test's.
    assert killed["split"][killed["victim"]] >= 1, f"the killed triggerer ran none: {killed['split']}"
    assert "adopted_at" in killed, "the surviving triggerer adopted the killed one's triggers"
    assert killed["adopted_at"] - killed["at"] >= 5, "not before the health-check threshold"
    assert observation.run["state"] == "success", services.log_tails()
    assert {(ti["state"], ti["try_number"]) for ti in tis} == {("success", 1)}
    assert not states_seen & {"failed", "up_for_retry"}, observation.task_states
    assert counts["submissions"] == {"FaceswapNode": DEFERRED_SIZE}, "no resubmission"


def worker_running(topo: Topology, ti_id: str) -> str | None:
    """The Celery worker instance whose process tree runs the task instance now, or None."""
    pid = topo.services.task_pid(ti_id)
    if pid is None:
        return None
    return next(
        (name for name in topo.services.of_kind("celery-worker") if pid in topo.services.processes(name)),
        None,
    )


def test_a_killed_celery_worker_s_sync_task_reattaches_on_the_other_worker(topo: Topology) -> None:
    services, dag_id = topo.services, "heygen_topology_sync"
    # The render is held through the kill, the heartbeat timeout and the retry's reattaching, then released.
    with topo.emulator.held_renders():
        before = topo.submissions()
        started = time.time()
        run_id = topo.trigger(dag_id)
        wait_until(
            "the sync task's submission",
            lambda: submissions_since(topo, before).get("FaceswapNode"),
            180,
            0.5,
        )
        (ti,) = services.task_instances(dag_id, run_id)
        victim = wait_until("the worker running the task", lambda: worker_running(topo, ti["id"]), 60, 0.2)
        time.sleep(2)  # it polls now
        services.kill(victim)
        killed_at = time.time()
        released: list[int] = []

        def release_once_the_retry_reattached(observation: Any) -> None:
            if released or observation.task_instances[0]["try_number"] < 2:
                return
            with contextlib.suppress(Exception):  # the second try's log may not be served yet
                retry_log = services.task_log(dag_id, run_id, "swap_sync", 2)
                if "Reattaching to HeyGen workflow execution" in retry_log:
                    released.append(topo.emulator.release())

        try:
            observation = topo.wait(dag_id, run_id, timeout=400, watch=release_once_the_retry_reattached)
        finally:
            services.start(victim)
    first, second = services.tries(dag_id, run_id, "swap_sync")
    counts = {
        "killed_worker": victim,
        "try_hostnames": [first["hostname"], second["hostname"]],
        "submissions": submissions_since(topo, before),
        "task_retries": 1 if second else 0,
        "recovered_after_s": round(time.time() - killed_at, 1),
        "seconds": round(time.time() - started, 1),
    }
    SHARED["counts"]["worker_killed"] = counts
    assert observation.run["state"] == "success", services.log_tails()
    assert released == [1], "the render was still held when the retry reattached"
    assert first["state"] != "success" and second["state"] == "success"
    assert first["hostname"] == victim and second["hostname"] not in (victim, None)
    retry_log = services.task_log(dag_id, run_id, "swap_sync", 2)
    execution_id = services.xcom(dag_id, run_id, "swap_sync", "execution_id")
    assert f"Reattaching to HeyGen workflow execution {execution_id}" in retry_log
    assert "Created HeyGen" not in retry_log
    assert counts["submissions"] == {"FaceswapNode": 1}, "one paid submission"


def test_a_killed_scheduler_leaves_the_other_scheduling_and_the_run_succeeds(topo: Topology) -> None:
    services, dag_id = topo.services, "heygen_topology_chain"
    before = topo.submissions()
    started = time.time()
    run_id = topo.trigger(dag_id)
    killed: dict[str, Any] = {}

    def queued_by() -> dict[str, int | None]:
        rows = services.query(
            "SELECT task_id, queued_by_job_id FROM task_instance WHERE dag_id = ? AND run_id = ?",
            (dag_id, run_id),
        )
        return {task_id: job for task_id, job in rows}

    def kill_when_the_first_waits(observation: Any) -> None:
        if killed or not observation.saw("swap_1", "deferred"):
            return
        job = queued_by()["swap_1"]
        victim = next(name for name in services.of_kind("scheduler") if job in services.job_ids(name))
        killed.update(victim=victim, survivor_jobs=set())
        services.kill(victim)
        killed["survivor_jobs"] = {
            job for name in services.of_kind("scheduler") if name != victim for job in services.job_ids(name)
        }

    try:
        observation = topo.wait(dag_id, run_id, timeout=300, watch=kill_when_the_first_waits)
    finally:
        if killed:
            services.start(killed["victim"])
    tis = services.task_instances(dag_id, run_id)
    later = {task: job for task, job in queued_by().items() if task != "swap_1"}
    SHARED["counts"]["scheduler_killed"] = {
        "killed": killed.get("victim"),
        "tasks": len(tis),
        "submissions": submissions_since(topo, before),
        "task_retries": sum(ti["try_number"] - 1 for ti in tis),
        "seconds": round(time.time() - started, 1),
    }
    assert killed, observation.task_states
    assert observation.run["state"] == "success", services.log_tails()
    assert {(ti["state"], ti["try_number"]) for ti in tis} == {("success", 1)}
    assert all(job in killed["survivor_jobs"] for job in later.values()), (later, killed)
    assert submissions_since(topo, before) == {"FaceswapNode": CHAIN_LENGTH}


# -- 2. the pool bounds a batch of 100 ---------------------------------------------------------------------


def test_the_heygen_pool_bounds_a_batch_of_100_jobs_in_flight(topo: Topology) -> None:
    services, dag_id = topo.services, "heygen_topology_batch"
    ensure_heygen_pool(topo)
    before = topo.submissions()
    baseline = topo.in_flight()
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.25):
            with contextlib.suppress(Exception):
                samples.append(topo.in_flight() - baseline)

    sampler = threading.Thread(target=sample, daemon=True)
    started, cpu_before = time.time(), services.cpu_seconds()
    sampler.start()
    try:
        run_id = topo.trigger(dag_id)
        observation = topo.wait(dag_id, run_id, timeout=1200)
    finally:
        stop.set()
        sampler.join()
    tis = all_task_instances(topo, dag_id, run_id)
    published = topo.s3.objects("batch/")
    SHARED["counts"]["batch"] = {
        "jobs": BATCH_SIZE,
        "max_in_flight": max(samples, default=0),
        "samples": len(samples),
        "submissions": submissions_since(topo, before),
        "published": len(published),
        "seconds": round(time.time() - started, 1),
        # Where the batch's time goes on two cores: each component's CPU seconds during it.
        "cpu_seconds": {
            name: round(used - cpu_before.get(name, 0.0), 1) for name, used in services.cpu_seconds().items()
        },
    }
    assert observation.run["state"] == "success", services.log_tails()
    assert len(tis) == 2 * BATCH_SIZE and {ti["state"] for ti in tis} == {"success"}
    assert 0 < max(samples) <= 10, f"never more than the pool's 10 jobs in flight (max {max(samples)})"
    assert len(published) == BATCH_SIZE
    assert submissions_since(topo, before) == {"FaceswapNode": BATCH_SIZE}


# -- 6. a campaign: one task, many face swaps, through a worker's and a triggerer's death ----------------


def check_campaign(topo: Topology, dag_id: str, run_id: str, campaign: Campaign) -> dict[str, Any]:
    """
    What every campaign run must have left, whatever was killed meanwhile: every item completed once in
    the manifest, one job per item by the emulator's counters and its request log, never more than
    ``max_in_flight`` at HeyGen by the emulator's count, every video once in S3 and nothing else there.
    Returns the figures for the report.
    """
    stats = topo.emulator.stats()
    summary = topo.services.xcom(dag_id, run_id, "personalize")
    rows = manifest(topo.s3, campaign)
    videos = topo.s3.objects(campaign.videos)
    count = len(campaign.item_ids)
    assert (summary["total"], summary["completed"], summary["in_doubt"], summary["failed"]) == (
        count,
        count,
        0,
        0,
    )
    assert [row["item_id"] for row in rows] == list(campaign.item_ids), "one manifest row per item, in order"
    assert {row["status"] for row in rows} == {"completed"}, [
        row for row in rows if row["status"] != "completed"
    ]
    assert len({row["job_id"] for row in rows}) == count, "every item ended with a job of its own"
    assert {row["published_to"] for row in rows} == {
        f"s3://{BUCKET}/{campaign.videos}{item_id}.mp4" for item_id in campaign.item_ids
    }
    # The emulator's own counts: one job per item, and never more in flight than the plan's 10.
    assert stats["jobs_created"]["workflow_execution"] == count
    assert stats["submissions"] == {"FaceswapNode": count}
    assert accepted_creates(topo.emulator, campaign) == dict.fromkeys(campaign.item_ids, 1)
    assert stats["max_in_flight"] <= CAMPAIGN_IN_FLIGHT, stats["max_in_flight"]
    assert stats["faults"]["concurrency_limited"] == 0, "no create was refused: the task kept count"
    # Every video once, whole, and no temporary left behind.
    assert set(videos) == {f"{campaign.videos}{item_id}.mp4" for item_id in campaign.item_ids}
    assert all(size > 0 for size in videos.values())
    assert temporaries(topo, campaign.prefix) == []
    return {
        "items": count,
        "jobs_created": stats["jobs_created"]["workflow_execution"],
        "max_in_flight": stats["max_in_flight"],
        "published": len(videos),
        "status_reads": sum(
            stats["requests"].get("GET /v1/workflows/executions/{execution_id}", {}).values()
        ),
    }


def while_running(topo: Topology, dag_id: str, run_id: str, what: str, check: Any, timeout: float) -> Any:
    """:func:`wait_until` ``check``, failing at once (with the task's log) if the run ends first."""

    def checked() -> Any:
        if topo.services.dag_run(dag_id, run_id)["state"] in ("success", "failed"):
            log = topo.services.task_log(dag_id, run_id, "personalize")
            raise AssertionError(f"the run ended while waiting for {what}:\n{log[-3000:]}")
        return check()

    return wait_until(what, checked, timeout, 1.0)


def campaign_events(topo: Topology, dag_id: str, run_id: str) -> list[str]:
    """The campaign task's audit-log events, oldest first."""
    return topo.services.task_events(dag_id, run_id, "personalize")


def test_a_campaign_whose_worker_is_killed_mid_resume_is_resumed_by_its_retry(topo: Topology) -> None:
    # The kill lands inside a resume, after a video landed in S3 and before the ledger noted it: the worst
    # moment for publishing, and one where no create is on its way, so no item may end in doubt. (A kill
    # between a create's answer and its marker's update leaves that one item in doubt, by design; a kill
    # while the task is deferred kills nothing of it.)
    services, dag_id = topo.services, CAMPAIGN_KILLED_DAG
    with campaign_emulator(topo.emulator, CAMPAIGN_RENDER_SECONDS):
        campaign = upload_campaign(topo.s3, "campaign-worker-kill", CAMPAIGN_ITEMS)
        started = time.time()
        run_id = topo.trigger(dag_id, campaign.conf())

        def holding() -> bool:
            with contextlib.suppress(Exception):  # the log may not be served yet
                return "holding so that the test can kill me" in services.task_log(
                    dag_id, run_id, "personalize"
                )
            return False

        while_running(topo, dag_id, run_id, "the first try holding inside a resume", holding, 400)
        (ti,) = services.task_instances(dag_id, run_id)
        victim = wait_until("the worker running the task", lambda: worker_running(topo, ti["id"]), 60, 0.2)
        published_at_kill = len(topo.s3.objects(campaign.videos))
        services.kill(victim)
        killed_at = time.time()
        try:
            observation = topo.wait(dag_id, run_id, timeout=600)
        finally:
            services.start(victim)
        first, second = services.tries(dag_id, run_id, "personalize")
        assert observation.run["state"] == "success", services.log_tails()
        counts = check_campaign(topo, dag_id, run_id, campaign)
    counts.update(
        killed_worker=victim,
        published_at_kill=published_at_kill,
        try_hostnames=[first["hostname"], second["hostname"]],
        recovered_after_s=round(time.time() - killed_at, 1),
        seconds=round(time.time() - started, 1),
    )
    SHARED["counts"]["campaign_worker_killed"] = counts
    assert published_at_kill > CAMPAIGN_HOLD_AFTER, "killed in the middle: some published, not all"
    assert published_at_kill < CAMPAIGN_ITEMS
    assert first["hostname"] == victim and first["state"] != "success"
    assert (second["try_number"], second["state"]) == (2, "success")
    retry_log = services.task_log(dag_id, run_id, "personalize", 2)
    assert "Resuming the HeyGen campaign of 60 items from an earlier try" in retry_log


def test_a_campaign_s_trigger_is_adopted_when_its_triggerer_is_killed(topo: Topology) -> None:
    services, dag_id = topo.services, CAMPAIGN_DAG
    killed: dict[str, Any] = {}

    def campaign_trigger() -> dict[str, Any] | None:
        rows = [row for row in services.triggers() if row["classpath"] == CAMPAIGN_TRIGGER]
        return rows[0] if len(rows) == 1 and rows[0]["triggerer_id"] is not None else None

    with campaign_emulator(topo.emulator, CAMPAIGN_RENDER_SECONDS):
        campaign = upload_campaign(topo.s3, "campaign-triggerer-kill", CAMPAIGN_ITEMS)
        started = time.time()
        run_id = topo.trigger(dag_id, campaign.conf())
        while_running(
            topo,
            dag_id,
            run_id,
            "a third of the videos published",
            lambda: len(topo.s3.objects(campaign.videos)) >= CAMPAIGN_ITEMS // 3,
            400,
        )
        # From now on renders are held: the campaign goes on until all ten in flight are held ones, and its
        # trigger then waits on them, through the kill and the adoption, until they are released.
        with topo.emulator.held_renders():
            stable: dict[str, Any] = {}

            def waits_on_held_renders() -> dict[str, Any] | None:
                row = campaign_trigger()
                if row is None or row["id"] != stable.get("id"):
                    stable.update(id=row and row["id"], since=time.monotonic())
                    return None
                # A trigger watching any unheld render fires within a render, its hold and a poll.
                return row if time.monotonic() - stable["since"] > CAMPAIGN_RENDER_SECONDS + 6 else None

            row = wait_until("the campaign waiting on held renders only", waits_on_held_renders, 300, 0.5)
            victim = topo.triggerer_of(row["triggerer_id"])
            survivor = next(name for name in services.of_kind("triggerer") if name != victim)
            survivor_jobs = services.job_ids(survivor)
            killed.update(victim=victim, published=len(topo.s3.objects(campaign.videos)))
            services.kill(victim)
            # From its last heartbeat: a loaded machine may have delayed that by seconds before the kill.
            killed_at = time.monotonic() - services.silent_for(victim)
            try:
                adopted = wait_until(
                    "the survivor adopting the campaign's trigger",
                    lambda: (
                        (current := campaign_trigger()) is not None
                        and current["id"] == row["id"]
                        and current["triggerer_id"] in survivor_jobs
                    ),
                    120,
                    0.5,
                )
                killed["adopted_after_s"] = round(time.monotonic() - killed_at, 1)
            except BaseException:
                services.start(victim)
                raise
        # Leaving the block released the held renders: the adopted trigger wakes the task.
        try:
            observation = topo.wait(dag_id, run_id, timeout=600)
        finally:
            services.start(victim)
        tries = services.tries(dag_id, run_id, "personalize")
        assert observation.run["state"] == "success", services.log_tails()
        counts = check_campaign(topo, dag_id, run_id, campaign)
    events = campaign_events(topo, dag_id, run_id)
    counts.update(
        killed,
        resumes=events.count("deferred"),
        seconds=round(time.time() - started, 1),
    )
    SHARED["counts"]["campaign_triggerer_killed"] = counts
    assert adopted and killed["adopted_after_s"] >= 5, "adopted, and not before the health-check threshold"
    assert CAMPAIGN_ITEMS // 3 <= killed["published"] < CAMPAIGN_ITEMS, "killed in the middle"
    assert [(t["try_number"], t["state"]) for t in tries] == [(1, "success")], "no retry: nothing failed"
    assert "failed" not in events and "up_for_retry" not in events, events


# -- 5. no key anywhere ------------------------------------------------------------------------------------

BASE64_BODY = re.compile(r'"body": ?"([A-Za-z0-9+/=]+)"')


def decoded(value: str) -> str:
    """A Redis value with the base64 bodies of the Celery messages in it decoded and appended."""
    bodies = [base64.b64decode(body).decode(errors="replace") for body in BASE64_BODY.findall(value)]
    return "\n".join([value, *bodies])


def test_the_api_key_is_nowhere_in_postgres_redis_logs_or_trigger_kwargs(topo: Topology) -> None:
    services = topo.services
    execution_id = services.xcom(PIPELINE, SHARED["pipeline_runs"][0], "faceswap", "execution_id")
    assert topo.runs, "the other tests ran first"

    # PostgreSQL: every column of every table, and pg_dump's output.
    columns = services.database_columns()
    assert len({table for table, _, _ in columns}) > 50
    assert "xcom.value" in services.find_in_database(execution_id)
    published_uri = services.xcom(PIPELINE, SHARED["pipeline_runs"][0], "publish")["uri"]
    assert "task_state_store.value" in services.find_in_database(published_uri), "the publish record"
    assert services.find_in_database(API_KEY) == []
    dump = topo.postgres.dump()
    assert execution_id.encode() in dump
    assert API_KEY.encode() not in dump

    # Redis, broker and result backend: every key and value, now and as sampled while tasks ran.
    for key, value in topo.redis.snapshot().items():
        topo.redis_seen.setdefault(key, set()).add(value)
    seen = [f"{key}\n{decoded(value)}" for key, values in topo.redis_seen.items() for value in values]
    assert any(key.startswith("1/celery-task-meta-") for key in topo.redis_seen), "the result backend"
    assert any(run_id in text for _, run_id in topo.runs for text in seen), "the broker's task messages"
    assert [text[:200] for text in seen if API_KEY in text] == []

    # Every log: the components', the backends', the emulator's, and every task log file.
    files = [*services.home.rglob("*"), *topo.emulator.data_dir.glob("*.log")]
    assert any(execution_id.encode() in p.read_bytes() for p in files if p.is_file() and "trigger" in p.name)
    assert [str(p) for p in files if p.is_file() and API_KEY.encode() in p.read_bytes()] == []

    # Every try of every task instance of every run, as the REST API serves its log.
    logs = 0
    for dag_id, run_id in topo.runs:
        for ti in all_task_instances(topo, dag_id, run_id):
            for try_number in range(1, ti["try_number"] + 1):
                assert API_KEY not in topo.mapped_log(dag_id, run_id, ti, try_number), (dag_id, ti["task_id"])
                logs += 1

    # The trigger kwargs (Fernet-decrypted) seen while tasks were deferred.
    assert any(execution_id in kwargs for kwargs in topo.triggers)
    assert [kwargs for kwargs in topo.triggers if API_KEY in kwargs] == []
    SHARED["counts"]["secrets"] = {
        "tables": len({table for table, _, _ in columns}),
        "columns": len(columns),
        "pg_dump_bytes": len(dump),
        "redis_keys": len(topo.redis_seen),
        "redis_values": len(seen),
        "files": sum(1 for p in files if p.is_file()),
        "task_logs_via_rest": logs,
        "trigger_kwargs": len(topo.triggers),
        "found": 0,
    }
