"""Data shapes of executions, as stored on disk and as shown by the API."""

from __future__ import annotations

import enum
import secrets
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from airflow_heygen.emulator.render.landmarks import EngineChoice
from airflow_heygen.emulator.tasks import RenderKind, RenderOutcome, RenderTask


class WorkflowType(str, enum.Enum):
    """The workflow types the emulator runs."""

    FACESWAP = "FaceswapNode"
    AVATAR_INFERENCE = "AvatarInferenceNode"


class ExecutionStatus(str, enum.Enum):
    """Lifecycle of an execution: submitted -> processing -> completed | failed."""

    SUBMITTED = "submitted"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        """True for completed and failed."""
        return self in (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED)


def new_execution_id() -> str:
    """A fresh id shaped like HeyGen's: ``node-gw-`` and 12 hex digits."""
    return f"node-gw-{secrets.token_hex(6)}"


@dataclass(frozen=True)
class Execution:
    """
    One workflow execution.

    :param execution_id: ``node-gw-<12 hex>``.
    :param workflow_type: the workflow that runs.
    :param input: the submitted ``input`` object.
    :param status: where it is in its lifecycle.
    :param created_at: Unix time of submission.
    :param updated_at: Unix time of the last status change.
    :param ready_at: Unix time before which it does not complete (injected latency).
    :param inject_failure: whether fault injection makes it fail.
    :param output_file: name of the output file under ``<data dir>/media`` once completed.
    :param duration: output video duration in seconds once completed.
    :param error_message: failure reason once failed.
    """

    execution_id: str
    workflow_type: WorkflowType
    input: dict[str, Any]
    status: ExecutionStatus
    created_at: float
    updated_at: float
    ready_at: float
    inject_failure: bool = False
    output_file: str | None = None
    duration: float | None = None
    error_message: str | None = None

    @property
    def record_id(self) -> str:
        """The id its JSON file is named after."""
        return self.execution_id

    @property
    def job_id(self) -> str:
        """The id the job runner queues."""
        return self.execution_id

    @property
    def label(self) -> str:
        """What the logs call this kind of job."""
        return self.workflow_type.value

    def render_task(self, data_dir: Path, output: Path, engine: EngineChoice) -> RenderTask:
        """
        The render a worker runs for this execution.

        :param data_dir: the emulator data dir.
        :param output: where the mp4 must appear.
        :param engine: the face engine choice.
        """
        kind = (
            RenderKind.FACESWAP
            if self.workflow_type is WorkflowType.FACESWAP
            else RenderKind.AVATAR_INFERENCE
        )
        return RenderTask(self.execution_id, kind, self.input, data_dir, output, engine)

    def completed(self, now: float, output_file: str, outcome: RenderOutcome) -> Execution:
        """
        A copy that completed with a rendered output.

        :param now: Unix time of completion.
        :param output_file: the mp4's name under ``<data dir>/media``.
        :param outcome: what the render reported.
        """
        return self.with_status(
            ExecutionStatus.COMPLETED, now, output_file=output_file, duration=outcome.duration
        )

    def with_status(self, status: ExecutionStatus, now: float, **changes: Any) -> Execution:
        """
        A copy in a new status.

        :param status: the new status.
        :param now: Unix time of the change.
        :param changes: other fields to change.
        """
        return replace(self, status=status, updated_at=now, **changes)

    def to_record(self) -> dict[str, Any]:
        """The JSON record stored on disk."""
        record = asdict(self)
        record["workflow_type"] = self.workflow_type.value
        record["status"] = self.status.value
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Execution:
        """
        Rebuild from a stored record.

        :param record: what :meth:`to_record` returned.
        """
        values = dict(record)
        values["workflow_type"] = WorkflowType(values["workflow_type"])
        values["status"] = ExecutionStatus(values["status"])
        return cls(**values)

    def to_api(self, public_base: str) -> dict[str, Any]:
        """
        The ``data`` object of ``GET /v1/workflows/executions/{id}``.

        :param public_base: scheme and host of output URLs, without a trailing slash.
        """
        data: dict[str, Any] = {
            "execution_id": self.execution_id,
            "workflow_type": self.workflow_type.value,
            "status": self.status.value,
            "created_at": round(self.created_at, 3),
            "updated_at": round(self.updated_at, 3),
        }
        if self.status is ExecutionStatus.COMPLETED and self.output_file:
            url = f"{public_base}/media/{self.output_file}"
            if self.workflow_type is WorkflowType.AVATAR_INFERENCE:
                data["output"] = {"video": {"video_url": url, "duration": self.duration}}
            else:
                data["output"] = {"video_url": url}
        if self.status is ExecutionStatus.FAILED:
            data["error"] = {"message": self.error_message or "Face swap failed"}
        return data
