"""Sensor that waits for an existing HeyGen execution."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import PokeReturnValue

from airflow_heygen.sensors._common import HeyGenSensor
from airflow_heygen.validation import require_text

if TYPE_CHECKING:
    from airflow.sdk import Context


class HeyGenExecutionSensor(HeyGenSensor):
    """
    Wait for a HeyGen execution submitted elsewhere (fan-out with ``wait_for_completion=False``, or
    to resume waiting after a task timed out) and return the same dict as the operators.

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

    def __init__(self, *, execution_id: str, workflow_type: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.execution_id = execution_id
        self.workflow_type = workflow_type

    def poke(self, context: Context) -> PokeReturnValue:
        """One status check: done with the result when completed; raises when failed or not found."""
        from airflow_heygen.hooks.heygen import raise_for_outcome

        execution_id = require_text("execution_id", self.execution_id)
        execution = self.hook.get_execution(execution_id, self.workflow_type)
        self.log.info(
            "HeyGen execution %s is %s", execution_id, execution.raw_status or execution.status.value
        )
        if not execution.status.is_terminal:
            return PokeReturnValue(is_done=False)
        return PokeReturnValue(is_done=True, xcom_value=self.finish(raise_for_outcome(execution)))

    def defer_to_trigger(self) -> NoReturn:
        """Wait for the execution in the triggerer."""
        self.defer_until_done(self.execution_id, self.workflow_type)


from airflow_heygen.sensors.jobs import HeyGenJobSensor  # noqa: E402, F401  re-exported
