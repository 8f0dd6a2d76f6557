"""
The one table of HeyGen job kinds: where each kind is created, where its id and status are, what its
statuses mean, where its video and failure reason are, and whether its creates take an
``Idempotency-Key``.

Hooks, the trigger, the sensor, the operators and the contract tests read this table: a new HeyGen
job kind is a new :class:`JobKind` row (plus an operator), not a new code path. A job's status is
read in exactly two places of :mod:`airflow_heygen.job`: ``job_from_single`` (the answer of
``GET <status endpoint>``) and ``job_from_bulk_entry`` (one entry of
``GET <bulk endpoint>?<bulk param>=a,b``).
A workflows execution is the ``workflow`` row: the workflows API has no model of its own.

Importing this module is cheap (no HTTP library): operators use it at DAG parse time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


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


class WorkflowType(str, Enum):
    """The workflow types HeyGen documents; the generic operator accepts others as plain strings."""

    FACESWAP = "FaceswapNode"
    AVATAR_INFERENCE = "AvatarInferenceNode"


# Where each workflow type keeps its video URL inside an execution's ``output``; for other types, the
# shapes seen so far in order (``url``: the generic output of HeyGen's OpenAPI description).
VIDEO_URL_PATHS: Mapping[str, tuple[str, ...]] = {
    WorkflowType.FACESWAP.value: ("video_url",),
    WorkflowType.AVATAR_INFERENCE.value: ("video", "video_url"),
}
FALLBACK_VIDEO_URL_PATHS: tuple[tuple[str, ...], ...] = (("video_url",), ("video", "video_url"), ("url",))


def dig(value: Any, path: tuple[str, ...]) -> Any:
    """``value[path[0]][path[1]]...``, or None where a step is missing (HeyGen's answers nest freely)."""
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def find_video_url(output: Any, workflow_type: str | None) -> str | None:
    """
    The video URL inside a workflow execution's ``output``, or None when it has none.

    :param output: the ``data.output`` object of a completed execution.
    :param workflow_type: the workflow type, when known; it selects where to look first.
    """
    known = VIDEO_URL_PATHS.get(workflow_type or "")
    for path in (known, *FALLBACK_VIDEO_URL_PATHS) if known else FALLBACK_VIDEO_URL_PATHS:
        url = dig(output, path)
        if isinstance(url, str) and url:
            return url
    return None


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
    :param pending_name: what results call a job not started yet (the workflows API: ``submitted``).
    :param not_found_message: the reason given for a job HeyGen does not know, where it has words for it.
    :param resume_hint: the sensor that resumes waiting for one job, with ``{kind}`` and ``{id}``.
    :param batch_endpoint: endpoint of the batch create (up to 100 bodies in one POST), or None.
    :param batch_field: the batch body's list of create bodies.
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
    pending_name: str = JobStatus.PENDING.value
    not_found_message: str | None = None
    resume_hint: str = "HeyGenJobSensor(task_id=..., kind={kind!r}, job_id={id!r})"
    batch_endpoint: str | None = None
    batch_field: str | None = None

    def status_path(self, job_id: str) -> str:
        """The endpoint of one job's status."""
        return self.status_endpoint.format(id=job_id)

    def resume_with(self, job_id: str) -> str:
        """The sensor call that waits for ``job_id`` again (a timed-out or cut-off wait)."""
        return self.resume_hint.format(kind=self.name, id=job_id)

    def batch_path(self, batch_id: str) -> str:
        """The endpoint reading one batch (its items' job ids, paged); raises for a kind without batches."""
        if self.batch_endpoint is None:
            raise ValueError(f"HeyGen has no batch creates for {self.description}s")
        return f"{self.batch_endpoint}/{batch_id}"

    def delete_path(self, job_id: str) -> str:
        """The endpoint deleting one job; raises for a kind without one."""
        if self.delete_endpoint is None:
            raise ValueError(f"HeyGen has no delete endpoint for {self.description}s")
        return self.delete_endpoint.format(id=job_id)


def _v3(name: str, resource: str, id_field: str, bulk_param: str, **row: Any) -> JobKind:
    row.setdefault("batch_endpoint", f"v3/{resource}/batches")
    row.setdefault("batch_field", resource.replace("-", "_"))
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
    pending_name="submitted",
    not_found_message="Workflow not found",  # the guide's words
    resume_hint="HeyGenExecutionSensor(task_id=..., execution_id={id!r})",
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
    batch_endpoint=None,  # asset batches are direct uploads, not creates
    batch_field=None,
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


# What a campaign (HeyGenCampaignOperator's ``kind``) creates per item: a row and, for the workflows
# API, the workflow type.
CAMPAIGN_KINDS: Mapping[str, tuple[JobKind, str | None]] = {
    "faceswap": (WORKFLOW, WorkflowType.FACESWAP.value),
    "avatar_inference": (WORKFLOW, WorkflowType.AVATAR_INFERENCE.value),
    "video": (VIDEO, None),
    "lipsync": (LIPSYNC, None),
    "video_translation": (VIDEO_TRANSLATION, None),
}
