"""Trigger that waits for a HeyGen execution in the triggerer, without holding a worker slot."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Mapping
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_heygen.exceptions import HeyGenError, HeyGenExecutionError
from airflow_heygen.hooks.common import StatusChangeLog, failure_reason, raise_for_outcome, timeout_message
from airflow_heygen.hooks.heygen_async import HeyGenAsyncHook
from airflow_heygen.kinds import WORKFLOW
from airflow_heygen.models import Execution, ExecutionStatus
from airflow_heygen.triggers.events import (
    EVENT_ERROR,
    EVENT_FAILED,
    EVENT_NOT_FOUND,
    EVENT_SUCCESS,
    EVENT_TIMEOUT,
    error_fields,
    event_of_end,
    raise_for_error_event,
    scrubbed,
)

# The learned first wait: how many recent completions of a workflow type a triggerer remembers, how
# many it needs before it skips polls, and which quantile of their durations the skip reaches.
REMEMBERED_COMPLETIONS = 100
MIN_COMPLETIONS = 8
EARLY_QUANTILE = 0.05


class CompletionTimes:
    """
    How long recent executions took to complete, per workflow type, as the triggers of one event
    loop (one triggerer) saw it: from a trigger's first poll to the poll that found it completed.
    """

    def __init__(self) -> None:
        self._seconds: dict[str, deque[float]] = {}

    def record(self, workflow_type: str | None, seconds: float) -> None:
        """
        Remember one completion.

        :param workflow_type: the execution's workflow type.
        :param seconds: time from the trigger's first poll to the poll that saw it completed.
        """
        key = workflow_type or ""
        if key not in self._seconds:
            self._seconds[key] = deque(maxlen=REMEMBERED_COMPLETIONS)
        self._seconds[key].append(seconds)

    def early(self, workflow_type: str | None) -> float | None:
        """
        Seconds after a first poll before which few executions of this type complete (the
        ``EARLY_QUANTILE`` of the remembered durations); None until ``MIN_COMPLETIONS`` were seen.

        :param workflow_type: the execution's workflow type.
        """
        seconds = self._seconds.get(workflow_type or "")
        if seconds is None or len(seconds) < MIN_COMPLETIONS:
            return None
        return sorted(seconds)[int(EARLY_QUANTILE * len(seconds))]


_COMPLETION_TIMES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CompletionTimes] = (
    weakref.WeakKeyDictionary()
)


def completion_times() -> CompletionTimes:
    """The completion times learned on the running event loop."""
    loop = asyncio.get_running_loop()
    if loop not in _COMPLETION_TIMES:
        _COMPLETION_TIMES[loop] = CompletionTimes()
    return _COMPLETION_TIMES[loop]


class HeyGenExecutionTrigger(BaseTrigger):
    """
    Poll a HeyGen execution until it ends or its deadline passes, then yield one event.

    The deadline is wall-clock (an absolute epoch second in the serialized kwargs), so a triggerer
    restart does not restart the clock; the execution is polled once more at the deadline before
    the trigger gives up. The kwargs hold the connection id, never the API key: the key is resolved
    inside :meth:`run`, once per run, and every poll goes through the triggerer's shared HTTP session
    (see :meth:`HeyGenAsyncHook.session`).

    Polls are ``poll_interval`` apart (start to start); with ``learn_first_wait`` (the default) a
    triggerer that has seen enough executions of a workflow type complete skips the polls that would
    almost surely find a new one still running. Why and how: ``docs/waiting.md``.

    The event payload is ``{"status": "success" | "failed" | "not_found" | "timeout" | "error",
    "execution_id": ..., "message": ..., "execution": <operator result dict or None>}``.

    :param execution_id: the execution to wait for.
    :param heygen_conn_id: id of the HeyGen connection.
    :param poll_interval: seconds between polls.
    :param deadline: absolute deadline as a Unix timestamp; 600 seconds from now when not given.
    :param workflow_type: the workflow type, if known (finds the video URL in the output).
    """

    learn_first_wait = True

    def __init__(
        self,
        execution_id: str,
        heygen_conn_id: str = HeyGenAsyncHook.default_conn_name,
        poll_interval: float = 10.0,
        deadline: float | None = None,
        workflow_type: str | None = None,
    ) -> None:
        super().__init__()
        self.execution_id = execution_id
        self.heygen_conn_id = heygen_conn_id
        self.poll_interval = float(poll_interval)
        self.deadline = float(deadline) if deadline is not None else time.time() + 600.0
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

    def _event(
        self, status: str, message: str, execution: dict[str, Any] | None = None, **more: Any
    ) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "execution_id": self.execution_id,
                "message": message,
                "execution": execution,
                **more,
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the execution ends or the deadline passes; yield exactly one event."""
        # The event is yielded only once the HTTP session is left: a generator suspended inside an
        # ``async with`` is closed by asyncio at shutdown together with the context manager's own
        # generator, which fails with "aclose(): asynchronous generator is already running" (dag.test()
        # takes the first event and leaves the generator suspended).
        event = await self._wait()
        yield event

    async def _wait(self) -> TriggerEvent:
        """Poll until the execution ends or the deadline passes; the one event to yield (errors included)."""
        hook = HeyGenAsyncHook(self.heygen_conn_id)
        progress = StatusChangeLog(self.log, self.execution_id, WORKFLOW.description)
        learned = completion_times() if self.learn_first_wait else None
        try:
            async with hook.session() as http:
                started = time.monotonic()
                # Learned for this workflow type already: the first poll is near the expected end.
                early = learned.early(self.workflow_type) if learned is not None else None
                due = started + (early or 0.0)
                polls = 0
                while True:
                    await asyncio.sleep(min(max(0.0, due - time.monotonic()), self.deadline - time.time()))
                    polled = time.monotonic()
                    execution = await hook.get_execution(
                        http, self.execution_id, self.workflow_type, deadline=self.deadline
                    )
                    polls += 1
                    progress.observe(execution)
                    if execution.status.is_terminal:
                        # Done at an immediate first poll says nothing about how long executions take.
                        waited = polls > 1 or early is not None
                        if learned is not None and waited and execution.status is ExecutionStatus.COMPLETED:
                            learned.record(execution.workflow_type, time.monotonic() - started)
                        if execution.status is ExecutionStatus.COMPLETED:
                            progress.completed(execution.video_url)
                        message = (
                            failure_reason(execution)
                            if execution.status is ExecutionStatus.FAILED
                            else f"execution {execution.status.value}"
                        )
                        return self._event(event_of_end(execution.status), message, execution.to_result())
                    if self.deadline - time.time() <= 0:
                        message = f"HeyGen execution {self.execution_id} still running at the deadline"
                        return self._event(EVENT_TIMEOUT, message, execution.to_result())
                    # Due one interval after this poll began, so slow answers do not stretch the schedule.
                    due = polled + self.poll_interval
                    if polls == 1 and early is None and learned is not None:
                        due = max(due, started + (learned.early(execution.workflow_type) or 0.0))
        except HeyGenError as err:
            message = str(err)
            if self.execution_id not in message:
                message = f"HeyGen execution {self.execution_id}: {message}"
            return self._event(EVENT_ERROR, scrubbed(hook, message), **error_fields(err))
        except Exception as err:
            # Whatever broke, the task must hear of it with the execution id to resume from.
            self.log.exception("Waiting for HeyGen execution %s failed", self.execution_id)
            message = f"HeyGen execution {self.execution_id}: {type(err).__name__}: {err}"
            return self._event(EVENT_ERROR, scrubbed(hook, message))

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
        ended = Execution.from_result(result) if isinstance(result, Mapping) else None
        raise_for_outcome(
            Execution(
                execution_id,
                ExecutionStatus.FAILED if status == EVENT_FAILED else ExecutionStatus.NOT_FOUND,
                workflow_type=ended.workflow_type if ended is not None else None,
                error_message=(ended.error_message if ended is not None else None) or event.get("message"),
                error_code=ended.error_code if ended is not None else None,
            )
        )
    if status == EVENT_TIMEOUT:
        raise HeyGenExecutionError(timeout_message(execution_id, timeout), execution_id)
    raise_for_error_event(event, execution_id)


from airflow_heygen.triggers.jobs import HeyGenJobTrigger  # noqa: E402, F401  re-exported
