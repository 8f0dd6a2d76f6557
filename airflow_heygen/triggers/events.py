"""What the HeyGen triggers' events say: their statuses, and their messages without the key."""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def scrubbed(hook: HeyGenAsyncHook, message: str) -> str:
    """``message`` without the connection's key, once the hook resolved it: events land in the database."""
    settings = hook._settings
    return settings.scrub(message) if settings is not None else message
