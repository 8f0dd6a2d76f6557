"""
Everything the view shows of one task instance, gathered from its records (and, for a job, the records
of the publishing tasks of the same run that published its video), and the one file a media request
may read.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_heygen.plugins.campaign import CampaignView, campaign_view
from airflow_heygen.plugins.jobs import (
    PUBLISH_OPERATOR,
    RESULT_KEY,
    JobView,
    Published,
    TaskKind,
    job_view,
    result_videos,
    task_kind,
)
from airflow_heygen.plugins.media import CONTENT_TYPES
from airflow_heygen.plugins.records import TaskKey, TaskRecord, load_task, run_tasks

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class TaskFacts:
    """
    One task instance as the view shows it.

    :param key: the task instance.
    :param record: its records, or None when Airflow has no such task instance.
    :param kind: what it is.
    :param job: its job(s), for a job task.
    :param campaign: its campaign, for a campaign task.
    :param published: its own published copy, for a publishing task.
    """

    key: TaskKey
    record: TaskRecord | None
    kind: TaskKind
    job: JobView | None = None
    campaign: CampaignView | None = None
    published: Published | None = None


def published_copies(session: Session, record: TaskRecord, video_urls: Collection[str]) -> list[Published]:
    """
    The copies of the job's videos that publishing tasks of the same run made (their rendered
    ``video_url`` is one of the job's).

    :param session: a metadata database session.
    :param record: the job's task instance.
    :param video_urls: the job's video URLs.
    """
    if not video_urls:
        return []
    copies = []
    for key in run_tasks(session, record.key.dag_id, record.key.run_id, PUBLISH_OPERATOR):
        other = load_task(session, key)
        if other is not None and other.text("video_url") in video_urls:
            copy = Published.of(other)
            if copy is not None:
                copies.append(copy)
    return copies


def task_facts(session: Session, key: TaskKey) -> TaskFacts:
    """
    What the view shows of ``key``.

    :param session: a metadata database session.
    :param key: the task instance (its DAG already checked readable).
    """
    record = load_task(session, key)
    if record is None:
        return TaskFacts(key, None, TaskKind.NONE)
    kind = task_kind(record)
    if kind is TaskKind.CAMPAIGN:
        return TaskFacts(key, record, kind, campaign=campaign_view(record))
    if kind is TaskKind.PUBLISH:
        return TaskFacts(key, record, kind, published=Published.of(record))
    if kind is TaskKind.JOB:
        urls = set(result_videos(record.mapping(RESULT_KEY)).values())
        return TaskFacts(key, record, kind, job=job_view(record, published_copies(session, record, urls)))
    return TaskFacts(key, record, kind)


def _copy(facts: TaskFacts, copy: int) -> Published | None:
    if facts.published is not None:
        return facts.published if copy == 0 else None
    copies = facts.job.published if facts.job is not None else []
    return copies[copy] if 0 <= copy < len(copies) else None


def media_file(facts: TaskFacts, *, preview: bool, item: str | None, copy: int) -> ObjectStoragePath | None:
    """
    The one file a media request may stream, found from the task instance's own records only: a
    published copy (or its preview), or a campaign item's published video. None when there is none, or
    when it is not a video or image (by its suffix).

    :param facts: the task instance.
    :param preview: the preview image instead of the video.
    :param item: a campaign item's id (compared exactly with the manifest's).
    :param copy: which published copy of a job's video (0: the first).
    """
    from airflow.sdk import ObjectStoragePath

    uri: str | None = None
    conn_id: str | None = None
    if item is not None:
        if facts.campaign is None or preview:
            return None
        row = facts.campaign.row(item)
        published = row.get("published_to") if row is not None else None
        uri, conn_id = (published if isinstance(published, str) else None), facts.campaign.conn_id
    else:
        found = _copy(facts, copy)
        if found is not None:
            uri, conn_id = (found.preview_uri if preview else found.uri), found.conn_id
    if not uri or "://" not in uri or uri.startswith(("http://", "https://")):
        return None
    path = ObjectStoragePath(uri, conn_id=conn_id)
    suffix = path.suffix.lower()
    return path if suffix in CONTENT_TYPES else None
