"""
The workflows API's name of the one job trigger: :class:`HeyGenExecutionTrigger` waits for a
workflows execution as :class:`~airflow_heygen.triggers.jobs.HeyGenJobTrigger` does for any job.
Rows an earlier release stored in the ``trigger`` table (this classpath, these kwargs) still run.
"""

from __future__ import annotations

from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_heygen.hooks.heygen_async import HeyGenAsyncHook
from airflow_heygen.job import Job
from airflow_heygen.kinds import WORKFLOW
from airflow_heygen.triggers.first_wait import CompletionTimes, completion_times
from airflow_heygen.triggers.jobs import HeyGenJobTrigger, job_from_event

__all__ = ["CompletionTimes", "HeyGenExecutionTrigger", "HeyGenJobTrigger", "completion_times"]

# Earlier releases' name of the reader of the one trigger's events.
execution_from_event = job_from_event


class HeyGenExecutionTrigger(HeyGenJobTrigger):
    """
    Poll a HeyGen workflows execution until it ends or its deadline passes, then yield one event:
    :class:`~airflow_heygen.triggers.jobs.HeyGenJobTrigger` of the ``workflow`` kind, keeping the
    kwargs (and the event keys ``execution_id`` and ``execution``) of earlier releases.

    :param execution_id: the execution to wait for.
    :param heygen_conn_id: id of the HeyGen connection.
    :param poll_interval: seconds between polls.
    :param deadline: absolute deadline as a Unix timestamp; 600 seconds from now when not given.
    :param workflow_type: the workflow type, if known (finds the video URL in the output).
    """

    def __init__(
        self,
        execution_id: str,
        heygen_conn_id: str = HeyGenAsyncHook.default_conn_name,
        poll_interval: float = 10.0,
        deadline: float | None = None,
        workflow_type: str | None = None,
    ) -> None:
        super().__init__(
            WORKFLOW.name, execution_id, heygen_conn_id, poll_interval, deadline, workflow_type=workflow_type
        )
        self.execution_id = execution_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Classpath and the kwargs earlier releases stored; never a secret."""
        _, kwargs = super().serialize()
        kwargs = {"execution_id": self.job_id, **kwargs, "workflow_type": self.workflow_type}
        for name in ("kind", "job_id"):
            kwargs.pop(name)
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    def _event(self, status: str, message: str, job: Job | None = None, **more: Any) -> TriggerEvent:
        event = super()._event(status, message, job, **more)
        event.payload.update(execution_id=self.job_id, execution=event.payload["job"])
        return event
