"""What v3 reads answer: jobs, bulk status entries and batches, shaped as in HeyGen's schemas."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from airflow_heygen.emulator.failures import FailureCode
from airflow_heygen.emulator.models import ExecutionStatus
from airflow_heygen.emulator.v3.models import BULK_NOT_FOUND, JobKind, V3Batch, V3Job


def _media_url(public_base: str, name: str | None) -> str | None:
    return f"{public_base}/media/{name}" if name else None


def _failed(job: V3Job) -> bool:
    return job.status is ExecutionStatus.FAILED


def _failure_code(job: V3Job) -> str | None:
    # Jobs stored before failures had codes read as internal_error.
    return (job.error_code or FailureCode.INTERNAL_ERROR.value) if _failed(job) else None


def video_view(job: V3Job, public_base: str) -> dict[str, Any]:
    """
    ``data`` of ``GET /v3/videos/{video_id}``.

    :param job: a video job.
    :param public_base: scheme and host of output URLs.
    """
    return {
        "id": job.job_id,
        "status": job.single_status,
        "title": job.meta.get("title"),
        "created_at": int(job.created_at),
        "completed_at": int(job.completed_at) if job.completed_at else None,
        "duration": job.duration,
        "video_url": _media_url(public_base, job.output_file),
        "thumbnail_url": None,
        "gif_url": None,
        "captioned_video_url": None,
        "subtitle_url": None,
        "video_page_url": None,
        "folder_id": job.meta.get("folder_id"),
        "failure_code": _failure_code(job),
        "failure_message": job.error_message if _failed(job) else None,
    }


def lipsync_view(job: V3Job, public_base: str) -> dict[str, Any]:
    """
    ``data`` of ``GET /v3/lipsyncs/{lipsync_id}``.

    :param job: a lip-sync job.
    :param public_base: scheme and host of output URLs.
    """
    return {
        "id": job.job_id,
        "status": job.single_status,
        "title": job.meta.get("title"),
        "callback_id": job.meta.get("callback_id"),
        "created_at": int(job.created_at),
        "duration": job.duration,
        "video_url": _media_url(public_base, job.output_file),
        "caption_url": None,
        # Not in HeyGen's lip-sync schema, which allows more properties: the code a client classifies by.
        "failure_code": _failure_code(job),
        "failure_message": job.error_message if _failed(job) else None,
    }


def translation_view(job: V3Job, public_base: str) -> dict[str, Any]:
    """
    ``data`` of ``GET /v3/video-translations/{video_translation_id}``.

    :param job: a translation job (one output language).
    :param public_base: scheme and host of output URLs.
    """
    return {
        "id": job.job_id,
        "status": job.single_status,
        "title": job.meta.get("title"),
        "callback_id": job.meta.get("callback_id"),
        "created_at": int(job.created_at),
        "duration": job.duration,
        "input_language": job.meta.get("input_language"),
        "output_language": job.meta.get("output_language"),
        "translate_audio_only": job.meta.get("translate_audio_only"),
        "video_url": _media_url(public_base, job.output_file),
        "audio_url": None,
        "srt_caption_url": _media_url(public_base, job.caption_file),
        "vtt_caption_url": None,
        # Not in HeyGen's translation schema, which allows more properties: as for lip-syncs.
        "failure_code": _failure_code(job),
        "failure_message": job.error_message if _failed(job) else None,
    }


VIEWS = {
    JobKind.VIDEO: video_view,
    JobKind.LIPSYNC: lipsync_view,
    JobKind.VIDEO_TRANSLATION: translation_view,
}


def bulk_entry(job: V3Job) -> dict[str, Any]:
    """
    One entry of a bulk statuses answer (every kind carries its id as ``video_id``).

    :param job: the job.
    """
    error = {"code": _failure_code(job), "message": job.error_message} if _failed(job) else None
    return {
        "video_id": job.job_id,
        "status": job.bulk_status,
        "error": error,
        "batch_id": job.batch_id,
        "item_index": job.item_index,
    }


def missing_entry(job_id: str | None, batch_id: str | None = None) -> dict[str, Any]:
    """
    The bulk entry of an unknown id (or unknown batch).

    :param job_id: the unknown job id, or None for an unknown batch.
    :param batch_id: the unknown batch id.
    """
    return {
        "video_id": job_id,
        "status": BULK_NOT_FOUND,
        "error": None,
        "batch_id": batch_id,
        "item_index": None,
    }


def batch_status(jobs: Iterable[V3Job | None]) -> tuple[str, dict[str, int]]:
    """
    A batch's overall status and its item counts by bulk status.

    :param jobs: its jobs (None for a deleted one, counted as failed).
    """
    counts: Counter[str] = Counter(job.bulk_status if job is not None else "failed" for job in jobs)
    if counts["queued"] or counts["processing"]:
        overall = "processing"
    else:
        overall = "completed" if counts["completed"] else "failed"
    return overall, {name: counts.get(name, 0) for name in ("queued", "processing", "completed", "failed")}


def batch_view(
    batch: V3Batch, jobs: dict[str, V3Job | None], page: list[int], next_token: str | None
) -> dict[str, Any]:
    """
    ``data`` of ``GET /v3/<resource>/batches/{batch_id}``.

    :param batch: the batch.
    :param jobs: its jobs by id (None when deleted).
    :param page: positions in ``batch.items`` of this page's items.
    :param next_token: cursor of the next page, None on the last.
    """
    overall, counts = batch_status(jobs.values())
    items = []
    for position in page:
        item = batch.items[position]
        job = jobs.get(item.job_id)
        entry: dict[str, Any] = {"item_index": item.item_index, "video_id": item.job_id}
        if job is None:
            entry.update(status="failed", error={"code": "deleted", "message": "the job was deleted"})
        else:
            entry.update(status=job.bulk_status, error=bulk_entry(job)["error"])
        items.append(entry)
    return {
        "batch_id": batch.batch_id,
        "status": overall,
        "title": batch.title,
        "total_items": len(batch.items),
        "counts_by_status": counts,
        "created_at": int(batch.created_at),
        "items": items,
        "has_more": next_token is not None,
        "next_token": next_token,
    }
