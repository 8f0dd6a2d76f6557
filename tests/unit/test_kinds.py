"""The job kinds table, the two status readers, and the trigger's kwargs."""

from __future__ import annotations

import pytest

from airflow_heygen.job import ids_from_create, job_from_bulk_entry, job_from_single
from airflow_heygen.kinds import KINDS, JobStatus
from airflow_heygen.triggers.jobs import HeyGenJobTrigger


@pytest.mark.parametrize(
    ("kind", "raw", "status"),
    [
        ("video", "pending", JobStatus.PENDING),
        ("video", "processing", JobStatus.RUNNING),
        ("lipsync", "running", JobStatus.RUNNING),
        ("video_translation", "completed", JobStatus.COMPLETED),
        ("video", "failed", JobStatus.FAILED),
        ("video", "not_found", JobStatus.NOT_FOUND),
        ("video", "something-new", JobStatus.RUNNING),
        ("asset", None, JobStatus.COMPLETED),
        ("workflow", "submitted", JobStatus.PENDING),
    ],
)
def test_single_reads(kind: str, raw: str | None, status: JobStatus) -> None:
    job = job_from_single(kind, {"id": "x", "status": raw, "video_url": "u", "failure_message": "boom"}, "x")
    assert job.status is status
    assert job.failure == ("boom" if status is JobStatus.FAILED and kind != "workflow" else None)


@pytest.mark.parametrize("kind", ["video", "lipsync", "video_translation", "asset"])
@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("queued", JobStatus.PENDING),
        ("processing", JobStatus.RUNNING),
        ("completed", JobStatus.COMPLETED),
        ("failed", JobStatus.FAILED),
        ("not_found", JobStatus.NOT_FOUND),
        ("later", JobStatus.RUNNING),
    ],
)
def test_bulk_entries(kind: str, raw: str, status: JobStatus) -> None:
    job = job_from_bulk_entry(kind, {"video_id": "id-1", "status": raw, "error": {"message": "bad"}})
    assert (job.id, job.status) == ("id-1", status)
    assert KINDS[kind].bulk_endpoint and KINDS[kind].bulk_param


def test_create_answers() -> None:
    assert ids_from_create("video", {"video_id": "v"}) == ["v"]
    assert ids_from_create("video_translation", {"video_translation_ids": ["a", "b"]}) == ["a", "b"]
    assert ids_from_create("lipsync", {}) == []
    assert not KINDS["workflow"].idempotent_creates and KINDS["video"].idempotent_creates


def test_trigger_kwargs_are_exactly_these() -> None:
    classpath, kwargs = HeyGenJobTrigger("lipsync", "l1", "heygen_default", 2.0, 1e9).serialize()
    assert classpath == "airflow_heygen.triggers.jobs.HeyGenJobTrigger"
    assert set(kwargs) == {"kind", "job_id", "heygen_conn_id", "poll_interval", "deadline"}
