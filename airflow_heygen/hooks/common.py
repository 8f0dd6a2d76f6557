"""What the sync and async HeyGen hooks share beyond the pure contract in :mod:`airflow_heygen.api`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_heygen.api import API_KEY_ENV_VAR, ConnectionSettings, default_base_url_origin
from airflow_heygen.exceptions import HeyGenTLSError

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_heygen.job import Job


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


def log_where_requests_go(
    log: logging.Logger | Any, conn_id: str, conn: Connection | None, settings: ConnectionSettings
) -> None:
    """
    Say once which HeyGen host a hook talks to, and why: ``No connection 'heygen_default': using the
    key in HEYGEN_API_KEY and http://127.0.0.1:8765 (from HEYGEN_API_URL)``, or ``HeyGen API at
    https://api.heygen.com (connection 'heygen_default')``. Never the key.

    :param log: the hook's logger.
    :param conn_id: the connection id.
    :param conn: the connection, or None when it does not exist.
    :param settings: the settings resolved from it.
    """
    if conn is None:
        # Resolved already, so HEYGEN_API_URL was found valid: this only tells where it came from.
        log.info(
            "No connection %r: using the key in %s and %s",
            conn_id,
            API_KEY_ENV_VAR,
            settings.scrub(default_base_url_origin()),
        )
    else:
        log.info("HeyGen API at %s (connection %r)", settings.scrub(settings.base_url), conn_id)


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


# The (Deprecation, Sunset) pairs logged so far in this process: each is worth one warning, not one a poll.
_DEPRECATIONS_SEEN: set[tuple[str | None, str | None]] = set()
_DEPRECATIONS_LOCK = threading.Lock()
# A header value beyond this is not HeyGen's (a date or a link): the log shows its start.
MAX_HEADER_TEXT = 200


def note_deprecation(
    log: logging.Logger | Any,
    settings: ConnectionSettings,
    method: str,
    endpoint: str,
    deprecation: str | None,
    sunset: str | None,
) -> None:
    """
    Warn, once per process for each pair of values, that HeyGen marked an endpoint ``Deprecation``
    and/or ``Sunset`` (RFC 9745, RFC 8594): HeyGen sent these on its /v1 and /v2 APIs before retiring
    them from 2026-11-01, so the warning is the first sign that a pipeline's endpoint is going away.
    Both hooks call it on every answer; a warning per poll would drown the log.

    :param log: the hook's logger.
    :param settings: the connection (its key is blanked out of the values).
    :param method: the request's HTTP method.
    :param endpoint: its path below the base URL.
    :param deprecation: the answer's ``Deprecation`` header, if any.
    :param sunset: its ``Sunset`` header, if any.
    """
    if deprecation is None and sunset is None:
        return
    key = (deprecation, sunset)
    with _DEPRECATIONS_LOCK:
        if key in _DEPRECATIONS_SEEN:
            return
        _DEPRECATIONS_SEEN.add(key)

    def shown(value: str | None) -> str:
        return "(none)" if value is None else settings.scrub(value)[:MAX_HEADER_TEXT]

    log.warning(
        "HeyGen marks %s %s as deprecated: Deprecation: %s, Sunset: %s (at %s). HeyGen retires "
        "endpoints it marks so; move to its successor before the sunset date",
        method,
        endpoint,
        shown(deprecation),
        shown(sunset),
        settings.base_url,
    )


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
    Logs one line per status change of a job, with the time since waiting began, naming the job's
    kind in words: ``HeyGen video <id> is processing after 2.0s``.

    :param log: where to log.
    :param job_id: the job being watched (a v3 job's id, or a workflow execution's).
    :param description: the job's kind in words, :attr:`airflow_heygen.kinds.JobKind.description`
        (``"video"``, ``"lip-sync"``, ``"video translation"``, ``"workflow execution"``).
    """

    def __init__(self, log: logging.Logger | Any, job_id: str, description: str) -> None:
        self.log = log
        self.job_id = job_id
        self.description = description
        self.started = time.monotonic()
        self.last: str | None = None

    def observe(self, job: Job) -> None:
        """
        Log the status of ``job`` if it differs from the last one seen.

        :param job: the latest read.
        """
        shown = job.raw_status or job.status.value
        if shown != self.last:
            self.last = shown
            self.log.info(
                "HeyGen %s %s is %s after %.1fs",
                self.description,
                self.job_id,
                shown,
                time.monotonic() - self.started,
            )

    def completed(self, video_url: str | None) -> None:
        """
        Log that the job completed, with its output video URL when the read that saw it carried one
        (a bulk status read does not: the task reads the URL afterwards).

        :param video_url: the output video's URL, or None when it is not known here.
        """
        if video_url:
            self.log.info("HeyGen %s %s completed: %s", self.description, self.job_id, video_url)
        else:
            self.log.info("HeyGen %s %s completed", self.description, self.job_id)
