"""The workflows API's name of the one job sensor: :class:`HeyGenExecutionSensor`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_heygen.kinds import WORKFLOW
from airflow_heygen.sensors.jobs import HeyGenJobSensor

__all__ = ["HeyGenExecutionSensor", "HeyGenJobSensor"]


class HeyGenExecutionSensor(HeyGenJobSensor):
    """
    Wait for a HeyGen execution submitted elsewhere (fan-out with ``wait_for_completion=False``, or
    to resume waiting after a task timed out) and return the same dict as the workflows operators:
    :class:`~airflow_heygen.sensors.jobs.HeyGenJobSensor` of the ``workflow`` kind.

    A ``failed`` or ``not_found`` execution fails the sensor at once with HeyGen's message.

    :param execution_id: the execution to wait for (templated), e.g.
        ``"{{ ti.xcom_pull(task_ids='submit', key='execution_id') }}"``.
    :param heygen_conn_id: id of the HeyGen connection (templated).
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param poll_interval: seconds between status polls (the sensor's ``poke_interval``).
    :param timeout: seconds to wait before failing.
    :param workflow_type: the workflow type if known, to find the video URL.
    """

    template_fields: Sequence[str] = ("execution_id", "heygen_conn_id")
    id_argument = "execution_id"

    def __init__(self, *, execution_id: str, workflow_type: str | None = None, **kwargs: Any) -> None:
        super().__init__(kind=WORKFLOW.name, job_id=execution_id, **kwargs)
        self.execution_id = execution_id
        self.workflow_type = workflow_type
