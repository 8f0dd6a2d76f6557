"""Data shapes of v3 jobs and batches, as stored on disk, with their status vocabularies."""

from __future__ import annotations

import enum
import secrets
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from airflow_heygen.emulator.models import ExecutionStatus
from airflow_heygen.emulator.render.landmarks import EngineChoice
from airflow_heygen.emulator.tasks import RenderKind, RenderOutcome, RenderTask


class JobKind(str, enum.Enum):
    """The v3 resources that render; the value is also the stats key."""

    VIDEO = "video"
    LIPSYNC = "lipsync"
    VIDEO_TRANSLATION = "video_translation"


# Single reads speak per resource (videos say "processing", lip-syncs and translations "running");
# bulk statuses and batch items say "queued" for what single reads call "pending".
_SINGLE_STATUS = {
    JobKind.VIDEO: {
        ExecutionStatus.SUBMITTED: "pending",
        ExecutionStatus.RUNNING: "processing",
        ExecutionStatus.COMPLETED: "completed",
        ExecutionStatus.FAILED: "failed",
    },
    JobKind.LIPSYNC: {
        ExecutionStatus.SUBMITTED: "pending",
        ExecutionStatus.RUNNING: "running",
        ExecutionStatus.COMPLETED: "completed",
        ExecutionStatus.FAILED: "failed",
    },
}
_SINGLE_STATUS[JobKind.VIDEO_TRANSLATION] = _SINGLE_STATUS[JobKind.LIPSYNC]
_BULK_STATUS = {
    ExecutionStatus.SUBMITTED: "queued",
    ExecutionStatus.RUNNING: "processing",
    ExecutionStatus.COMPLETED: "completed",
    ExecutionStatus.FAILED: "failed",
}
BULK_NOT_FOUND = "not_found"


def new_v3_id() -> str:
    """A fresh id shaped like HeyGen's v3 ids: 32 hex digits."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class V3Job:
    """
    One v3 video, lip-sync or video translation (one output language).

    :param job_id: 32 hex digits.
    :param kind: which resource it is.
    :param render_kind: which renderer runs it.
    :param input: the renderer's input (resolved media and options).
    :param meta: what reads show back (title, callback_id, folder_id, languages, ...).
    :param status: where it is in its lifecycle.
    :param created_at: Unix time of creation.
    :param updated_at: Unix time of the last status change.
    :param ready_at: Unix time before which it does not complete (injected latency).
    :param inject_failure: whether fault injection makes it fail.
    :param injected_code: the failure code fault injection chose (``internal_error`` when None).
    :param batch_id: the batch that created it, if any.
    :param item_index: its item's index in that batch.
    :param output_file: name of the mp4 under ``<data dir>/media`` once completed.
    :param caption_file: name of the SRT under ``<data dir>/media`` (translations).
    :param duration: output duration in seconds once completed.
    :param completed_at: Unix time it completed or failed.
    :param error_message: failure reason once failed.
    :param error_code: failure code once failed (see :class:`~airflow_heygen.emulator.failures.FailureCode`).
    """

    job_id: str
    kind: JobKind
    render_kind: RenderKind
    input: dict[str, Any]
    meta: dict[str, Any]
    status: ExecutionStatus
    created_at: float
    updated_at: float
    ready_at: float
    inject_failure: bool = False
    injected_code: str | None = None
    batch_id: str | None = None
    item_index: int | None = None
    output_file: str | None = None
    caption_file: str | None = None
    duration: float | None = None
    completed_at: float | None = None
    error_message: str | None = None
    error_code: str | None = None

    @property
    def record_id(self) -> str:
        """The id its JSON file is named after."""
        return self.job_id

    @property
    def label(self) -> str:
        """What the logs call this kind of job."""
        return f"v3 {self.kind.value}"

    @property
    def single_status(self) -> str:
        """The status a single read shows."""
        return _SINGLE_STATUS[self.kind][self.status]

    @property
    def bulk_status(self) -> str:
        """The status bulk statuses and batch items show."""
        return _BULK_STATUS[self.status]

    def with_status(self, status: ExecutionStatus, now: float, **changes: Any) -> V3Job:
        """
        A copy in a new status.

        :param status: the new status.
        :param now: Unix time of the change.
        :param changes: other fields to change.
        """
        if status.is_final:
            changes.setdefault("completed_at", now)
        return replace(self, status=status, updated_at=now, **changes)

    def completed(self, now: float, output_file: str, outcome: RenderOutcome) -> V3Job:
        """
        A copy that completed with a rendered output.

        :param now: Unix time of completion.
        :param output_file: the mp4's name under ``<data dir>/media``.
        :param outcome: what the render reported.
        """
        return self.with_status(
            ExecutionStatus.COMPLETED,
            now,
            output_file=output_file,
            caption_file=outcome.caption_file,
            duration=outcome.duration,
        )

    def render_task(self, data_dir: Path, output: Path, engine: EngineChoice) -> RenderTask:
        """
        The render a worker runs for this job.

        :param data_dir: the emulator data dir.
        :param output: where the mp4 must appear.
        :param engine: the face engine choice.
        """
        return RenderTask(self.job_id, self.render_kind, self.input, data_dir, output, engine)

    def to_record(self) -> dict[str, Any]:
        """The JSON record stored on disk."""
        record = asdict(self)
        record["kind"] = self.kind.value
        record["render_kind"] = self.render_kind.value
        record["status"] = self.status.value
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> V3Job:
        """
        Rebuild from a stored record.

        :param record: what :meth:`to_record` returned.
        """
        values = dict(record)
        values["kind"] = JobKind(values["kind"])
        values["render_kind"] = RenderKind(values["render_kind"])
        values["status"] = ExecutionStatus(values["status"])
        return cls(**values)


@dataclass(frozen=True)
class BatchItem:
    """
    One job of a batch.

    :param item_index: the index of the item in the batch body (translations: one job per language,
        so several jobs can share an index).
    :param job_id: the job it created.
    """

    item_index: int
    job_id: str


@dataclass(frozen=True)
class V3Batch:
    """
    A batch of creates.

    :param batch_id: 32 hex digits.
    :param kind: what its items create.
    :param created_at: Unix time of creation.
    :param title: its title, if given.
    :param callback_url: its callback URL, if given (never called: the emulator sends no webhooks).
    :param items: the jobs, in item order.
    """

    batch_id: str
    kind: JobKind
    created_at: float
    title: str | None = None
    callback_url: str | None = None
    items: list[BatchItem] = field(default_factory=list)

    @property
    def record_id(self) -> str:
        """The id its JSON file is named after."""
        return self.batch_id

    def to_record(self) -> dict[str, Any]:
        """The JSON record stored on disk."""
        record = asdict(self)
        record["kind"] = self.kind.value
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> V3Batch:
        """
        Rebuild from a stored record.

        :param record: what :meth:`to_record` returned.
        """
        values = dict(record)
        values["kind"] = JobKind(values["kind"])
        values["items"] = [BatchItem(**item) for item in values.get("items", [])]
        return cls(**values)
