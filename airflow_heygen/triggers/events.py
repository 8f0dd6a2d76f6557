"""What the HeyGen triggers' events say: their statuses, and their messages without the key."""

from __future__ import annotations

from airflow_heygen.hooks.heygen_async import HeyGenAsyncHook

# Event statuses: every trigger run yields exactly one event, with one of these.
EVENT_SUCCESS = "success"
EVENT_FAILED = "failed"
EVENT_NOT_FOUND = "not_found"
EVENT_TIMEOUT = "timeout"
EVENT_ERROR = "error"


def scrubbed(hook: HeyGenAsyncHook, message: str) -> str:
    """``message`` without the connection's key, once the hook resolved it: events land in the database."""
    settings = hook._settings
    return settings.scrub(message) if settings is not None else message
