"""
Operators that run HeyGen workflows: a generic one and one per documented workflow type.

Importing this module stays cheap for DAG parsing: the hook (requests, aiohttp) and the trigger are
imported when a task runs, not when a DAG file is parsed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseOperator, conf

from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.links.heygen import HeyGenVideoLink
from airflow_heygen.models import Execution, ExecutionStatus, WorkflowType
from airflow_heygen.validation import (
    require_http_url,
    require_positive_number,
    require_text,
    validate_workflow,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_heygen.hooks.heygen import HeyGenHook

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "heygen_default"
# Extra time Airflow gives a deferred task beyond our own deadline, so that the trigger's own
# timeout event (with the execution id and how to resume) arrives before Airflow's generic one.
DEFER_TIMEOUT_BUFFER = 300.0


def default_deferrable() -> bool:
    """``[operators] default_deferrable`` from Airflow's configuration."""
    return conf.getboolean("operators", "default_deferrable", fallback=False)


class ExecutionRecord:
    """
    Remembers the execution a task instance started, across its tries, in ``task_state_store``.

    A new try (after a worker crash or a retry) reads it back to reattach instead of paying for a
    second submission. The record carries a fingerprint of the request, so a task whose input changed
    in between never reattaches to an execution of the old input.

    :param store: the task's ``task_state_store`` (Airflow 3.3+), or None to remember nothing.
    :param fingerprint: digest of the workflow request.
    """

    KEY = "heygen_execution"

    def __init__(self, store: Any | None, fingerprint: str) -> None:
        self.store = store
        self.fingerprint = fingerprint

    @classmethod
    def for_task(
        cls, context: Context, *, durable: bool, workflow_type: str, workflow_input: Mapping[str, Any]
    ) -> ExecutionRecord:
        """The record of the running task instance; an inert one when ``durable`` is off."""
        store = context.get("task_state_store") if durable else None
        if durable and store is None:
            log.warning("task_state_store unavailable (Airflow < 3.3): a retry may resubmit")
        request = json.dumps({"workflow_type": workflow_type, "input": workflow_input}, sort_keys=True)
        return cls(store, hashlib.sha256(request.encode()).hexdigest()[:32])

    def load(self) -> str | None:
        """The execution id a previous try saved for this same request, if any."""
        if self.store is None:
            return None
        saved = self.store.get(self.KEY)
        if isinstance(saved, Mapping) and saved.get("fingerprint") == self.fingerprint:
            execution_id = saved.get("execution_id")
            return execution_id if isinstance(execution_id, str) and execution_id else None
        return None

    def save(self, execution_id: str) -> None:
        """Remember ``execution_id`` for later tries."""
        if self.store is not None:
            self.store.set(self.KEY, {"execution_id": execution_id, "fingerprint": self.fingerprint})

    def clear(self) -> None:
        """Forget the execution once the task succeeded, so clearing the task makes a new video."""
        if self.store is not None:
            self.store.delete(self.KEY)


class HeyGenTaskMixin:
    """
    What every HeyGen task shares: the hook, waiting in or out of the triggerer, and finishing.

    :param heygen_conn_id: id of the HeyGen connection.
    :param poll_interval: seconds between status polls.
    :param timeout: seconds to wait for the execution to end.
    :param deferrable: wait in the triggerer instead of a worker slot.
    """

    heygen_conn_id: str
    poll_interval: float
    timeout: float
    deferrable: bool
    log: Any
    # Read by HeyGenVideoLink when the task instance ends.
    produced_video_url: str | None = None

    @cached_property
    def hook(self) -> HeyGenHook:
        """The sync hook, imported here so that parsing a DAG does not import requests or aiohttp."""
        from airflow_heygen.hooks.heygen import HeyGenHook

        return HeyGenHook(heygen_conn_id=self.heygen_conn_id)

    def defer_until_done(self, execution_id: str, workflow_type: str | None) -> NoReturn:
        """Hand the waiting to the triggerer; Airflow resumes the task in :meth:`execute_complete`."""
        from airflow_heygen.triggers.heygen import HeyGenExecutionTrigger

        self.defer(  # type: ignore[attr-defined]
            trigger=HeyGenExecutionTrigger(
                execution_id=execution_id,
                heygen_conn_id=self.heygen_conn_id,
                poll_interval=self.poll_interval,
                deadline=time.time() + self.timeout,
                workflow_type=workflow_type,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout + self.poll_interval + DEFER_TIMEOUT_BUFFER),
        )
        raise AssertionError("defer() returned")  # pragma: no cover - defer() always raises

    def wait(self, execution_id: str, workflow_type: str | None, context: Context) -> dict[str, Any]:
        """Wait for the execution (deferring if deferrable) and return the task's result."""
        if self.deferrable:
            self.defer_until_done(execution_id, workflow_type)
        execution = self.hook.wait_for_execution(
            execution_id, self.poll_interval, self.timeout, workflow_type
        )
        return self.finish(execution, context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the trigger's event: return the result or fail with the trigger's reason."""
        from airflow_heygen.triggers.heygen import execution_from_event

        return self.finish(execution_from_event(event, self.timeout), context)

    def finish(self, execution: Execution, context: Context) -> dict[str, Any]:
        """Keep the video URL for the "HeyGen video" link and return the result of a completed execution."""
        self.produced_video_url = execution.video_url
        return execution.to_result()


class HeyGenWorkflowOperator(HeyGenTaskMixin, BaseOperator):
    """
    Run any HeyGen workflow: submit it, then wait for its execution (in the triggerer if deferrable).

    Returns ``{"execution_id", "workflow_type", "status", "video_url", "output"}`` (XCom
    ``return_value``, and each key as its own XCom, so ``task.output["video_url"]`` feeds the next
    task); the execution id is pushed as XCom ``execution_id`` as soon as it is known. Inputs are
    checked before anything is sent.

    Never pays twice: with ``durable=True`` the execution id is saved in ``task_state_store`` before
    waiting, and a new try of the task reattaches to a running execution, returns a completed one, and
    submits again only after ``failed`` or ``not_found``.

    :param workflow_type: HeyGen workflow type, e.g. ``"FaceswapNode"`` (templated).
    :param input: the workflow's ``input`` object (templated).
    :param heygen_conn_id: id of the HeyGen connection (templated).
    :param wait_for_completion: wait for the execution; if False, return right after submission.
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param poll_interval: seconds between status polls.
    :param timeout: seconds to wait for the execution before failing (it keeps running at HeyGen; resume
        with :class:`~airflow_heygen.sensors.heygen.HeyGenExecutionSensor`).
    :param durable: remember the execution id across tries in ``task_state_store`` (Airflow 3.3+).
    """

    template_fields: Sequence[str] = ("workflow_type", "input", "heygen_conn_id")
    template_fields_renderers = {"input": "json"}
    operator_extra_links = (HeyGenVideoLink(),)
    ui_color = "#7559ff"
    ui_fgcolor = "#ffffff"

    def __init__(
        self,
        *,
        workflow_type: str,
        input: Mapping[str, Any] | None = None,
        heygen_conn_id: str = DEFAULT_CONN_ID,
        wait_for_completion: bool = True,
        deferrable: bool | None = None,
        poll_interval: float = 10.0,
        timeout: float = 600.0,
        durable: bool = True,
        **kwargs: Any,
    ) -> None:
        # Each key of the result becomes its own XCom too, so task.output["video_url"] works.
        kwargs.setdefault("multiple_outputs", True)
        super().__init__(**kwargs)
        self.workflow_type = workflow_type
        self.input = input if input is not None else {}
        self.heygen_conn_id = heygen_conn_id
        self.wait_for_completion = wait_for_completion
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = require_positive_number("poll_interval", poll_interval)
        self.timeout = require_positive_number("timeout", timeout)
        self.durable = durable
        self.execution_id: str | None = None

    def workflow_input(self) -> Mapping[str, Any]:
        """The workflow's ``input`` object, after templating; subclasses build it from their arguments."""
        return self.input

    def execute(self, context: Context) -> dict[str, Any]:
        """Submit the workflow (or reattach to this task's earlier execution) and wait for it."""
        workflow_type, workflow_input = validate_workflow(self.workflow_type, self.workflow_input())
        record = ExecutionRecord.for_task(
            context, durable=self.durable, workflow_type=workflow_type, workflow_input=workflow_input
        )
        earlier = self._earlier_execution(record, workflow_type)
        if earlier is not None and earlier.status is ExecutionStatus.COMPLETED:
            self.execution_id = earlier.execution_id
            return self._complete(self.finish(earlier, context), record)
        if earlier is not None:
            self.execution_id = earlier.execution_id
        else:
            self.execution_id = self.hook.submit_workflow(workflow_type, workflow_input)
            record.save(self.execution_id)
        context["ti"].xcom_push(key="execution_id", value=self.execution_id)
        if not self.wait_for_completion:
            status = earlier.status if earlier is not None else ExecutionStatus.SUBMITTED
            return Execution(self.execution_id, status, workflow_type).to_result()
        return self._complete(self.wait(self.execution_id, workflow_type, context), record)

    def _earlier_execution(self, record: ExecutionRecord, workflow_type: str) -> Execution | None:
        """The execution an earlier try started, if it is still usable (running or completed)."""
        execution_id = record.load()
        if execution_id is None:
            return None
        execution = self.hook.get_execution(execution_id, workflow_type)
        if execution.status in (ExecutionStatus.FAILED, ExecutionStatus.NOT_FOUND):
            self.log.warning(
                "Earlier HeyGen execution %s of this task is %s; submitting again",
                execution_id,
                execution.status.value,
            )
            return None
        self.log.info(
            "Reattaching to HeyGen execution %s (%s) from an earlier try",
            execution_id,
            execution.status.value,
        )
        return execution

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the trigger's event; forget the execution once it completed."""
        result = super().execute_complete(context, event)
        workflow_type, workflow_input = validate_workflow(self.workflow_type, self.workflow_input())
        record = ExecutionRecord.for_task(
            context, durable=self.durable, workflow_type=workflow_type, workflow_input=workflow_input
        )
        return self._complete(result, record)

    @staticmethod
    def _complete(result: dict[str, Any], record: ExecutionRecord) -> dict[str, Any]:
        record.clear()
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


if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath


class HeyGenPublishVideoOperator(BaseOperator):
    """
    Copy a finished video to any Airflow object-storage path and announce it as an Airflow Asset.

    The video is streamed in 1 MiB chunks (memory does not grow with its size) into a hidden temporary
    object beside the destination, hashed with sha256 on the way, checked against the announced
    Content-Length, then renamed to the destination (moved, on object stores without rename). A failure
    at any point removes the temporary and leaves nothing at the destination; an existing destination is
    only replaced with ``overwrite=True``. Arguments are checked before anything is downloaded.

    A retry is idempotent: what a try is about to land is recorded in ``task_state_store`` first, so a
    new try of the same task instance whose files are already in place (size and sha256 as recorded)
    returns the same result without copying again, instead of failing with "already exists"
    (:class:`~airflow_heygen.publishing.PublishRecord`).

    HeyGen's video URLs are public CDN links: the API key goes with a request only when the URL (or a
    redirect hop) is on the connection's own origin, never to another host. Redirects are followed only
    to http(s). Connection errors, truncated transfers, 408, 429 and 5xx are retried with the
    connection's backoff (``retry_limit`` ...), resuming with ``Range`` requests where the server allows.

    Returns ``{"uri", "bytes", "sha256"}``, plus ``"preview_uri"`` with ``preview=True`` (each key is
    also its own XCom, so ``publish.output["uri"]`` feeds the next task).

    **Assets.** The destination is only known once templates are rendered, so it is announced through an
    :class:`~airflow.sdk.AssetAlias`: on success the task emits an event for ``Asset(<uri>)`` (e.g.
    ``file:///data/videos/run-1.mp4`` or ``s3://bucket/videos/run-1.mp4``) through every ``AssetAlias``
    in its ``outlets``, with the result above as the event's ``extra``. Without an alias in ``outlets``
    the alias ``AssetAlias("heygen-published-videos")`` (:attr:`DEFAULT_ASSET_ALIAS`) is added. Schedule
    a downstream DAG with ``schedule=AssetAlias("heygen-published-videos")`` to run on every newly
    published video, or on ``Asset("<uri>")`` for one fixed destination. Plain ``Asset`` outlets are
    emitted by Airflow as usual and get the same ``extra``.

    :param video_url: absolute http(s) URL of the finished video, e.g. a HeyGen task's
        ``output["video_url"]`` (templated).
    :param destination: where the video goes: ``file:///data/videos/v.mp4`` (or just the absolute path
        ``/data/videos/v.mp4``), ``s3://bucket/videos/v.mp4``, ``gs://...`` with their provider installed,
        or an ``ObjectStoragePath``. It must name a file and may not contain ``..`` (templated).
    :param heygen_conn_id: HeyGen connection, for retry settings and its origin; a connection without a
        key is fine (templated).
    :param destination_conn_id: Airflow connection for the storage, e.g. ``aws_default`` (templated).
    :param overwrite: replace an existing destination (and preview); without it, one fails the task.
    :param preview: also write a PNG of the frame halfway through the video next to it, as
        ``<destination without its suffix>.png`` (landed atomically too); needs PyAV (the ``emulator``
        extra).
    """

    template_fields: Sequence[str] = ("video_url", "destination", "heygen_conn_id", "destination_conn_id")
    ui_color = "#7559ff"
    ui_fgcolor = "#ffffff"
    DEFAULT_ASSET_ALIAS = "heygen-published-videos"

    def __init__(
        self,
        *,
        video_url: str,
        destination: str | ObjectStoragePath,
        heygen_conn_id: str = DEFAULT_CONN_ID,
        destination_conn_id: str | None = None,
        overwrite: bool = False,
        preview: bool = False,
        **kwargs: Any,
    ) -> None:
        from airflow.sdk import AssetAlias

        kwargs.setdefault("multiple_outputs", True)
        super().__init__(**kwargs)
        self.video_url = video_url
        self.destination = destination
        self.heygen_conn_id = heygen_conn_id
        self.destination_conn_id = destination_conn_id
        self.overwrite = overwrite
        self.preview = preview
        if not any(isinstance(outlet, AssetAlias) for outlet in self.outlets):
            self.outlets = [*self.outlets, AssetAlias(self.DEFAULT_ASSET_ALIAS)]

    def execute(self, context: Context) -> dict[str, Any]:
        """Check the arguments, publish the video (and preview), and announce its Asset."""
        from airflow_heygen.publishing import (
            DownloadSettings,
            PublishRecord,
            PublishRequest,
            VideoDownloader,
            VideoPublisher,
        )

        request = PublishRequest.checked(
            video_url=self.video_url,
            destination=self.destination,
            destination_conn_id=self.destination_conn_id,
            overwrite=self.overwrite,
            preview=self.preview,
        )
        record = PublishRecord(context.get("task_state_store"), request)
        result = record.reclaim()
        if result is None:
            with VideoDownloader(DownloadSettings.for_connection(self.heygen_conn_id)) as downloader:
                result = VideoPublisher(downloader).publish(request, on_staged=record.save).to_dict()
        self.announce(context, result)
        return result

    def announce(self, context: Context, result: dict[str, Any]) -> None:
        """Emit the published video's Asset through this task's aliases; add ``result`` to every event."""
        from airflow.sdk import Asset, AssetAlias

        events = context["outlet_events"]
        for outlet in self.outlets:
            if isinstance(outlet, AssetAlias):
                events[outlet].add(Asset(uri=result["uri"]), extra=result)
            elif isinstance(outlet, Asset):
                events[outlet].extra.update(result)
