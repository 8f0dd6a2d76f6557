"""
Campaigns run end to end with ``dag.test()`` against the emulator: every item paid once (the
emulator's counters judge), published, listed in the manifest; bad items refused before any job.
"""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle
from tests.support.v3_emulator import Counts, request_log
from tests.unit.dag_runs import run_test_dag

pytestmark = pytest.mark.usefixtures("airflow_db")


def write_items(
    path: Path, emulator: EmulatorHandle, count: int, **overrides: dict[int, dict[str, str]]
) -> Path:
    faces = [emulator.sample_url("face.jpg"), emulator.sample_url("face2.jpg")]
    rows = [
        {"customer_id": f"c{n:05d}", "name": f"Customer {n}", "face_url": faces[n % 2]} for n in range(count)
    ]
    for number, changes in overrides.get("rows", {}).items():
        rows[number - 1].update(changes)
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def conf(tmp_path: Path, items: Path, **more: Any) -> dict[str, Any]:
    return {
        "items": str(items),
        "publish_to": f"file://{tmp_path}/videos",
        "manifest": f"file://{tmp_path}/manifest.jsonl",
        "max_failed": 0,
        **more,
    }


def manifest(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]


def test_a_face_swap_campaign_pays_each_item_once_and_publishes_all(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    counts = Counts(emulator)
    items = write_items(tmp_path / "faces.csv", emulator, 30)

    # The folder as users write it, with its trailing slash.
    run = run_test_dag(
        "heygen_campaign_faceswap", conf(tmp_path, items, publish_to=f"file://{tmp_path}/videos/")
    )

    (ti,) = run.get_task_instances()
    assert run.state == "success", ti.state
    summary = ti.xcom_pull(task_ids="personalize")
    assert summary == {
        "total": 30,
        "completed": 30,
        "failed": 0,
        "in_doubt": 0,
        "skipped": 0,
        "manifest": f"file://{tmp_path}/manifest.jsonl",
        # Face swap has no published rate and the connection gives none: unknown, not guessed.
        "estimated_cost_usd": None,
        "cost_usd": None,
        "rate": None,
    }
    assert counts.delta("jobs_created", "workflow_execution") == 30, "one paid job per item"
    rows = manifest(tmp_path)
    assert [row["item_id"] for row in rows] == [f"c{n:05d}" for n in range(30)]
    assert {row["status"] for row in rows} == {"completed"}
    assert len({row["job_id"] for row in rows}) == 30
    published = sorted(p.name for p in (tmp_path / "videos").iterdir())
    assert published == [f"c{n:05d}.mp4" for n in range(30)], "every video published, no temporary left"
    assert all(row["published_to"] == f"file://{tmp_path}/videos/{row['item_id']}.mp4" for row in rows)


def test_working_windows_read_a_rendering_job_once_a_poll_not_in_a_loop(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    # Renders of a second, ten at a time, read every 0.2 s (the DAG's poll_interval): the task learns the
    # render time and works windows, reading each job from a poll before its expected end. A window that
    # re-read a job still rendering without sleeping read it again within milliseconds, hundreds of times.
    # Judged by the emulator's request log, per job, not by the total: how many reads a run makes depends
    # on how long its resumes take (the trigger reads every job each poll meanwhile), i.e. on the load.
    items = write_items(tmp_path / "faces.csv", emulator, 40)
    logged_before = len(request_log(emulator))
    latency = emulator.faults()["latency"]
    emulator.set_faults(latency=1.0)
    try:
        run = run_test_dag("heygen_campaign_faceswap", conf(tmp_path, items))
    finally:
        emulator.set_faults(latency=latency)

    assert run.state == "success"
    reads: dict[str, list[float]] = {}
    for entry in request_log(emulator)[logged_before:]:
        path = str(entry["path"]).split("?")[0]
        if entry["method"] == "GET" and path.startswith("/v1/workflows/executions/"):
            reads.setdefault(path.rsplit("/", 1)[-1], []).append(float(entry["time"]))
    assert len(reads) == 40, "every job was read"
    # Half a poll apart at least; a few closer pairs are a trigger's last read and the resumed task's first.
    quick = [
        (job, round(later - earlier, 3))
        for job, times in reads.items()
        for earlier, later in itertools.pairwise(times)
        if later - earlier < 0.1
    ]
    assert len(quick) <= 10, f"{len(quick)} re-reads of a job within 0.1 s: {quick[:10]}"


def test_a_v3_campaign_of_250_videos_is_three_batch_creates(emulator: EmulatorHandle, tmp_path: Path) -> None:
    counts = Counts(emulator)
    items = write_items(tmp_path / "people.csv", emulator, 250)

    run = run_test_dag("heygen_campaign_video", conf(tmp_path, items, publish_to=""))

    (ti,) = run.get_task_instances()
    assert run.state == "success", ti.state
    assert ti.xcom_pull(task_ids="personalize")["completed"] == 250
    assert counts.delta("batches_created", "video") == 3
    assert counts.delta("jobs_created", "video") == 250
    rows = manifest(tmp_path)
    assert len(rows) == 250 and all(row["video_url"].startswith("http") for row in rows)
    # Each row is priced: the video's duration as HeyGen reports it x the avatar rate.
    assert {row["rate"] for row in rows} == {"$0.0667/s"} and all(row["cost_usd"] > 0 for row in rows)


def test_bad_items_are_all_named_and_nothing_is_paid(emulator: EmulatorHandle, tmp_path: Path) -> None:
    counts = Counts(emulator)
    items = write_items(
        tmp_path / "faces.csv",
        emulator,
        12,
        rows={
            3: {"customer_id": ""},
            5: {"customer_id": "c00003"},
            9: {"face_url": "ftp://nope/face.jpg"},
            11: {"face_url": ""},
        },
    )

    run = run_test_dag("heygen_campaign_faceswap", conf(tmp_path, items))

    (ti,) = run.get_task_instances()
    assert run.state == "failed" and ti.try_number == 1, "input errors are not retried"
    assert counts.delta("jobs_created", "workflow_execution") == 0
    assert not (tmp_path / "manifest.jsonl").exists()


def test_lost_replies_are_in_doubt_and_never_resubmitted(emulator: EmulatorHandle, tmp_path: Path) -> None:
    counts = Counts(emulator)
    emulator.set_faults(lost_replies=2)
    items = write_items(tmp_path / "faces.csv", emulator, 20)

    run = run_test_dag("heygen_campaign_faceswap_tolerant", conf(tmp_path, items, publish_to=""))

    (ti,) = run.get_task_instances()
    assert run.state == "success", ti.state
    summary = ti.xcom_pull(task_ids="personalize")
    assert (summary["completed"], summary["in_doubt"]) == (18, 2)
    assert counts.delta("jobs_created", "workflow_execution") == 20, "HeyGen made the two lost ones once"
    doubtful = [row for row in manifest(tmp_path) if row["status"] == "in_doubt"]
    assert len(doubtful) == 2 and all("no answer" in row["failure"] for row in doubtful)


def test_too_many_failures_fail_the_task_naming_them_with_the_manifest_complete(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    counts = Counts(emulator)
    emulator.set_faults(fail_next=["no_face_detected"] * 3)
    items = write_items(tmp_path / "faces.csv", emulator, 40)

    run = run_test_dag("heygen_campaign_faceswap", conf(tmp_path, items, publish_to=""))

    (ti,) = run.get_task_instances()
    assert run.state == "failed" and ti.try_number == 1, "a failure no retry changes is not retried"
    rows = manifest(tmp_path)
    assert len(rows) == 40
    failed = [row for row in rows if row["status"] == "failed"]
    assert len(failed) == 3 and all(row["failure"] for row in failed)
    # Past max_failed nothing new is paid for: the items never submitted are skipped.
    skipped = [row for row in rows if row["status"] == "skipped"]
    assert skipped and counts.delta("jobs_created", "workflow_execution") == 40 - len(skipped)


def test_a_worker_dying_mid_campaign_is_resumed_by_the_retry_paying_no_item_twice(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    counts = Counts(emulator)
    items = write_items(tmp_path / "faces.csv", emulator, 30)

    run = run_test_dag("heygen_campaign_faceswap_dies", conf(tmp_path, items))

    (ti,) = run.get_task_instances()
    assert run.state == "success" and ti.try_number == 2, ti.state
    summary = ti.xcom_pull(task_ids="personalize")
    # The create answered just before the worker died is the one item nobody can confirm.
    assert (summary["completed"], summary["in_doubt"]) == (29, 1)
    assert counts.delta("jobs_created", "workflow_execution") == 30, "no item paid twice"
    assert len(list((tmp_path / "videos").iterdir())) == 29


def test_a_batch_create_cut_off_by_a_worker_death_is_replayed_by_its_key(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    counts = Counts(emulator)
    items = write_items(tmp_path / "people.csv", emulator, 250)

    run = run_test_dag("heygen_campaign_video_dies", conf(tmp_path, items, publish_to=""))

    (ti,) = run.get_task_instances()
    assert run.state == "success" and ti.try_number == 2, ti.state
    assert ti.xcom_pull(task_ids="personalize")["completed"] == 250
    assert counts.delta("jobs_created", "video") == 250, "no video paid twice"
    assert counts.delta("batches_created", "video") == 3
    assert counts.delta("idempotent_replays", "video_batch") == 1, "the retry resent the batch with its key"


def test_ends_of_a_refill_are_seen_and_refilled_together_one_state_write_per_item(
    emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Creates of 20 ms (about as on the production topology, where each create's marker is a write through the
    # API server): a refill's jobs become due 20 ms apart. Read one by one, each end was refilled alone,
    # with a write of its marker and one of its id (about 2 writes per item); read together, a refill of
    # k ends writes k + 1. Counted where the task writes, wrapped, not replaced.
    from airflow.sdk.execution_time.context import TaskStateStoreAccessor

    writes: list[str] = []
    original = TaskStateStoreAccessor.set

    def counted(self: TaskStateStoreAccessor, key: str, value: Any, **kwargs: Any) -> None:
        writes.append(key)
        original(self, key, value, **kwargs)

    monkeypatch.setattr(TaskStateStoreAccessor, "set", counted)
    items = write_items(tmp_path / "faces.csv", emulator, 60)
    faults = emulator.faults()
    emulator.set_faults(latency=1.0, create_delay=0.02)
    try:
        run = run_test_dag("heygen_campaign_faceswap", conf(tmp_path, items))
    finally:
        emulator.set_faults(latency=faults["latency"], create_delay=faults["create_delay"])

    assert run.state == "success"
    head_writes = writes.count("heygen_campaign")
    assert head_writes <= 1.5 * 60, f"{head_writes} writes of the campaign's head for 60 items"
