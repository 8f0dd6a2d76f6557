"""
Operators that run HeyGen workflows: a generic one and one per documented workflow type.

Importing this module stays cheap for DAG parsing: the hook (requests, aiohttp) and the trigger are
imported when a task runs, not when a DAG file is parsed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from airflow_heygen.exceptions import HeyGenInputError, HeyGenNoAnswerError
from airflow_heygen.models import Execution, ExecutionStatus, WorkflowType
from airflow_heygen.operators._common import HeyGenSubmitOperator
from airflow_heygen.state import Submission, SubmissionRecord
from airflow_heygen.task_base import (
    DEFAULT_CONN_ID,
    HeyGenTaskMixin,
    default_deferrable,
    in_doubt_error,
    no_memory_error,
)
from airflow_heygen.validation import require_http_url, require_text, validate_workflow

if TYPE_CHECKING:
    from airflow.sdk import Context

# Kept importable from here, where earlier releases defined them.
ExecutionRecord = SubmissionRecord
__all__ = [
    "DEFAULT_CONN_ID",
    "AvatarInferenceOperator",
    "ExecutionRecord",
    "FaceswapOperator",
    "HeyGenLipsyncOperator",
    "HeyGenPublishVideoOperator",
    "HeyGenTaskMixin",
    "HeyGenUploadAssetOperator",
    "HeyGenVideoOperator",
    "HeyGenVideoTranslationOperator",
    "HeyGenWorkflowOperator",
    "default_deferrable",
]


class HeyGenWorkflowOperator(HeyGenSubmitOperator):
    """
    Run any HeyGen workflow: submit it, then wait for its execution (in the triggerer if deferrable).

    Returns ``{"execution_id", "workflow_type", "status", "video_url", "output"}`` (XCom
    ``return_value``, and each key as its own XCom, so ``task.output["video_url"]`` feeds the next
    task); the execution id is pushed as XCom ``execution_id`` as soon as it is known. Inputs are
    checked before anything is sent.

    Never pays twice: with ``durable=True`` an in-flight marker is saved in ``task_state_store`` before
    the submission and replaced by the execution id when HeyGen answers. A new try of the task
    reattaches to a running execution, returns a completed one, submits again after ``not_found`` or
    a transient failure, and refuses to guess when it finds a marker without an id (an answer was
    lost). An execution that failed for good (bad media, no face, invalid input, an unknown reason)
    fails the task without retries unless ``resubmit_failed=True`` (:mod:`airflow_heygen.failures`).
    The record is cleared when the task succeeds, so clearing a succeeded task makes a new video.

    :param workflow_type: HeyGen workflow type, e.g. ``"FaceswapNode"`` (templated).
    :param input: the workflow's ``input`` object (templated).
    :param heygen_conn_id: id of the HeyGen connection (templated).
    :param wait_for_completion: wait for the execution; if False, return right after submission.
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param poll_interval: seconds between status polls.
    :param timeout: seconds to wait for the execution before failing (it keeps running at HeyGen; resume
        with :class:`~airflow_heygen.sensors.heygen.HeyGenExecutionSensor`).
    :param durable: remember the execution id across tries in ``task_state_store`` (Airflow 3.3+).
    :param resubmit_unconfirmed: submit again even though an earlier try's submission got no answer
        (HeyGen may then run, and charge, two jobs). Off by default: such a try fails without retries,
        saying which request may exist at HeyGen.
    :param resubmit_failed: let a retry pay for a new execution after one that failed for good.
    :param check_inputs: check every input URL with a bounded HEAD before submitting (4xx: fail).
    """

    template_fields: Sequence[str] = ("workflow_type", "input", "heygen_conn_id")
    template_fields_renderers = {"input": "json"}

    def __init__(self, *, workflow_type: str, input: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workflow_type = workflow_type
        self.input = input if input is not None else {}
        self.execution_id: str | None = None

    def workflow_input(self) -> Mapping[str, Any]:
        """The workflow's ``input`` object, after templating; subclasses build it from their arguments."""
        return self.input

    def _record(self, context: Context) -> tuple[str, Mapping[str, Any], SubmissionRecord]:
        """The checked request and this task instance's record of its submission."""
        workflow_type, workflow_input = validate_workflow(self.workflow_type, self.workflow_input())
        record = SubmissionRecord.for_task(
            context,
            durable=self.durable,
            request={"workflow_type": workflow_type, "input": workflow_input},
            description=f"{workflow_type} workflow",
        )
        return workflow_type, workflow_input, record

    def execute(self, context: Context) -> dict[str, Any]:
        """Submit the workflow (or reattach to this task's earlier execution) and wait for it."""
        workflow_type, workflow_input, record = self._record(context)
        try:
            with self.reporting_failures():
                return self._execute(context, workflow_type, workflow_input, record)
        finally:
            self.close_hook()

    def _execute(
        self,
        context: Context,
        workflow_type: str,
        workflow_input: Mapping[str, Any],
        record: SubmissionRecord,
    ) -> dict[str, Any]:
        earlier = self._earlier_execution(record, workflow_type, context)
        if earlier is not None and earlier.status is ExecutionStatus.COMPLETED:
            self.execution_id = earlier.execution_id
            result = self.finish(earlier)
            record.clear()
            return result
        if earlier is not None:
            self.execution_id = earlier.execution_id
        else:
            self.check_input_urls(workflow_input, "input")
            self.execution_id = self._submit(record, workflow_type, workflow_input, context)
        context["ti"].xcom_push(key="execution_id", value=self.execution_id)
        if not self.wait_for_completion:
            # This task's job was the submission: once it succeeds, clearing it makes a new video.
            record.clear()
            status = earlier.status if earlier is not None else ExecutionStatus.SUBMITTED
            return Execution(self.execution_id, status, workflow_type).to_result()
        result = self.wait(self.execution_id, workflow_type)
        record.clear()
        return result

    def _submit(
        self,
        record: SubmissionRecord,
        workflow_type: str,
        workflow_input: Mapping[str, Any],
        context: Context,
    ) -> str:
        """
        Submit with the in-flight marker around it: the answer replaces the marker with the id, a
        certain refusal removes it, and a lost answer leaves it and fails the task without retries
        (a retry could only guess), unless ``resubmit_unconfirmed`` asks for a retry that submits again.
        """
        record.mark_in_flight()
        try:
            execution_id = self.hook.submit_workflow(workflow_type, workflow_input)
        except HeyGenNoAnswerError as err:
            if self.resubmit_unconfirmed:
                raise
            if not record.kept:
                raise no_memory_error(err) from None
            earlier = record.load()
            raise in_doubt_error(record, earlier or Submission(None, None), context, this_try=True) from err
        except Exception:
            record.clear()
            raise
        record.save(execution_id)
        return execution_id

    def _earlier_execution(
        self, record: SubmissionRecord, workflow_type: str, context: Context
    ) -> Execution | None:
        """The execution an earlier try started, if it is still usable (running or completed)."""
        earlier = record.load()
        if earlier is None:
            return None
        if earlier.unconfirmed:
            if not self.resubmit_unconfirmed:
                raise in_doubt_error(record, earlier, context)
            self.log.warning(
                "An earlier try's %s submission got no answer; submitting again because "
                "resubmit_unconfirmed=True (HeyGen may now run two jobs)",
                workflow_type,
            )
            return None
        execution_id = earlier.job_id
        assert execution_id is not None
        execution = self.hook.get_execution(execution_id, workflow_type)
        failure = execution.failed
        if failure is not None:
            # Raises for a failure no retry changes (unless resubmit_failed); else submit anew.
            error = self.failure_error(f"Earlier HeyGen execution {execution_id}", execution_id, failure)
            if not isinstance(error, AirflowFailException):
                self.log.warning("%s; submitting again", error)
                return None
            raise error
        self.log.info(
            "Reattaching to HeyGen execution %s (%s) from an earlier try",
            execution_id,
            execution.status.value,
        )
        return execution

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the trigger's event; forget the execution once it completed."""
        with self.reporting_failures():
            result = super().execute_complete(context, event)
        self._record(context)[2].clear()
        return result

    def on_kill(self) -> None:
        """HeyGen documents no cancel endpoint: log the execution that keeps running."""
        if self.execution_id:
            self.log.warning(
                "Task killed; HeyGen execution %s keeps running (HeyGen has no cancel API)", self.execution_id
            )


class FaceswapOperator(HeyGenWorkflowOperator):
    """
    Swap the face of a photo into a video (HeyGen's ``FaceswapNode``).

    :param source_image_url: http(s) URL of a clear, front-facing photo with exactly one face (templated).
    :param target_video_url: http(s) URL of the video that receives the face, e.g. an avatar video
        from an upstream task's ``output["video_url"]`` (templated).
    :param kwargs: the common arguments of :class:`HeyGenWorkflowOperator`.
    """

    template_fields: Sequence[str] = ("source_image_url", "target_video_url", "heygen_conn_id")

    def __init__(self, *, source_image_url: str, target_video_url: str, **kwargs: Any) -> None:
        super().__init__(workflow_type=WorkflowType.FACESWAP.value, **kwargs)
        self.source_image_url = source_image_url
        self.target_video_url = target_video_url

    def workflow_input(self) -> Mapping[str, Any]:
        """``{"source_image_url", "target_video_url"}``, both checked to be http(s) URLs."""
        return {
            "source_image_url": require_http_url("source_image_url", self.source_image_url),
            "target_video_url": require_http_url("target_video_url", self.target_video_url),
        }


class AvatarInferenceOperator(HeyGenWorkflowOperator):
    """
    Make an avatar video speak one or more audio tracks (HeyGen's ``AvatarInferenceNode``).

    :param avatar_id: the avatar, e.g. ``"Angela-inblackskirt-20220820"`` (templated).
    :param audio_urls: one http(s) URL or a list of them; becomes ``audio_list`` (templated).
    :param extra_input: more fields of the workflow's ``input`` object, passed through (templated).
    :param kwargs: the common arguments of :class:`HeyGenWorkflowOperator`.
    """

    template_fields: Sequence[str] = ("avatar_id", "audio_urls", "extra_input", "heygen_conn_id")
    template_fields_renderers = {"extra_input": "json"}

    def __init__(
        self,
        *,
        avatar_id: str,
        audio_urls: str | Sequence[str],
        extra_input: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(workflow_type=WorkflowType.AVATAR_INFERENCE.value, **kwargs)
        self.avatar_id = avatar_id
        self.audio_urls = audio_urls
        self.extra_input = extra_input

    def workflow_input(self) -> Mapping[str, Any]:
        """``extra_input`` plus ``avatar.avatar_id`` and ``audio_list``, every URL checked."""
        urls = [self.audio_urls] if isinstance(self.audio_urls, str) else self.audio_urls
        if not isinstance(urls, (list, tuple)) or not urls:
            raise HeyGenInputError("audio_urls", "must be one http(s) URL or a non-empty list of them")
        if self.extra_input is not None and not isinstance(self.extra_input, Mapping):
            raise HeyGenInputError("extra_input", f"must be a dict, got {type(self.extra_input).__name__}")
        return {
            **(self.extra_input or {}),
            "avatar": {"avatar_id": require_text("avatar_id", self.avatar_id)},
            "audio_list": [
                {"audio_url": require_http_url(f"audio_urls[{index}]", url)} for index, url in enumerate(urls)
            ],
        }


from airflow_heygen.operators.publish import HeyGenPublishVideoOperator  # noqa: E402  re-exported: the documented import path
from airflow_heygen.operators.v3 import (  # noqa: E402  re-exported: the documented import path
    HeyGenLipsyncOperator,
    HeyGenUploadAssetOperator,
    HeyGenVideoOperator,
    HeyGenVideoTranslationOperator,
)
