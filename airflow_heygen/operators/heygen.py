"""
Operators that run HeyGen workflows (``/v1/workflows``, which HeyGen retires: see the README): a
generic one and one per documented workflow type, all jobs of the ``workflow`` kind.

Importing this module stays cheap for DAG parsing: the hook (requests, aiohttp) and the trigger are
imported when a task runs, not when a DAG file is parsed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.kinds import WORKFLOW, WorkflowType
from airflow_heygen.operators.job_base import HeyGenJobOperator
from airflow_heygen.state import SubmissionRecord
from airflow_heygen.task_base import DEFAULT_CONN_ID, HeyGenTaskMixin, default_deferrable
from airflow_heygen.validation import require_http_url, require_text, validate_workflow

# Kept importable from here, where earlier releases defined them.
ExecutionRecord = SubmissionRecord
__all__ = [
    "DEFAULT_CONN_ID",
    "AvatarInferenceOperator",
    "ExecutionRecord",
    "FaceswapOperator",
    "HeyGenCampaignOperator",
    "HeyGenLipsyncOperator",
    "HeyGenPublishVideoOperator",
    "HeyGenTaskMixin",
    "HeyGenUploadAssetOperator",
    "HeyGenVideoOperator",
    "HeyGenVideoTranslationOperator",
    "HeyGenWorkflowOperator",
    "default_deferrable",
]


class HeyGenWorkflowOperator(HeyGenJobOperator):
    """
    Run any HeyGen workflow: submit it, then wait for its execution (in the triggerer if deferrable).
    An execution is a job of the ``workflow`` kind: everything but the request is
    :class:`~airflow_heygen.operators.job_base.HeyGenJobOperator`'s.

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

    HeyGen's workflows API lives under ``/v1/``, which HeyGen retires: where a host no longer serves
    it, the task fails at once, without retries
    (:class:`~airflow_heygen.exceptions.HeyGenApiRetiredError`).

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

    kind = WORKFLOW.name
    id_xcom_key = "execution_id"
    template_fields: Sequence[str] = ("workflow_type", "input", "heygen_conn_id")
    template_fields_renderers = {"input": "json"}

    def __init__(self, *, workflow_type: str, input: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workflow_type = workflow_type
        self.input = input if input is not None else {}

    @property
    def execution_id(self) -> str | None:
        """The execution this task submitted or reattached to, once known."""
        return self.job_ids[0] if self.job_ids else None

    def workflow_input(self) -> Mapping[str, Any]:
        """The workflow's ``input`` object, after templating; subclasses build it from their arguments."""
        return self.input

    def request_body(self) -> dict[str, Any]:
        """``{"workflow_type", "input"}``, checked (:func:`~airflow_heygen.validation.validate_workflow`)."""
        workflow_type, workflow_input = validate_workflow(self.workflow_type, self.workflow_input())
        self.workflow_type = workflow_type
        return {"workflow_type": workflow_type, "input": dict(workflow_input)}

    def record_request(self, body: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
        """The request itself (records of earlier releases keep their fingerprint), as a workflow."""
        return body, f"{body['workflow_type']} workflow"

    def check_input_urls(self, request: Any, root: str) -> None:
        """With ``check_inputs``, check the URLs of the workflow's ``input``."""
        super().check_input_urls(request["input"], "input")


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


from airflow_heygen.operators.campaign import HeyGenCampaignOperator  # noqa: E402  re-exported: the documented import path
from airflow_heygen.operators.publish import HeyGenPublishVideoOperator  # noqa: E402  re-exported: the documented import path
from airflow_heygen.operators.v3 import (  # noqa: E402  re-exported: the documented import path
    HeyGenLipsyncOperator,
    HeyGenUploadAssetOperator,
    HeyGenVideoOperator,
    HeyGenVideoTranslationOperator,
)
