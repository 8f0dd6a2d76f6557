"""Data shapes of HeyGen's workflows API: workflow types, execution statuses and executions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_heygen.failures import Failure


class WorkflowType(str, Enum):
    """The workflow types HeyGen documents; the generic operator accepts others as plain strings."""

    FACESWAP = "FaceswapNode"
    AVATAR_INFERENCE = "AvatarInferenceNode"


class ExecutionStatus(str, Enum):
    """
    Status of a workflow execution.

    HeyGen documents ``submitted``, ``completed``, ``failed`` and ``not_found``; any other value
    means the execution is still being worked on, so it maps to ``RUNNING``.
    """

    SUBMITTED = "submitted"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    NOT_FOUND = "not_found"

    @classmethod
    def parse(cls, raw: object) -> ExecutionStatus:
        """Map a raw status from HeyGen onto the enum; unknown or missing values mean still running."""
        if isinstance(raw, str):
            try:
                return cls(raw.strip().lower())
            except ValueError:
                pass
        return cls.RUNNING

    @property
    def is_terminal(self) -> bool:
        """Whether the execution will not change any more."""
        return self in (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.NOT_FOUND)


# The one place that knows where each workflow type keeps its video URL inside ``output``.
VIDEO_URL_PATHS: dict[str, tuple[str, ...]] = {
    WorkflowType.FACESWAP.value: ("video_url",),
    WorkflowType.AVATAR_INFERENCE.value: ("video", "video_url"),
}
# For workflow types we do not know (or when the type is unknown), the shapes seen so far, in order;
# ``url`` is the generic output of HeyGen's OpenAPI description of the workflows API (``output.url``).
FALLBACK_VIDEO_URL_PATHS: tuple[tuple[str, ...], ...] = (("video_url",), ("video", "video_url"), ("url",))


def dig(value: Any, path: tuple[str, ...]) -> Any:
    """``value[path[0]][path[1]]...``, or None where a step is missing (HeyGen's answers nest freely)."""
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def find_video_url(output: Mapping[str, Any], workflow_type: str | None) -> str | None:
    """
    Return the video URL inside an execution's ``output``, or None when it has none.

    :param output: the ``data.output`` object of a completed execution.
    :param workflow_type: the workflow type, when known; it selects where to look first.
    """
    known = VIDEO_URL_PATHS.get(workflow_type or "")
    paths = (known, *FALLBACK_VIDEO_URL_PATHS) if known else FALLBACK_VIDEO_URL_PATHS
    for path in paths:
        url = dig(output, path)
        if isinstance(url, str) and url:
            return url
    return None


@dataclass(frozen=True)
class Execution:
    """
    One workflow execution as HeyGen reports it.

    :param execution_id: HeyGen's id of the execution.
    :param status: the status, normalised (unknown statuses are ``RUNNING``).
    :param workflow_type: the workflow type, where known.
    :param output: the ``output`` object of a completed execution (empty otherwise).
    :param error_message: HeyGen's error message for a failed execution.
    :param raw_status: the status string exactly as HeyGen sent it, for logs.
    :param error_code: HeyGen's machine-readable failure code (``error.code``) of a failed execution.
    """

    execution_id: str
    status: ExecutionStatus
    workflow_type: str | None = None
    output: dict[str, Any] = field(default_factory=dict)
    error_message: str | None = None
    raw_status: str | None = None
    error_code: str | None = None

    @property
    def failed(self) -> Failure | None:
        """Why the execution failed or vanished; None while it runs or once it completed."""
        from airflow_heygen.failures import Failure

        if self.status not in (ExecutionStatus.FAILED, ExecutionStatus.NOT_FOUND):
            return None
        return Failure(
            self.error_code, self.error_message, not_found=self.status is ExecutionStatus.NOT_FOUND
        )

    @property
    def video_url(self) -> str | None:
        """URL of the finished video, wherever this workflow type keeps it."""
        return find_video_url(self.output, self.workflow_type)

    @classmethod
    def from_data(cls, data: Mapping[str, Any], execution_id: str, workflow_type: str | None) -> Execution:
        """
        Build an execution from the ``data`` object of a status response.

        Missing or wrongly typed fields never raise: a missing status reads as still running, a
        non-object ``output`` as empty.

        :param data: the response's ``data`` object.
        :param execution_id: the id that was asked for, used when ``data`` lacks one.
        :param workflow_type: the workflow type, used when ``data`` lacks one.
        """
        raw_status = data.get("status")
        output = data.get("output")
        error = data.get("error")
        error_message = error.get("message") if isinstance(error, Mapping) else error
        error_code = error.get("code") if isinstance(error, Mapping) else None
        reported_id = data.get("execution_id")
        reported_type = data.get("workflow_type")
        return cls(
            execution_id=reported_id if isinstance(reported_id, str) and reported_id else execution_id,
            status=ExecutionStatus.parse(raw_status),
            workflow_type=reported_type
            if isinstance(reported_type, str) and reported_type
            else workflow_type,
            output=dict(output) if isinstance(output, Mapping) else {},
            error_message=str(error_message) if error_message else None,
            raw_status=raw_status if isinstance(raw_status, str) else None,
            error_code=error_code if isinstance(error_code, str) and error_code else None,
        )

    def to_result(self) -> dict[str, Any]:
        """
        The operator's return value (XCom ``return_value``): JSON-serialisable. A failed execution's
        (as a trigger event carries it) adds ``error``: ``{"code", "message"}``.
        """
        result = {
            "execution_id": self.execution_id,
            "workflow_type": self.workflow_type,
            "status": self.status.value,
            "video_url": self.video_url,
            "output": self.output,
        }
        if self.status is ExecutionStatus.FAILED:
            result["error"] = {"code": self.error_code, "message": self.error_message}
        return result

    @classmethod
    def from_result(cls, result: Mapping[str, Any]) -> Execution:
        """Rebuild an execution from :meth:`to_result`'s dict (as carried by a trigger event)."""
        error = result.get("error")
        error = error if isinstance(error, Mapping) else {}
        return cls(
            execution_id=str(result["execution_id"]),
            status=ExecutionStatus.parse(result.get("status")),
            workflow_type=result.get("workflow_type"),
            output=dict(result.get("output") or {}),
            error_message=error.get("message") or None,
            error_code=error.get("code") or None,
        )
