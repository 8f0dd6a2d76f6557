"""
One HeyGen job of any kind (a v3 video, lip-sync, translation or asset, or a workflows execution), and
the two places its status is read from HeyGen's answers: :func:`job_from_single` and
:func:`job_from_bulk_entry`. Where each kind keeps what is in :mod:`airflow_heygen.kinds`.

Importing this module is cheap (no HTTP library): operators use it at DAG parse time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from airflow_heygen.failures import Failure
from airflow_heygen.kinds import (
    BULK_FAILURE_CODE_PATH,
    BULK_FAILURE_PATH,
    KINDS,
    WORKFLOW,
    JobKind,
    JobStatus,
    dig,
    find_video_url,
    job_kind,
)

# The XCom result of a workflows execution, as the workflows operators have always returned it.
WORKFLOW_RESULT_KEYS = ("execution_id", "workflow_type", "status", "video_url", "output")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Job:
    """
    One HeyGen job of any kind, as a status read reported it.

    :param kind: the kind's name.
    :param id: HeyGen's id of the job (a workflows execution's ``execution_id``).
    :param status: the normalised status (unknown values are ``RUNNING``).
    :param raw_status: the status exactly as HeyGen sent it.
    :param video_url: the output URL, once there is one.
    :param failure: HeyGen's reason of a failed job.
    :param output: the whole ``data`` object of the read (a bulk entry, for bulk reads).
    :param failure_code: HeyGen's machine-readable code of a failed job, if it sent one.
    :param read_at: ``time.monotonic()`` when the request that answered was sent, where the reader
        knows it (bulk reads): a trigger schedules its next read from it. Not part of the result.
    :param workflow_type: a workflows execution's type (HeyGen's reads do not repeat it).
    """

    kind: str
    id: str
    status: JobStatus
    raw_status: str | None = None
    video_url: str | None = None
    failure: str | None = None
    output: dict[str, Any] = field(default_factory=dict)
    failure_code: str | None = None
    read_at: float | None = field(default=None, compare=False, repr=False)
    workflow_type: str | None = None

    @property
    def failed(self) -> Failure | None:
        """Why the job failed or vanished; None while it runs or once it completed."""
        if self.status not in (JobStatus.FAILED, JobStatus.NOT_FOUND):
            return None
        not_found = self.status is JobStatus.NOT_FOUND
        if not_found:
            message = job_kind(self.kind).not_found_message or self.failure
        else:  # a workflow that failed without a reason is named by its type
            message = self.failure or (f"{self.workflow_type} failed" if self.workflow_type else None)
        return Failure(self.failure_code, message, not_found=not_found)

    def typed(self, workflow_type: str | None) -> Job:
        """This job with its workflow type, where the read did not say it (the video URL found anew)."""
        if self.workflow_type or not workflow_type:
            return self
        url = find_video_url(self.output.get("output"), workflow_type) or self.video_url
        return replace(self, workflow_type=workflow_type, video_url=url)

    def to_result(self) -> dict[str, Any]:
        """
        The operators' result (XCom): ``{"kind", "id", "status", "video_url", "output"}``; for a
        workflows execution ``{"execution_id", "workflow_type", "status", "video_url", "output"}``
        (``output`` is the execution's), with ``error: {"code", "message"}`` once it failed.
        """
        row = job_kind(self.kind)
        status = row.pending_name if self.status is JobStatus.PENDING else self.status.value
        if row is not WORKFLOW:
            return {
                "kind": self.kind,
                "id": self.id,
                "status": status,
                "video_url": self.video_url,
                "output": self.output,
            }
        output = self.output.get("output")
        output = dict(output) if isinstance(output, Mapping) else {}
        values = (self.id, self.workflow_type, status, self.video_url, output)
        result = dict(zip(WORKFLOW_RESULT_KEYS, values, strict=True))
        if self.status is JobStatus.FAILED:
            result["error"] = {"code": self.failure_code, "message": self.failure}
        return result

    @classmethod
    def from_result(cls, result: Mapping[str, Any]) -> Job:
        """Rebuild a job from :meth:`to_result`'s dict (as a trigger event carries it)."""
        if "execution_id" in result:  # a workflows execution's result
            data = {key: result.get(key) for key in ("execution_id", "status", "output", "error")}
            job = job_from_single(WORKFLOW, data, str(result["execution_id"]))
            job = replace(job, video_url=_text(result.get("video_url")) or job.video_url)
            return job.typed(_text(result.get("workflow_type")))
        output = result.get("output")
        output = dict(output) if isinstance(output, Mapping) else {}
        row = KINDS.get(str(result.get("kind")))
        paths = (*(row.failure_paths if row else ()), BULK_FAILURE_PATH)
        code_paths = (*(row.failure_code_paths if row else ()), BULK_FAILURE_CODE_PATH)
        return cls(
            kind=str(result.get("kind")),
            id=str(result.get("id")),
            status=_status({s.value: s for s in JobStatus}, result.get("status")),
            raw_status=_text(output.get("status")),
            video_url=_text(result.get("video_url")),
            failure=_first_text(output, paths),
            output=output,
            failure_code=_first_text(output, code_paths),
        )


def _first_text(data: Mapping[str, Any], paths: tuple[tuple[str, ...], ...]) -> str | None:
    """The first non-empty value found at ``paths`` in ``data``, as text."""
    return next((str(v) for v in (dig(data, p) for p in paths) if v and not isinstance(v, Mapping)), None)


def _status(statuses: Mapping[str, JobStatus], raw: Any) -> JobStatus:
    if isinstance(raw, str):
        return statuses.get(raw.strip().lower(), JobStatus.RUNNING)
    return JobStatus.RUNNING


def job_from_single(kind: str | JobKind, data: Mapping[str, Any], job_id: str) -> Job:
    """
    A job from the ``data`` of its single status read (a 404 read is ``{"status": "not_found"}``).

    Missing or wrongly typed fields never raise: a missing status reads as still running.

    :param kind: the job's kind.
    :param data: the answer's ``data`` object.
    :param job_id: the id asked for, used when ``data`` lacks one.
    """
    row = job_kind(kind)
    raw = data.get("status")
    if raw == "not_found":
        status = JobStatus.NOT_FOUND
    elif row.statusless:
        status = JobStatus.COMPLETED
    else:
        status = _status(row.single_statuses, raw)
    failed = status is JobStatus.FAILED
    workflow_type = _text(data.get("workflow_type"))
    # A workflow keeps its URL where its type puts it (output.video_url, output.video.video_url, or the
    # OpenAPI's generic output.url).
    video_url = (
        find_video_url(data.get("output"), workflow_type)
        if row is WORKFLOW
        else dig(data, row.video_url_path)
    )
    return Job(
        kind=row.name,
        id=_text(data.get(row.single_id_field)) or job_id,
        status=status,
        raw_status=_text(raw),
        video_url=_text(video_url),
        failure=_first_text(data, row.failure_paths) if failed else None,
        output=dict(data),
        failure_code=_first_text(data, row.failure_code_paths) if failed else None,
        workflow_type=workflow_type,
    )


def job_from_bulk_entry(kind: str | JobKind, entry: Mapping[str, Any], read_at: float | None = None) -> Job:
    """
    A job from one entry of a bulk statuses answer (no video URL there: read the job once completed).

    :param kind: the jobs' kind.
    :param entry: one item of the answer's ``data`` list.
    :param read_at: when the request was sent (``time.monotonic()``).
    """
    row = job_kind(kind)
    raw = entry.get("status")
    status = _status(row.bulk_statuses, raw)
    failed = status is JobStatus.FAILED
    return Job(
        kind=row.name,
        id=str(entry.get(row.bulk_id_field) or ""),
        status=status,
        raw_status=_text(raw),
        failure=_text(dig(entry, BULK_FAILURE_PATH)) if failed else None,
        output=dict(entry),
        failure_code=_text(dig(entry, BULK_FAILURE_CODE_PATH)) if failed else None,
        read_at=read_at,
    )


def ids_from_create(kind: str | JobKind, data: Mapping[str, Any]) -> list[str]:
    """
    The id(s) of the job(s) a create answer announces; empty when the answer has none.

    :param kind: the kind created.
    :param data: the create answer's ``data``.
    """
    row = job_kind(kind)
    value = data.get(row.id_field)
    values = value if row.ids_are_list and isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, str) and v]
