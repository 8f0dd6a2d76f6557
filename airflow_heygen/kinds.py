"""
The one table of HeyGen job kinds: where each kind is created, where its id and status are, what its
statuses mean, where its video and failure reason are, and whether its creates take an
``Idempotency-Key``.

Hooks, the trigger, the sensor, the operators and the contract tests read this table: a new HeyGen
job kind is a new :class:`JobKind` row (plus an operator), not a new code path. A job's status is
read in exactly two places: :func:`job_from_single` (the answer of ``GET <status endpoint>``) and
:func:`job_from_bulk_entry` (one entry of ``GET <bulk endpoint>?<bulk param>=a,b``).

Importing this module is cheap (no HTTP library): operators use it at DAG parse time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from airflow_heygen.failures import Failure
from airflow_heygen.models import dig, find_video_url


class JobStatus(str, Enum):
    """A job's status, normalised over the kinds; HeyGen's own value stays in ``Job.raw_status``."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    NOT_FOUND = "not_found"

    @property
    def is_terminal(self) -> bool:
        """Whether the job will not change any more."""
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.NOT_FOUND)


P, R, C, F, N = (
    JobStatus.PENDING,
    JobStatus.RUNNING,
    JobStatus.COMPLETED,
    JobStatus.FAILED,
    JobStatus.NOT_FOUND,
)
# Bulk statuses answers (and batch items) use one vocabulary for every kind.
BULK_STATUSES: Mapping[str, JobStatus] = {
    "queued": P,
    "processing": R,
    "completed": C,
    "failed": F,
    "not_found": N,
}
# Where a bulk entry (of every kind) carries its id, and its failure.
BULK_ID_FIELD = "video_id"
BULK_FAILURE_PATH: tuple[str, ...] = ("error", "message")
BULK_FAILURE_CODE_PATH: tuple[str, ...] = ("error", "code")


@dataclass(frozen=True)
class JobKind:
    """
    One kind of HeyGen job, declared.

    :param name: the kind's name, e.g. ``video`` (also the emulator's stats key).
    :param api: ``workflows`` (``/v1/workflows``, no idempotency) or ``v3``.
    :param create_endpoint: endpoint of the create (POST).
    :param id_field: where the created job's id is in the create answer's ``data``.
    :param ids_are_list: whether ``id_field`` holds a list of ids (one create, several jobs).
    :param status_endpoint: endpoint template of one job's status, with ``{id}``.
    :param single_id_field: where a status answer carries the job's id.
    :param single_statuses: every documented status of a single read, mapped; others mean running.
    :param bulk_endpoint: endpoint of the bulk statuses read, or None.
    :param bulk_param: its query parameter of comma-separated ids.
    :param bulk_id_field: where a bulk entry carries the id.
    :param bulk_statuses: every documented bulk status, mapped; others mean running.
    :param video_url_path: where a status answer's ``data`` holds the output URL.
    :param failure_paths: where a status answer's ``data`` holds the failure reason, first found wins.
    :param failure_code_paths: where it holds HeyGen's machine-readable failure code, first found wins.
    :param idempotent_creates: whether creates take ``Idempotency-Key`` (safe to repeat).
    :param delete_endpoint: endpoint template of ``DELETE``, with ``{id}``, or None.
    :param statusless: a kind whose single read carries no status: an answer means completed.
    :param description: the kind in a few words, for messages.
    """

    name: str
    api: str
    create_endpoint: str
    id_field: str
    status_endpoint: str
    single_statuses: Mapping[str, JobStatus]
    video_url_path: tuple[str, ...]
    failure_paths: tuple[tuple[str, ...], ...]
    description: str
    failure_code_paths: tuple[tuple[str, ...], ...] = (("failure_code",),)
    ids_are_list: bool = False
    single_id_field: str = "id"
    bulk_endpoint: str | None = None
    bulk_param: str | None = None
    bulk_id_field: str = BULK_ID_FIELD
    bulk_statuses: Mapping[str, JobStatus] = field(default_factory=lambda: dict(BULK_STATUSES))
    idempotent_creates: bool = True
    delete_endpoint: str | None = None
    statusless: bool = False

    def status_path(self, job_id: str) -> str:
        """The endpoint of one job's status."""
        return self.status_endpoint.format(id=job_id)

    def delete_path(self, job_id: str) -> str:
        """The endpoint deleting one job; raises for a kind without one."""
        if self.delete_endpoint is None:
            raise ValueError(f"HeyGen has no delete endpoint for {self.description}s")
        return self.delete_endpoint.format(id=job_id)


def _v3(name: str, resource: str, id_field: str, bulk_param: str, **row: Any) -> JobKind:
    return JobKind(
        name=name,
        api="v3",
        create_endpoint=f"v3/{resource}",
        id_field=id_field,
        status_endpoint=f"v3/{resource}/{{id}}",
        bulk_endpoint=f"v3/{resource}/statuses",
        bulk_param=bulk_param,
        delete_endpoint=f"v3/{resource}/{{id}}",
        **row,
    )


WORKFLOW = JobKind(
    name="workflow",
    api="workflows",
    create_endpoint="v1/workflows/executions",
    id_field="execution_id",
    status_endpoint="v1/workflows/executions/{id}",
    single_id_field="execution_id",
    single_statuses={
        "submitted": P,
        "processing": R,
        "running": R,
        "completed": C,
        "failed": F,
        "not_found": N,
    },
    video_url_path=("output", "video_url"),
    failure_paths=(("error", "message"), ("error",)),
    failure_code_paths=(BULK_FAILURE_CODE_PATH,),
    bulk_statuses={},
    idempotent_creates=False,
    description="workflow execution",
)
VIDEO = _v3(
    "video",
    "videos",
    "video_id",
    "video_ids",
    # "waiting": the initial status a create answers (HeyGen's CLI, 2026-07), not in the read enum; a
    # video not yet started, so pending, said explicitly rather than left to the unknown-means-running rule.
    single_statuses={"waiting": P, "pending": P, "processing": R, "completed": C, "failed": F},
    video_url_path=("video_url",),
    failure_paths=(("failure_message",), ("failure_code",)),
    description="video",
)
LIPSYNC = _v3(
    "lipsync",
    "lipsyncs",
    "lipsync_id",
    "lipsync_ids",
    single_statuses={"pending": P, "running": R, "completed": C, "failed": F},
    video_url_path=("video_url",),
    failure_paths=(("failure_message",),),
    description="lip-sync",
)
VIDEO_TRANSLATION = _v3(
    "video_translation",
    "video-translations",
    "video_translation_ids",
    "video_translation_ids",
    ids_are_list=True,
    single_statuses={"pending": P, "running": R, "completed": C, "failed": F},
    video_url_path=("video_url",),
    failure_paths=(("failure_message",),),
    description="video translation",
)
ASSET = _v3(
    "asset",
    "assets",
    "asset_id",
    "asset_ids",
    single_statuses={},
    statusless=True,
    video_url_path=("url",),
    failure_paths=(),
    description="asset",
)

KINDS: Mapping[str, JobKind] = {
    kind.name: kind for kind in (WORKFLOW, VIDEO, LIPSYNC, VIDEO_TRANSLATION, ASSET)
}


def job_kind(name: str | JobKind) -> JobKind:
    """
    The row of a kind.

    :param name: a kind's name (``video``) or its row.
    :raises ValueError: for an unknown kind, naming the known ones.
    """
    if isinstance(name, JobKind):
        return name
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown HeyGen job kind {name!r}; known: {', '.join(KINDS)}") from None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Job:
    """
    One HeyGen job of any kind, as a status read reported it.

    :param kind: the kind's name.
    :param id: HeyGen's id of the job.
    :param status: the normalised status (unknown values are ``RUNNING``).
    :param raw_status: the status exactly as HeyGen sent it.
    :param video_url: the output URL, once there is one.
    :param failure: HeyGen's reason of a failed job.
    :param failure_code: HeyGen's machine-readable code of a failed job, if it sent one.
    :param output: the whole ``data`` object of the read (a bulk entry, for bulk reads).
    :param read_at: ``time.monotonic()`` when the request that answered was sent, where the reader
        knows it (bulk reads): a trigger schedules its next read from it. Not part of the result.
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

    @property
    def failed(self) -> Failure | None:
        """Why the job failed or vanished; None while it runs or once it completed."""
        if self.status not in (JobStatus.FAILED, JobStatus.NOT_FOUND):
            return None
        return Failure(self.failure_code, self.failure, not_found=self.status is JobStatus.NOT_FOUND)

    def to_result(self) -> dict[str, Any]:
        """The operators' result (XCom): ``{"kind", "id", "status", "video_url", "output"}``."""
        return {
            "kind": self.kind,
            "id": self.id,
            "status": self.status.value,
            "video_url": self.video_url,
            "output": self.output,
        }

    @classmethod
    def from_result(cls, result: Mapping[str, Any]) -> Job:
        """Rebuild a job from :meth:`to_result`'s dict (as a trigger event carries it)."""
        output = result.get("output")
        output = dict(output) if isinstance(output, Mapping) else {}
        row = KINDS.get(str(result.get("kind")))
        paths = (*(row.failure_paths if row else ()), BULK_FAILURE_PATH)
        code_paths = (*(row.failure_code_paths if row else ()), BULK_FAILURE_CODE_PATH)
        return cls(
            kind=str(result.get("kind")),
            id=str(result.get("id")),
            status=JobStatus(result.get("status", "running")),
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
    output = data.get("output")
    # A workflow keeps its URL where its type puts it (output.video_url, output.video.video_url, or the
    # OpenAPI's generic output.url): the one lookup the workflows hooks use too.
    video_url = (
        find_video_url(output, _text(data.get("workflow_type")))
        if row.api == "workflows" and isinstance(output, Mapping)
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
    return Job(
        kind=row.name,
        id=str(entry.get(row.bulk_id_field) or ""),
        status=status,
        raw_status=_text(raw),
        failure=_text(dig(entry, BULK_FAILURE_PATH)) if status is JobStatus.FAILED else None,
        output=dict(entry),
        failure_code=_text(dig(entry, BULK_FAILURE_CODE_PATH)) if status is JobStatus.FAILED else None,
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
