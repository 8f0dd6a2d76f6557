"""Data shapes of executions, as stored on disk and as shown by the API."""

from __future__ import annotations

import enum
import secrets
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from airflow_heygen.emulator.failures import FailureCode
from airflow_heygen.emulator.render.landmarks import EngineChoice
from airflow_heygen.emulator.tasks import RenderKind, RenderOutcome, RenderTask


class WorkflowType(str, enum.Enum):
    """The workflow types the emulator runs."""

    FACESWAP = "FaceswapNode"
    AVATAR_INFERENCE = "AvatarInferenceNode"


class ExecutionStatus(str, enum.Enum):
    """
    Lifecycle of a job: submitted -> running -> completed | failed.

    The values are the workflows API's words (HeyGen's OpenAPI description of
    ``GET /v1/workflows/executions/{id}``); v3 reads translate them into their own vocabularies.
    """

    SUBMITTED = "submitted"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

    @classmethod
    def _missing_(cls, value: object) -> ExecutionStatus | None:
        # Data dirs written before the emulator spoke HeyGen's words stored "processing": they still load.
        return cls.RUNNING if value == _LEGACY_RUNNING else None

    @property
    def is_final(self) -> bool:
        """True for completed and failed."""
        return self in (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED)


_LEGACY_RUNNING = "processing"


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
    :param injected_code: the failure code fault injection chose (``internal_error`` when None).
    :param output_file: name of the output file under ``<data dir>/media`` once completed.
    :param duration: output video duration in seconds once completed.
    :param error_message: failure reason once failed.
    :param error_code: failure code once failed (see :class:`~airflow_heygen.emulator.failures.FailureCode`).
    """

    execution_id: str
    workflow_type: WorkflowType
    input: dict[str, Any]
    status: ExecutionStatus
    created_at: float
    updated_at: float
    ready_at: float
    inject_failure: bool = False
    injected_code: str | None = None
    output_file: str | None = None
    duration: float | None = None
    error_message: str | None = None
    error_code: str | None = None

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

    @property
    def render_kind(self) -> RenderKind:
        """Which renderer runs it."""
        if self.workflow_type is WorkflowType.FACESWAP:
            return RenderKind.FACESWAP
        return RenderKind.AVATAR_INFERENCE

    def render_task(self, data_dir: Path, output: Path, engine: EngineChoice) -> RenderTask:
        """
        The render a worker runs for this execution.

        :param data_dir: the emulator data dir.
        :param output: where the mp4 must appear.
        :param engine: the face engine choice.
        """
        return RenderTask(self.execution_id, self.render_kind, self.input, data_dir, output, engine)

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
        The ``data`` object of ``GET /v1/workflows/executions/{id}``: HeyGen's
        ``WorkflowExecutionDetailResponse`` (``execution_id``, ``status``, ``output``, ``outputs`` and
        ``error``, the last three null unless set), plus the emulator's own ``workflow_type``,
        ``created_at`` and ``updated_at``.

        :param public_base: scheme and host of output URLs, without a trailing slash.
        """
        data: dict[str, Any] = {
            "execution_id": self.execution_id,
            "workflow_type": self.workflow_type.value,
            "status": self.status.value,
            # Null, as HeyGen's schema defaults them, until the execution completes or fails;
            # ``outputs`` stays null: it belongs to graph executions, which the emulator does not run.
            "output": None,
            "outputs": None,
            "error": None,
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
            # HeyGen's WorkflowExecutionError: {code, message}, both required. Records written before
            # failures had codes read as internal_error.
            data["error"] = {
                "code": self.error_code or FailureCode.INTERNAL_ERROR.value,
                "message": self.error_message or "Face swap failed",
            }
        return data
