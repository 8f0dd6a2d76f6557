"""Trigger that waits for a HeyGen execution in the triggerer, without holding a worker slot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_heygen.exceptions import HeyGenError, HeyGenExecutionError
from airflow_heygen.hooks.heygen import HeyGenAsyncHook, StatusChangeLog, raise_for_outcome, timeout_message
from airflow_heygen.models import Execution, ExecutionStatus

# Event statuses: exactly one event is yielded per run, with one of these.
EVENT_SUCCESS = "success"
EVENT_FAILED = "failed"
EVENT_NOT_FOUND = "not_found"
EVENT_TIMEOUT = "timeout"
EVENT_ERROR = "error"

_EVENT_OF_STATUS = {
    ExecutionStatus.COMPLETED: EVENT_SUCCESS,
    ExecutionStatus.FAILED: EVENT_FAILED,
    ExecutionStatus.NOT_FOUND: EVENT_NOT_FOUND,
}


class HeyGenExecutionTrigger(BaseTrigger):
    """
    Poll a HeyGen execution until it ends or its deadline passes, then yield one event.

    The deadline is wall-clock (an absolute epoch second in the serialized kwargs), so a triggerer
    restart does not restart the clock; the execution is polled once more at the deadline before
    the trigger gives up. The kwargs hold the connection id, never the API key: the key is resolved
    inside :meth:`run`, once per run, and one HTTP session serves every poll.

    The event payload is ``{"status": "success" | "failed" | "not_found" | "timeout" | "error",
    "execution_id": ..., "message": ..., "execution": <operator result dict or None>}``.

    :param execution_id: the execution to wait for.
    :param heygen_conn_id: id of the HeyGen connection.
    :param poll_interval: seconds between polls.
    :param timeout: seconds to wait from now; ignored when ``deadline`` is given.
    :param deadline: absolute deadline as a Unix timestamp.
    :param workflow_type: the workflow type, if known (finds the video URL in the output).
    """

    def __init__(
        self,
        execution_id: str,
        heygen_conn_id: str = HeyGenAsyncHook.default_conn_name,
        poll_interval: float = 10.0,
        timeout: float = 600.0,
        deadline: float | None = None,
        workflow_type: str | None = None,
    ) -> None:
        super().__init__()
        self.execution_id = execution_id
        self.heygen_conn_id = heygen_conn_id
        self.poll_interval = float(poll_interval)
        self.deadline = float(deadline) if deadline is not None else time.time() + float(timeout)
        self.workflow_type = workflow_type

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Classpath and kwargs; stored in Airflow's database, so never a secret."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "execution_id": self.execution_id,
                "heygen_conn_id": self.heygen_conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "workflow_type": self.workflow_type,
            },
        )

    def _event(self, status: str, message: str, execution: dict[str, Any] | None = None) -> TriggerEvent:
        return TriggerEvent(
            {"status": status, "execution_id": self.execution_id, "message": message, "execution": execution}
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the execution ends or the deadline passes; yield exactly one event."""
        hook = HeyGenAsyncHook(self.heygen_conn_id)
        progress = StatusChangeLog(self.log, self.execution_id)
        try:
            async with hook.session() as http:
                while True:
                    execution = await hook.get_execution(http, self.execution_id, self.workflow_type)
                    progress.observe(execution)
                    if execution.status.is_terminal:
                        message = execution.error_message or f"execution {execution.status.value}"
                        yield self._event(_EVENT_OF_STATUS[execution.status], message, execution.to_result())
                        return
                    remaining = self.deadline - time.time()
                    if remaining <= 0:
                        message = f"HeyGen execution {self.execution_id} still running at the deadline"
                        yield self._event(EVENT_TIMEOUT, message, execution.to_result())
                        return
                    await asyncio.sleep(min(self.poll_interval, remaining))
        except HeyGenError as err:
            yield self._event(EVENT_ERROR, f"HeyGen execution {self.execution_id}: {err}")
        except Exception as err:
            # Whatever broke, the task must hear of it with the execution id to resume from.
            self.log.exception("Waiting for HeyGen execution %s failed", self.execution_id)
            message = f"HeyGen execution {self.execution_id}: {type(err).__name__}: {err}"
            yield self._event(EVENT_ERROR, message)

    async def on_kill(self) -> None:
        """HeyGen documents no cancel endpoint: say which execution keeps running, so it can be found."""
        self.log.warning(
            "Task killed while waiting for HeyGen execution %s; HeyGen has no cancel API, "
            "so the execution keeps running there",
            self.execution_id,
        )


def execution_from_event(event: Mapping[str, Any], timeout: float) -> Execution:
    """
    The completed execution a trigger event reports; raise for every other event.

    :param event: the payload of :class:`HeyGenExecutionTrigger`'s event.
    :param timeout: the task's timeout, named in the error when the deadline passed.
    """
    status = event.get("status")
    execution_id = str(event.get("execution_id"))
    result = event.get("execution")
    if status == EVENT_SUCCESS and isinstance(result, Mapping):
        return Execution.from_result(result)
    if status in (EVENT_FAILED, EVENT_NOT_FOUND):
        raise_for_outcome(
            Execution(
                execution_id,
                ExecutionStatus.FAILED if status == EVENT_FAILED else ExecutionStatus.NOT_FOUND,
                error_message=event.get("message"),
            )
        )
    if status == EVENT_TIMEOUT:
        raise HeyGenExecutionError(timeout_message(execution_id, timeout), execution_id)
    raise HeyGenExecutionError(
        str(event.get("message") or f"Unexpected trigger event: {event!r}"), execution_id
    )
