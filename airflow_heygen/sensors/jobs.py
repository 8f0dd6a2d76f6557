"""Sensor that waits for an existing HeyGen v3 job (or workflow execution) of any kind."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_heygen.kinds import job_kind
from airflow_heygen.links.heygen import HeyGenVideoLink
from airflow_heygen.operators.v3_base import jobs_hook_class
from airflow_heygen.task_base import DEFAULT_CONN_ID, DEFER_TIMEOUT_BUFFER, default_deferrable
from airflow_heygen.validation import require_positive_number, require_text

if TYPE_CHECKING:
    from airflow.sdk import Context


class HeyGenJobSensor(BaseSensorOperator):
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
    operator_extra_links = (HeyGenVideoLink(),)
    ui_color = "#7559ff"
    ui_fgcolor = "#ffffff"
    produced_video_url: str | None = None

    def __init__(
        self,
        *,
        kind: str,
        job_id: str,
        heygen_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool | None = None,
        poll_interval: float = 10.0,
        timeout: float = 600.0,
        **kwargs: Any,
    ) -> None:
        poll_interval = require_positive_number("poll_interval", poll_interval)
        timeout = require_positive_number("timeout", timeout)
        kwargs.setdefault("multiple_outputs", True)
        super().__init__(poke_interval=poll_interval, timeout=timeout, **kwargs)
        self.kind = kind
        self.job_id = job_id
        self.heygen_conn_id = heygen_conn_id
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = poll_interval

    @cached_property
    def hook(self) -> Any:
        """The sync hook, with the v3 methods."""
        return jobs_hook_class()(heygen_conn_id=self.heygen_conn_id)

    def _close(self) -> None:
        hook = self.__dict__.pop("hook", None)
        if hook is not None:
            hook.close()

    def poke(self, context: Context) -> PokeReturnValue:
        """One status read: done with the job dict when completed; raises when failed or not found."""
        from airflow_heygen.hooks.jobs import raise_for_job

        row = job_kind(self.kind)
        job = self.hook.get_job(row, require_text("job_id", self.job_id))
        self.log.info("HeyGen %s %s is %s", row.description, job.id, job.raw_status or job.status.value)
        if not job.status.is_terminal:
            return PokeReturnValue(is_done=False)
        job = raise_for_job(job)
        self.produced_video_url = job.video_url
        return PokeReturnValue(is_done=True, xcom_value=job.to_result())

    def execute(self, context: Context) -> Any:
        """Poke in the worker, or check once and then defer to the triggerer."""
        from airflow_heygen.triggers.jobs import HeyGenJobTrigger

        try:
            if not self.deferrable:
                return super().execute(context)
            first = self.poke(context)
            if first.is_done:
                return first.xcom_value
        finally:
            self._close()
        self.defer(
            trigger=HeyGenJobTrigger(
                kind=job_kind(self.kind).name,
                job_id=self.job_id,
                heygen_conn_id=self.heygen_conn_id,
                poll_interval=self.poll_interval,
                deadline=time.time() + float(self.timeout),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout) + self.poll_interval + DEFER_TIMEOUT_BUFFER),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """The job dict of a completed job; raises with the trigger's reason otherwise."""
        from airflow_heygen.triggers.jobs import job_from_event

        job = job_from_event(event, float(self.timeout))
        self.produced_video_url = job.video_url
        return job.to_result()
