"""
A HeyGen task instance read from its records: which job(s), where they are, why one failed, what they
cost, when each step happened and where the video went.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from airflow_heygen.plugins.records import TaskRecord
from airflow_heygen.plugins.settings import HEYGEN_URL_VALID

PUBLISH_OPERATOR = "HeyGenPublishVideoOperator"
# The XComs the operators push besides their result (airflow_heygen.operators).
FAILURE_KEY = "heygen_failure"
CAMPAIGN_KEY = "heygen_campaign"
RESULT_KEY = "return_value"
# Task instance states in which nothing more happens to it.
ENDED_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})


class TaskKind(str, Enum):
    """What a HeyGen task instance is, as its records show it."""

    JOB = "job"
    CAMPAIGN = "campaign"
    PUBLISH = "publish"
    NONE = "none"


def task_kind(record: TaskRecord) -> TaskKind:
    """
    What ``record`` is: a campaign (it pushed its progress), a publishing task (its operator, or a
    result with ``uri`` and ``sha256``), a job (a job id, a failure or a job result), or none of ours.

    :param record: the task instance.
    """
    result = record.mapping(RESULT_KEY)
    if CAMPAIGN_KEY in record.xcoms:
        return TaskKind.CAMPAIGN
    if record.operator == PUBLISH_OPERATOR or {"uri", "sha256"} <= set(result):
        return TaskKind.PUBLISH
    if {"job_id", "job_ids", FAILURE_KEY} & set(record.xcoms) or {"kind", "id"} <= set(result):
        return TaskKind.JOB
    if "execution_id" in result:
        return TaskKind.JOB
    return TaskKind.NONE


@dataclass(frozen=True)
class Moment:
    """
    One step of a task's story.

    :param at: when.
    :param what: what happened.
    """

    at: datetime
    what: str


@dataclass(frozen=True)
class Published:
    """
    A published copy of a video, found in a publishing task's result.

    :param task_id: the publishing task.
    :param map_index: its map index.
    :param uri: where the video is.
    :param preview_uri: where its PNG preview is, if one was made.
    :param size: its size in bytes.
    :param conn_id: the storage's connection (the publishing task's ``destination_conn_id``).
    """

    task_id: str
    map_index: int
    uri: str
    preview_uri: str | None = None
    size: int | None = None
    conn_id: str | None = None

    @classmethod
    def of(cls, record: TaskRecord) -> Published | None:
        """
        The copy a publishing task instance made, or None before it made one.

        :param record: the publishing task instance.
        """
        result = record.mapping(RESULT_KEY)
        uri = result.get("uri")
        if not isinstance(uri, str) or not uri:
            return None
        preview = result.get("preview_uri")
        size = result.get("bytes")
        return cls(
            record.key.task_id,
            record.key.map_index,
            uri,
            preview if isinstance(preview, str) and preview else None,
            size if isinstance(size, int) else None,
            record.text("destination_conn_id"),
        )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _ids(record: TaskRecord, result: Mapping[str, Any], failure: Mapping[str, Any]) -> list[str]:
    many = record.value("job_ids")
    if isinstance(many, list):
        return [str(job_id) for job_id in many]
    one = record.value("job_id") or result.get("id") or result.get("execution_id") or failure.get("job_id")
    return [str(one)] if one else []


@dataclass(frozen=True)
class JobView:
    """
    The HeyGen job(s) of one task instance.

    :param kind: the job kind (``video``, ``workflow``, ...), or a workflow's type.
    :param job_ids: HeyGen's ids.
    :param status: the job's status as the task last recorded it, or the task's while no result exists.
    :param failure: HeyGen's reason of a failed job (``heygen_failure``), else the task's error.
    :param failure_code: HeyGen's code of that failure.
    :param task_error: the error the task failed with, when it says more than HeyGen's reason.
    :param estimated_cost_usd: the estimate made before the create.
    :param cost_usd: what the job cost, once it ended.
    :param video_url: HeyGen's URL of the video (a translation's: its first language's).
    :param videos: HeyGen's URL of each video, by language for a translation (``""`` for a single one).
    :param url_expired: HeyGen's URL is older than it stays valid.
    :param thumbnail_url: HeyGen's preview image, if it gave one.
    :param timeline: the task's story, oldest first.
    :param published: the copies published by the run's publishing tasks.
    :param ended: nothing more happens to the task instance.
    """

    kind: str | None
    job_ids: list[str]
    status: str
    failure: str | None = None
    failure_code: str | None = None
    task_error: str | None = None
    estimated_cost_usd: float | None = None
    cost_usd: float | None = None
    video_url: str | None = None
    videos: dict[str, str] = field(default_factory=dict)
    url_expired: bool = False
    thumbnail_url: str | None = None
    timeline: list[Moment] = field(default_factory=list)
    published: list[Published] = field(default_factory=list)
    ended: bool = False

    @property
    def heygen_video_url(self) -> str | None:
        """HeyGen's URL when it may still be played."""
        return None if self.url_expired else self.video_url

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer's shape (HeyGen's URL only while valid)."""
        return {
            "kind": self.kind,
            "job_ids": self.job_ids,
            "status": self.status,
            "failure": self.failure,
            "failure_code": self.failure_code,
            "task_error": self.task_error,
            "estimated_cost_usd": self.estimated_cost_usd,
            "cost_usd": self.cost_usd,
            "video_url": self.heygen_video_url,
            "videos": {} if self.url_expired else self.videos,
            "url_expired": self.url_expired,
            "thumbnail_url": self.thumbnail_url,
            "timeline": [{"at": m.at.isoformat(), "what": m.what} for m in self.timeline],
            "published": [{"task_id": p.task_id, "uri": p.uri} for p in self.published],
            "ended": self.ended,
        }


def result_videos(result: Mapping[str, Any]) -> dict[str, str]:
    """
    HeyGen's video URL(s) of a job result: ``{"": url}``, or a translation's ``video_urls`` by language.

    :param result: the task's result XCom.
    """
    single = result.get("video_url")
    if isinstance(single, str) and single:
        return {"": single}
    many = result.get("video_urls")
    if not isinstance(many, Mapping):
        return {}
    return {str(name): url for name, url in many.items() if isinstance(url, str) and url}


def _status(record: TaskRecord, result: Mapping[str, Any], failure: Mapping[str, Any]) -> str:
    if failure:
        return "failed"
    status = result.get("status")
    if isinstance(status, str) and status:
        return status
    state = record.state or "none"
    return {"deferred": "running", "running": "running", "success": "submitted"}.get(state, state)


def _timeline(record: TaskRecord, ids: Sequence[str], status: str) -> list[Moment]:
    moments: list[Moment] = []
    if record.queued_at:
        # A task that waited deferred is queued again to resume: its last queueing follows its start.
        resumed = record.started_at is not None and record.queued_at > record.started_at
        moments.append(Moment(record.queued_at, "queued to resume" if resumed else "queued"))
    if record.started_at:
        moments.append(Moment(record.started_at, f"try {record.try_number} started"))
    for key in ("job_id", "job_ids"):
        pushed = record.xcoms.get(key)
        if pushed is not None and pushed.at is not None:
            moments.append(Moment(pushed.at, f"HeyGen job {', '.join(ids)} created"))
    failure = record.xcoms.get(FAILURE_KEY)
    if failure is not None and failure.at is not None:
        moments.append(Moment(failure.at, "HeyGen job failed"))
    result = record.xcoms.get(RESULT_KEY)
    if result is not None and result.at is not None:
        moments.append(Moment(result.at, f"HeyGen job {status}"))
    if record.ended_at and record.state in ENDED_STATES:
        moments.append(Moment(record.ended_at, f"task {record.state}"))
    return sorted(moments, key=lambda moment: moment.at)


def job_view(record: TaskRecord, published: Sequence[Published] = (), now: datetime | None = None) -> JobView:
    """
    The job(s) of a job task instance.

    :param record: the task instance.
    :param published: the copies the run's publishing tasks made of its video.
    :param now: the time (for whether HeyGen's URL is still valid).
    """
    result = record.mapping(RESULT_KEY)
    failure = record.mapping(FAILURE_KEY)
    ids = _ids(record, result, failure)
    status = _status(record, result, failure)
    output = result.get("output") if isinstance(result.get("output"), Mapping) else {}
    videos = result_videos(result)
    video_url = next(iter(videos.values()), None)
    made = record.xcoms[RESULT_KEY].at if RESULT_KEY in record.xcoms else None
    expired = bool(video_url and made and (now or datetime.now(UTC)) - made > HEYGEN_URL_VALID)
    thumbnail = output.get("thumbnail_url") if isinstance(output, Mapping) else None
    message = failure.get("message") or failure.get("error")
    error = failure.get("error")
    return JobView(
        kind=str(result.get("kind") or result.get("workflow_type") or failure.get("kind") or "") or None,
        job_ids=ids,
        status=status,
        failure=str(message) if message else None,
        failure_code=str(failure["code"]) if failure.get("code") else None,
        task_error=str(error) if error and error != message else None,
        estimated_cost_usd=_number(result.get("estimated_cost_usd"))
        if "estimated_cost_usd" in result
        else _number(record.value("estimated_cost_usd")),
        cost_usd=_number(result.get("cost_usd")),
        video_url=video_url,
        videos=videos,
        url_expired=expired,
        thumbnail_url=thumbnail if isinstance(thumbnail, str) and thumbnail else None,
        timeline=_timeline(record, ids, status),
        published=list(published),
        ended=record.state in ENDED_STATES,
    )
