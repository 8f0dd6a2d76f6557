"""
Status logs name the job's kind in words ("video", "lip-sync", "video translation", "workflow
execution"), and a completed job's video URL is logged once: by the hook's wait, by a trigger whose
read carried it, or (after a bulk read, which carries none) by the task's one detailed read.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_heygen.hooks.common import StatusChangeLog
from airflow_heygen.hooks.heygen import HeyGenHook
from airflow_heygen.job import Job
from airflow_heygen.kinds import JobStatus, job_kind
from airflow_heygen.triggers.heygen import HeyGenExecutionTrigger
from airflow_heygen.triggers.jobs import HeyGenJobTrigger
from tests.support.fake_heygen import FakeHeyGen


class Lines:
    """A logger keeping the lines it is given, formatted."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str, *args: Any) -> None:
        self.lines.append(message % args)


def logged(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    return captured.out + captured.err


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("video", "video"),
        ("lipsync", "lip-sync"),
        ("video_translation", "video translation"),
        ("workflow", "workflow execution"),
    ],
)
def test_status_changes_name_the_jobs_kind(kind: str, words: str) -> None:
    log = Lines()
    progress = StatusChangeLog(log, "j1", job_kind(kind).description)

    for raw in ("pending", "pending", "processing", "completed"):
        status = JobStatus.COMPLETED if raw == "completed" else JobStatus.RUNNING
        progress.observe(Job(kind, "j1", status, raw_status=raw))

    assert [line.rsplit(" after ", 1)[0] for line in log.lines] == [
        f"HeyGen {words} j1 is pending",
        f"HeyGen {words} j1 is processing",
        f"HeyGen {words} j1 is completed",
    ]


def test_a_workflow_execution_is_observed_as_one() -> None:
    log = Lines()
    progress = StatusChangeLog(log, "e1", job_kind("workflow").description)

    progress.observe(Job("workflow", "e1", JobStatus.RUNNING))  # no raw status: the normalised one
    progress.observe(Job("workflow", "e1", JobStatus.COMPLETED, raw_status="SUCCEEDED"))

    assert [line.rsplit(" after ", 1)[0] for line in log.lines] == [
        "HeyGen workflow execution e1 is running",
        "HeyGen workflow execution e1 is SUCCEEDED",
    ]


def test_completion_is_logged_with_the_video_url_when_known() -> None:
    log = Lines()
    StatusChangeLog(log, "v1", "video").completed("https://cdn.example/v1.mp4")
    StatusChangeLog(log, "v2", "lip-sync").completed(None)

    assert log.lines == [
        "HeyGen video v1 completed: https://cdn.example/v1.mp4",
        "HeyGen lip-sync v2 completed",
    ]


def test_the_sync_wait_for_a_video_logs_its_kind_and_url_once(
    heygen_conn: FakeHeyGen, capsys: pytest.CaptureFixture[str]
) -> None:
    video_id = heygen_conn.add_video(polls=2)

    job = HeyGenHook().wait_for_job("video", video_id, poll_interval=0.01, timeout=10)

    assert job.video_url == heygen_conn.video_url(video_id)
    text = logged(capsys)
    assert f"HeyGen video {video_id} is completed after " in text
    assert text.count(f"HeyGen video {video_id} completed: {job.video_url}") == 1
    assert f"HeyGen execution {video_id}" not in text


async def test_a_job_trigger_reading_singly_logs_the_url_at_completion(
    heygen_conn: FakeHeyGen, capsys: pytest.CaptureFixture[str]
) -> None:
    video_id = heygen_conn.add_video(polls=1)
    trigger = HeyGenJobTrigger("video", video_id, poll_interval=0.02, deadline=time.time() + 30)
    trigger.bulk_polling = False

    (event,) = [event.payload async for event in trigger.run()]

    assert event["status"] == "success"
    text = logged(capsys)
    assert f"HeyGen video {video_id} is completed after " in text
    assert text.count(f"HeyGen video {video_id} completed: {heygen_conn.video_url(video_id)}") == 1


async def test_a_job_trigger_reading_in_bulk_logs_the_completion_without_a_url(
    heygen_conn: FakeHeyGen, capsys: pytest.CaptureFixture[str]
) -> None:
    video_id = heygen_conn.add_video(polls=1)
    trigger = HeyGenJobTrigger("video", video_id, poll_interval=0.02, deadline=time.time() + 30)

    (event,) = [event.payload async for event in trigger.run()]

    assert event["status"] == "success" and event["job"]["video_url"] is None
    text = logged(capsys)
    completions = [line for line in text.splitlines() if f"HeyGen video {video_id} completed" in line]
    assert len(completions) == 1 and "completed: " not in completions[0], completions


def test_the_tasks_detailed_read_after_a_bulk_read_logs_the_url_once(
    heygen_conn: FakeHeyGen, capsys: pytest.CaptureFixture[str]
) -> None:
    video_id = heygen_conn.add_video()
    hook = HeyGenHook()

    job = hook.detailed(Job("video", video_id, JobStatus.COMPLETED, raw_status="completed"))
    hook.detailed(job)  # already detailed: not read, nor logged, again

    assert job.video_url == heygen_conn.video_url(video_id)
    assert logged(capsys).count(f"HeyGen video {video_id} completed: {job.video_url}") == 1


async def test_the_execution_trigger_logs_the_url_at_completion(
    heygen_conn: FakeHeyGen, capsys: pytest.CaptureFixture[str]
) -> None:
    execution_id = heygen_conn.add_execution(polls=1)
    trigger = HeyGenExecutionTrigger(execution_id, poll_interval=0.02, deadline=time.time() + 30)

    (event,) = [event.payload async for event in trigger.run()]

    assert event["status"] == "success"
    text = logged(capsys)
    assert f"HeyGen workflow execution {execution_id} is completed after " in text
    url = heygen_conn.video_url(execution_id)
    assert text.count(f"HeyGen workflow execution {execution_id} completed: {url}") == 1


async def test_a_failed_job_logs_no_completion(
    heygen_conn: FakeHeyGen, capsys: pytest.CaptureFixture[str]
) -> None:
    video_id = heygen_conn.add_video(status="failed")
    trigger = HeyGenJobTrigger("video", video_id, poll_interval=0.02, deadline=time.time() + 30)

    (event,) = [event.payload async for event in trigger.run()]

    assert event["status"] == "failed"
    assert f"HeyGen video {video_id} completed" not in logged(capsys)
