"""The one sensor that waits for an existing HeyGen job of any kind (a workflows execution too)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import PokeReturnValue

from airflow_heygen.kinds import job_kind
from airflow_heygen.lineage.jobs import SensorLineageMixin
from airflow_heygen.sensors._common import HeyGenSensor
from airflow_heygen.task_base import DEFER_TIMEOUT_BUFFER
from airflow_heygen.validation import require_text

if TYPE_CHECKING:
    from airflow.sdk import Context


class HeyGenJobSensor(SensorLineageMixin, HeyGenSensor):
    """
    Wait for a HeyGen job created elsewhere (``wait_for_completion=False``, or to resume waiting
    after a task timed out) and return the job dict of the v3 operators: ``{"kind", "id", "status",
    "video_url", "output"}``. A ``failed`` or ``not_found`` job fails the sensor with HeyGen's reason.

    :param kind: the job's kind: ``video``, ``lipsync``, ``video_translation``, ``asset``, ``workflow``.
    :param job_id: the job (templated), e.g. ``"{{ ti.xcom_pull(task_ids='video', key='job_id') }}"``.
    :param heygen_conn_id: id of the HeyGen connection (templated).
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param poll_interval: seconds between polls (the sensor's ``poke_interval``).
    :param timeout: seconds to wait before failing.
    """

    template_fields: Sequence[str] = ("kind", "job_id", "heygen_conn_id")
    # The argument that names the job (a subclass may call it otherwise), and a workflow's type.
    id_argument = "job_id"
    workflow_type: str | None = None

    def __init__(self, *, kind: str, job_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        self.job_id = job_id

    @property
    def waited_id(self) -> str:
        """The job's id, after templating."""
        return require_text(self.id_argument, getattr(self, self.id_argument))

    def poke(self, context: Context) -> PokeReturnValue:
        """One status read: done with the job dict when completed; raises when failed or not found."""
        from airflow_heygen.hooks.jobs import raise_for_job

        row = job_kind(self.kind)
        job = self.hook.get_job(row, self.waited_id).typed(self.workflow_type)
        self.log.info("HeyGen %s %s is %s", row.description, job.id, job.raw_status or job.status.value)
        if not job.status.is_terminal:
            return PokeReturnValue(is_done=False)
        job = raise_for_job(job)
        self.produced_video_url = job.video_url
        self.heygen_result = job.to_result()
        return PokeReturnValue(is_done=True, xcom_value=self.heygen_result)

    def defer_to_trigger(self) -> NoReturn:
        """Wait for the job in the triggerer."""
        from airflow_heygen.triggers.jobs import HeyGenJobTrigger

        self.defer(
            trigger=HeyGenJobTrigger(
                kind=job_kind(self.kind).name,
                job_id=self.waited_id,
                heygen_conn_id=self.heygen_conn_id,
                poll_interval=self.poll_interval,
                deadline=time.time() + float(self.timeout),
                workflow_type=self.workflow_type,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout) + self.poll_interval + DEFER_TIMEOUT_BUFFER),
        )
        raise AssertionError("defer() returned")  # pragma: no cover - defer() always raises

    def complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """The job dict of a completed job; raises with the trigger's reason otherwise."""
        from airflow_heygen.triggers.jobs import job_from_event

        job = self.hook.detailed(job_from_event(event, float(self.timeout))).typed(self.workflow_type)
        self.produced_video_url = job.video_url
        self.heygen_result = job.to_result()
        return self.heygen_result
