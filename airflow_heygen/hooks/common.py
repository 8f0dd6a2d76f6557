"""What the sync and async HeyGen hooks share beyond the pure contract in :mod:`airflow_heygen.api`."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_heygen.api import ConnectionSettings
from airflow_heygen.exceptions import HeyGenExecutionError, HeyGenTLSError, HeyGenUnavailableError
from airflow_heygen.models import Execution, ExecutionStatus

if TYPE_CHECKING:
    from airflow.sdk import Connection


def resolve_settings(
    conn_id: str, conn: Connection | None, extra: Mapping[str, Any] | None = None
) -> ConnectionSettings:
    """
    The one way both hooks turn a connection (or its absence) into settings; the key falls back to
    ``HEYGEN_API_KEY``. Callers register the key with the masker next (:func:`mask_key` or
    :func:`amask_key`): whichever key is used, worker and triggerer logs mask it alike.

    :param conn_id: the connection id, named in errors.
    :param conn: the connection, or None when it does not exist.
    :param extra: the connection's extra, when the caller decoded it already (the async path).
    """
    if extra is None:
        extra = conn.extra_dejson if conn is not None and conn.extra else {}
    return ConnectionSettings.from_parts(
        conn_id,
        host=conn.host if conn else None,
        schema=conn.schema if conn else None,
        port=conn.port if conn else None,
        password=conn.password if conn else None,
        extra=extra,
    )


def mask_key(settings: ConnectionSettings) -> ConnectionSettings:
    """Register the key with Airflow's secrets masker (in a worker); return ``settings``."""
    from airflow.sdk.log import mask_secret

    mask_secret(settings.api_key)
    return settings


async def amask_key(settings: ConnectionSettings) -> ConnectionSettings:
    """:func:`mask_key` for the triggerer's event loop, where a synchronous call could deadlock."""
    from airflow.sdk.log import amask_secret

    await amask_secret(settings.api_key)
    return settings


def tls_error(settings: ConnectionSettings, err: BaseException) -> HeyGenTLSError:
    """
    A TLS failure told plainly: which URL, what the TLS layer said, and the setting that fixes it.

    :param settings: the connection the request was for.
    :param err: the TLS error of ``requests`` or aiohttp.
    """
    return HeyGenTLSError(
        settings.scrub(
            f"TLS verification of {settings.base_url} failed ({type(err).__name__}: {err}). If HeyGen (or "
            "your egress proxy) presents a certificate of a private CA, set the connection extra 'verify' "
            "to that CA bundle's path"
        )
    )


class StatusChangeLog:
    """
    Logs one line per status change of a job, with the time since waiting began.

    :param log: where to log.
    :param execution_id: the job being watched.
    """

    def __init__(self, log: logging.Logger | Any, execution_id: str) -> None:
        self.log = log
        self.execution_id = execution_id
        self.started = time.monotonic()
        self.last: str | None = None

    def observe(self, execution: Execution) -> None:
        """Log ``execution``'s status if it differs from the last one seen."""
        shown = execution.raw_status or execution.status.value
        if shown != self.last:
            self.last = shown
            self.log.info(
                "HeyGen execution %s is %s after %.1fs",
                self.execution_id,
                shown,
                time.monotonic() - self.started,
            )


def failure_reason(execution: Execution) -> str:
    """HeyGen's error message of a failed execution, or one that names its workflow type."""
    return execution.error_message or f"{execution.workflow_type or 'HeyGen workflow'} failed"


def raise_for_outcome(execution: Execution) -> Execution:
    """
    Return a completed execution; raise a clear error for a failed or vanished one.

    :param execution: an execution in a terminal status.
    """
    if execution.status is ExecutionStatus.FAILED:
        raise HeyGenExecutionError(
            f"HeyGen execution {execution.execution_id} failed: {failure_reason(execution)}",
            execution.execution_id,
        )
    if execution.status is ExecutionStatus.NOT_FOUND:
        raise HeyGenExecutionError(
            f"HeyGen execution {execution.execution_id}: Workflow not found", execution.execution_id
        )
    return execution


def unavailable_while_reading(execution_id: str, err: HeyGenUnavailableError) -> HeyGenUnavailableError:
    """
    ``err``, raised while reading an execution's status, retold with that execution's id and how to
    resume: HeyGen keeps running it while the network (or HeyGen) is down.

    :param execution_id: the execution being read.
    :param err: the error that ended the retries.
    """
    return HeyGenUnavailableError(
        f"HeyGen execution {execution_id}: {err}. The execution may still finish: wait for it with "
        f"HeyGenExecutionSensor(task_id=..., execution_id={execution_id!r}) instead of submitting again"
    )


def timeout_message(execution_id: str, timeout: float) -> str:
    """The error for an execution still running at the deadline, saying how to resume waiting."""
    return (
        f"HeyGen execution {execution_id} was still running after {timeout:.0f}s. It may still finish: "
        f"wait for it with HeyGenExecutionSensor(task_id=..., execution_id={execution_id!r}) "
        "instead of submitting again"
    )
