"""What the HeyGen triggers' events say: their statuses, and their messages without the key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk.exceptions import AirflowFailException
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_heygen.exceptions import (
    HeyGenApiRetiredError,
    HeyGenAuthError,
    HeyGenExecutionError,
    HeyGenRequestError,
)
from airflow_heygen.hooks.heygen_async import HeyGenAsyncHook

if TYPE_CHECKING:
    from airflow_heygen.kinds import JobStatus
    from airflow_heygen.models import ExecutionStatus

# Event statuses: every trigger run yields exactly one event, with one of these.
EVENT_SUCCESS = "success"
EVENT_FAILED = "failed"
EVENT_NOT_FOUND = "not_found"
EVENT_TIMEOUT = "timeout"
EVENT_ERROR = "error"

# The event of a job or an execution that ended, by the value of its status (ExecutionStatus and
# JobStatus share these three).
_EVENT_OF_END = {"completed": EVENT_SUCCESS, "failed": EVENT_FAILED, "not_found": EVENT_NOT_FOUND}


def event_of_end(status: ExecutionStatus | JobStatus) -> str:
    """The event status of an ended execution or job: ``success``, ``failed`` or ``not_found``."""
    return _EVENT_OF_END[status.value]


def error_fields(err: BaseException) -> dict[str, Any]:
    """
    What an error event says beyond its message: ``fatal`` when no task retry can fix the error (a
    rejected or missing key, a refused request), so that the task fails without retries in the worker
    as it would have had the error been raised there.

    :param err: the error that ended the trigger's wait.
    """
    if not isinstance(err, AirflowFailException):
        return {}
    # The worker re-raises the same kind: a retired API stays recognisable as one.
    for kind in (HeyGenAuthError, HeyGenApiRetiredError):
        if isinstance(err, kind):
            return {"fatal": kind.__name__}
    return {"fatal": "refused"}


def raise_for_error_event(event: Mapping[str, Any], job_id: str) -> NoReturn:
    """
    Raise the error an ``error`` (or unexpected) event reports: without retries where it is ``fatal``.

    :param event: the event's payload.
    :param job_id: the job the trigger waited for.
    """
    message = str(event.get("message") or f"Unexpected trigger event: {event!r}")
    fatal = event.get("fatal")
    if fatal == HeyGenAuthError.__name__:
        raise HeyGenAuthError(message)
    if fatal == HeyGenApiRetiredError.__name__:
        raise HeyGenApiRetiredError(message)
    if fatal:
        raise HeyGenRequestError(message)
    raise HeyGenExecutionError(message, job_id)


def scrubbed(hook: HeyGenAsyncHook, message: str) -> str:
    """``message`` without the connection's key, once the hook resolved it: events land in the database."""
    settings = hook._settings
    return settings.scrub(message) if settings is not None else message


class OneEventTrigger(BaseTrigger):
    """A trigger that computes its one event in :meth:`_wait` (errors included), then yields it."""

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait (:meth:`_wait`); yield exactly one event."""
        # The event is yielded only once the status reader (and its HTTP session) is left: a generator
        # suspended inside an ``async with`` is closed by asyncio at shutdown together with the context
        # manager's own generator, which fails with "aclose(): asynchronous generator is already
        # running" (dag.test() takes the first event and leaves the generator suspended).
        event = await self._wait()
        yield event

    async def _wait(self) -> TriggerEvent:
        raise NotImplementedError
