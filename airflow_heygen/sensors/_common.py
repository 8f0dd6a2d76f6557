"""
The base of the HeyGen sensors: their waiting arguments and their one execute path.

Importing this module stays cheap for DAG parsing: the hook and the triggers are imported when a
sensor runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_heygen.links.heygen import HeyGenVideoLink
from airflow_heygen.task_base import DEFAULT_CONN_ID, HeyGenTaskMixin, checked_waiting
from airflow_heygen.templating import XComOriginsMixin

if TYPE_CHECKING:
    from airflow.sdk import Context


class HeyGenSensor(HeyGenTaskMixin, XComOriginsMixin, BaseSensorOperator):
    """
    Base of the HeyGen sensors: poke in a worker, or check once and then defer to the triggerer.

    Subclasses define :meth:`poke` (one status read) and :meth:`defer_to_trigger`.

    :param heygen_conn_id: id of the HeyGen connection.
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param poll_interval: seconds between polls (the sensor's ``poke_interval``).
    :param timeout: seconds to wait before failing.
    """

    operator_extra_links = (HeyGenVideoLink(),)
    ui_color = "#7559ff"
    ui_fgcolor = "#ffffff"
    # A sensor only watches: its retry would read the same failed job, so a failure is final.
    watches_only = True

    def __init__(
        self,
        *,
        heygen_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool | None = None,
        poll_interval: float = 10.0,
        timeout: float = 600.0,
        **kwargs: Any,
    ) -> None:
        deferrable, poll_interval, timeout = checked_waiting(
            deferrable, poll_interval, timeout, str(kwargs.get("task_id"))
        )
        # Each key of the result becomes its own XCom too, as the operators' results do.
        kwargs.setdefault("multiple_outputs", True)
        super().__init__(poke_interval=poll_interval, timeout=timeout, **kwargs)
        self.heygen_conn_id = heygen_conn_id
        self.deferrable = deferrable
        self.poll_interval = poll_interval

    def poke(self, context: Context) -> PokeReturnValue:
        """One status read: done with the result when the job completed; raises when it failed."""
        raise NotImplementedError

    def defer_to_trigger(self) -> NoReturn:
        """Hand the waiting to the triggerer, which resumes the sensor in ``execute_complete``."""
        raise NotImplementedError

    def execute(self, context: Context) -> Any:
        """Poke in the worker, or check once and then defer to the triggerer."""
        try:
            with self.reporting_failures():
                if not self.deferrable:
                    return super().execute(context)
                first = self.poke(context)
                if first.is_done:
                    return first.xcom_value
        finally:
            # In reschedule mode every poke is a new execute(): none may leave a session open.
            self.close_hook()
        self.defer_to_trigger()

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the trigger's event: the result, or a failure that is never retried."""
        with self.reporting_failures():
            return self.complete(context, event)

    def complete(self, context: Context, event: dict[str, Any]) -> Any:
        """The result of the trigger's event; raises for every event but a completed job's."""
        raise NotImplementedError
