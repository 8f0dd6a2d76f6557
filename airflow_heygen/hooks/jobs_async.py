"""
HeyGen API v3 for the triggerer: reading a job's status through a
:class:`~airflow_heygen.hooks.heygen_async.HeyGenAsyncSession`.

A trigger reads statuses through a :class:`JobStatusReader`; :class:`SingleJobReader` asks
``GET <status endpoint>`` once per poll. A bulk poller (one ``GET <bulk endpoint>`` for many
triggers) is another implementation of the same protocol, built on
:func:`airflow_heygen.kinds.job_from_bulk_entry`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from airflow_heygen.exceptions import HeyGenUnavailableError
from airflow_heygen.hooks.heygen_async import HeyGenAsyncHook, HeyGenAsyncSession
from airflow_heygen.hooks.jobs import unavailable_while_reading_job
from airflow_heygen.job import Job, job_from_single
from airflow_heygen.kinds import JobKind, job_kind


async def get_job_async(
    hook: HeyGenAsyncHook,
    http: HeyGenAsyncSession,
    kind: str | JobKind,
    job_id: str,
    *,
    deadline: float | None = None,
) -> Job:
    """
    Read one job's status; a 404 reads as ``not_found``; 429, 5xx and network errors are retried
    under the connection's policy, never past ``deadline``.

    :param hook: the async hook (its retrying :meth:`~HeyGenAsyncHook.request`).
    :param http: a session from ``hook.session()``.
    :param kind: the job's kind.
    :param job_id: its id.
    :param deadline: Unix time past which retries do not wait.
    """
    row = job_kind(kind)
    try:
        data = await hook.request(http, "GET", row.status_path(job_id), deadline=deadline)
    except HeyGenUnavailableError as err:
        raise unavailable_while_reading_job(row, job_id, err) from None
    return job_from_single(row, data, job_id)


async def delete_job_async(
    hook: HeyGenAsyncHook,
    http: HeyGenAsyncSession,
    kind: str | JobKind,
    job_id: str,
    *,
    deadline: float | None = None,
) -> None:
    """
    Delete one job (``DELETE <delete endpoint>``); an unknown id is not an error; 429, 5xx and network
    errors are retried under the connection's policy, never past ``deadline``.

    :param hook: the async hook (its retrying :meth:`~HeyGenAsyncHook.request`).
    :param http: a session from ``hook.session()``.
    :param kind: the job's kind; one with a delete endpoint.
    :param job_id: its id.
    :param deadline: Unix time past which retries do not wait.
    """
    await hook.request(http, "DELETE", job_kind(kind).delete_path(job_id), deadline=deadline)


class JobStatusReader(Protocol):
    """How a trigger learns a job's status: the one seam a bulk poller replaces."""

    #: Whether a read may be held back (up to its patience) to share a request: a trigger then asks
    #: for its reads ahead of their due time.
    holds_reads: bool

    async def read(self, kind: str, job_id: str, *, deadline: float | None, patience: float = 0.0) -> Job:
        """
        The job's current status.

        :param kind: the job's kind.
        :param job_id: its id.
        :param deadline: Unix time past which retries do not wait.
        :param patience: seconds the read may be held back to share a request with others' reads
            (a bulk reader's use; a single read goes out at once).
        """
        ...


class SingleJobReader:
    """
    A :class:`JobStatusReader` asking HeyGen for the one job (``GET <status endpoint>``).

    :param hook: the async hook.
    :param http: an open session of the hook.
    """

    holds_reads = False

    def __init__(self, hook: HeyGenAsyncHook, http: HeyGenAsyncSession) -> None:
        self.hook = hook
        self.http = http

    async def read(self, kind: str, job_id: str, *, deadline: float | None, patience: float = 0.0) -> Job:
        """The job's status from its single read (at once, whatever the patience)."""
        return await get_job_async(self.hook, self.http, kind, job_id, deadline=deadline)


@asynccontextmanager
async def single_job_reader(hook: HeyGenAsyncHook) -> AsyncIterator[JobStatusReader]:
    """A :class:`SingleJobReader` on the event loop's shared session, for as long as the block runs."""
    async with hook.session() as http:
        yield SingleJobReader(hook, http)
