"""
One bulk status poller per (event loop, connection, job kind): every :class:`HeyGenJobTrigger` of a
triggerer reads its job's status through it, and reads that arrive together go out as one
``GET <bulk endpoint>?<ids>=a,b,...`` of at most 100 ids. Each trigger keeps its own schedule (it asks
when its own interval says so); the poller only coalesces the asks. How and why: ``docs/waiting.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any
from urllib.parse import quote

from airflow_heygen.exceptions import HeyGenUnavailableError
from airflow_heygen.hooks.heygen_async import HeyGenAsyncHook, HeyGenAsyncSession
from airflow_heygen.hooks.jobs_async import JobStatusReader, get_job_async, single_job_reader
from airflow_heygen.job import Job, job_from_bulk_entry
from airflow_heygen.kinds import JobKind, JobStatus, job_kind
from airflow_heygen.retrying import retry_async

# HeyGen answers at most this many ids per bulk request.
MAX_IDS_PER_REQUEST = 100
# The least a read waits for others to share its request; small next to any poll interval. A read may
# allow more (its patience): a trigger's later reads allow up to a quarter of their interval
# (docs/waiting.md).
COALESCE_SECONDS = 0.1
# How a job HeyGen did not answer for reads: still running, read again next time (or the wait times out).
UNREAD = "unread (HeyGen unavailable)"
UNREAD_AT_DEADLINE = "unread at the deadline"
# Bulk requests of one poller in flight at once.
MAX_REQUESTS_IN_FLIGHT = 8


class BulkPoller:
    """
    Coalesces the status reads of one connection's jobs of one kind into bulk requests.

    A read says how long it may wait (its patience, at least ``COALESCE_SECONDS``); when the first
    gathered read's time is up, it goes out with the reads due next, up to ``MAX_IDS_PER_REQUEST``
    ids a request. A bulk request is retried under the connection's policy; an id missing from the
    answer is read singly. A completed job is answered as its bulk entry has it, without the video URL:
    the task reads its details once, in the worker
    (:meth:`~airflow_heygen.hooks.jobs.HeyGenJobsMixin.detailed`). A read whose caller is cancelled
    leaves the batch; a read still unanswered at its caller's deadline returns "still running".

    :param hook: the hook of the connection (its settings and retrying attempt).
    :param http: an open session of that connection.
    :param kind: the job kind; it must have a bulk endpoint.
    """

    def __init__(self, hook: HeyGenAsyncHook, http: HeyGenAsyncSession, kind: JobKind) -> None:
        assert kind.bulk_endpoint is not None and kind.bulk_param is not None
        self.hook = hook
        self.http = http
        self.kind = kind
        self.users = 0
        self.requests = 0
        self._gathering: dict[str, list[asyncio.Future[Job]]] = {}
        self._deadlines: dict[str, float] = {}
        # Gathered reads by the loop time they must be sent by; entries of reads that left stay until
        # they come up (a job id not gathered any more is skipped).
        self._queue: list[tuple[float, int, str]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_REQUESTS_IN_FLIGHT)

    async def read(self, job_id: str, deadline: float | None, patience: float = 0.0) -> Job:
        """
        The job's current status, from a bulk request sent within ``patience`` seconds from now.

        :param job_id: the job.
        :param deadline: Unix time past which the caller waits no longer.
        :param patience: seconds this read may wait for others to share its request (at least
            ``COALESCE_SECONDS``; never past the deadline).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Job] = loop.create_future()
        self._gathering.setdefault(job_id, []).append(future)
        wanted_until = deadline if deadline is not None else time.time() + 3600.0
        self._deadlines[job_id] = max(self._deadlines.get(job_id, 0.0), wanted_until)
        wait = min(max(COALESCE_SECONDS, patience), max(0.0, wanted_until - time.time()))
        send_by = loop.time() + wait
        heapq.heappush(self._queue, (send_by, next(self._order), job_id))
        if self._timer is None or send_by < self._timer.when():
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(send_by, self._send)
        # Each read has a future of its own: one timer answers it at its deadline (a batch may be
        # retried until its latest reader's), and a cancelled caller cancels only its own future.
        late = None
        if deadline is not None:
            late = loop.call_later(
                max(0.0, deadline - time.time()) + 1.0, self._unread_at_deadline, job_id, future
            )
        try:
            return await future
        finally:
            if late is not None:
                late.cancel()
            self._forget(job_id, future)

    def _unread(self, job_id: str, why: str) -> Job:
        """A job HeyGen has not answered for: still running, as far as anyone knows."""
        return Job(self.kind.name, job_id, JobStatus.RUNNING, raw_status=why)

    def _unread_at_deadline(self, job_id: str, future: asyncio.Future[Job]) -> None:
        if not future.done():
            future.set_result(self._unread(job_id, UNREAD_AT_DEADLINE))

    def _forget(self, job_id: str, future: asyncio.Future[Job]) -> None:
        """Take a read that ended before its batch went out off that batch."""
        waiters = self._gathering.get(job_id)
        if waiters is not None and future in waiters:
            waiters.remove(future)
            if not waiters:
                del self._gathering[job_id]
                self._deadlines.pop(job_id, None)

    def _send(self) -> None:
        """
        Send the reads whose time has come, each request topped up to ``MAX_IDS_PER_REQUEST`` ids with
        the reads due next (a little early for them, and one request fewer), then wait for the next.
        """
        self._timer = None
        loop = asyncio.get_running_loop()
        queue = self._queue
        while queue and queue[0][0] <= loop.time():
            batch: dict[str, list[asyncio.Future[Job]]] = {}
            while queue and len(batch) < MAX_IDS_PER_REQUEST:
                job_id = heapq.heappop(queue)[2]
                waiters = self._gathering.pop(job_id, None)  # None: already sent, or its reads left
                if waiters:
                    batch[job_id] = waiters
            if batch:
                deadline = max(self._deadlines.pop(job_id, 0.0) for job_id in batch)
                task = asyncio.ensure_future(self._answer(batch, deadline))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
        while queue and queue[0][2] not in self._gathering:
            heapq.heappop(queue)
        if queue:
            self._timer = loop.call_at(queue[0][0], self._send)

    async def _answer(self, batch: dict[str, list[asyncio.Future[Job]]], deadline: float) -> None:
        try:
            jobs = await self._read_bulk(list(batch), deadline)
        except HeyGenUnavailableError as err:
            # Reads are idempotent: a batch HeyGen did not answer within the retries fails no job;
            # each reads as still running and is read again at its next interval, until its deadline.
            jobs = {job_id: err for job_id in batch}
        except Exception as err:
            for waiters in batch.values():
                for future in waiters:
                    if not future.done():
                        future.set_exception(err)
            return
        for job_id, waiters in batch.items():
            outcome = jobs[job_id]
            if isinstance(outcome, HeyGenUnavailableError):
                self.hook.log.warning(
                    "HeyGen %s %s unread this time: %s", self.kind.description, job_id, outcome
                )
                outcome = self._unread(job_id, UNREAD)
            for future in waiters:
                if future.done():
                    continue
                # A single read that failed (its retries spent) fails its own job's waiters only.
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    async def _read_bulk(self, ids: list[str], deadline: float) -> dict[str, Job | Exception]:
        """The statuses of ``ids``: one bulk request (retried), ids it left out read singly."""
        endpoint = f"{self.kind.bulk_endpoint}?{self.kind.bulk_param}={quote(','.join(ids), safe=',')}"
        self.requests += 1

        sent = time.monotonic()

        async def attempt() -> Any:
            nonlocal sent
            # A slot is held for one attempt only: a batch sleeping out a backoff or a Retry-After,
            # or reading its completed jobs singly, must not keep the other batches waiting.
            async with self._slots:
                sent = time.monotonic()
                return await self.hook._attempt(self.http, "GET", endpoint, False, list_data=True)

        entries: Any = await retry_async(
            attempt,
            self.http.settings.retry,
            what=f"GET {self.kind.bulk_endpoint} ({len(ids)} ids)",
            log=self.hook.log,
            deadline=deadline,
        )
        wanted = set(ids)
        jobs: dict[str, Job | Exception] = {}
        for entry in entries:
            if isinstance(entry, Mapping):
                job = job_from_bulk_entry(self.kind, entry, read_at=sent)
                if job.id in wanted:
                    jobs[job.id] = job
        missing = [job_id for job_id in ids if job_id not in jobs]
        for job_id, outcome in zip(missing, await self._read_singly(missing, deadline), strict=True):
            jobs[job_id] = outcome
        return jobs

    async def _read_singly(self, ids: list[str], deadline: float) -> list[Job | Exception]:
        """Each job's status, or the error its read ended with (one job's error is not the others')."""
        outcomes = await asyncio.gather(
            *(get_job_async(self.hook, self.http, self.kind, job_id, deadline=deadline) for job_id in ids),
            return_exceptions=True,
        )
        results: list[Job | Exception] = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome  # cancelled (the poller is closing) or interrupted
            results.append(outcome)
        return results

    async def close(self) -> None:
        """Stop: nothing is waiting any more."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in list(self._in_flight):
            task.cancel()
        for task in list(self._in_flight):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class _PollerHandle:
    """A poller with the session it holds open while it has users."""

    def __init__(self, poller: BulkPoller, stack: AsyncExitStack) -> None:
        self.poller = poller
        self.stack = stack


_POLLERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], _PollerHandle]] = (
    weakref.WeakKeyDictionary()
)


def pollers() -> dict[tuple[str, str], BulkPoller]:
    """The running event loop's pollers by (connection id, kind): for tests and benchmarks."""
    handles = _POLLERS.get(asyncio.get_running_loop(), {})
    return {key: handle.poller for key, handle in handles.items()}


class BulkJobReader:
    """
    A :class:`~airflow_heygen.hooks.jobs_async.JobStatusReader` through the shared :class:`BulkPoller`.

    :param poller: the poller of this reader's connection and kind.
    """

    holds_reads = True

    def __init__(self, poller: BulkPoller) -> None:
        self.poller = poller

    async def read(self, kind: str, job_id: str, *, deadline: float | None, patience: float = 0.0) -> Job:
        """The job's status, from the poller's next bulk request."""
        return await self.poller.read(job_id, deadline, patience)


@asynccontextmanager
async def bulk_job_reader(hook: HeyGenAsyncHook, kind: str) -> AsyncIterator[JobStatusReader]:
    """
    The reader of ``kind`` jobs of ``hook``'s connection on this event loop: through the shared
    poller when the kind has a bulk endpoint, else one request per read. The first user starts the
    poller, the last one to leave stops it; different connections never share one.

    :param hook: the trigger's hook (its connection).
    :param kind: the job kind.
    """
    row = job_kind(kind)
    if row.bulk_endpoint is None:
        async with single_job_reader(hook) as reader:
            yield reader
        return
    handles = _POLLERS.setdefault(asyncio.get_running_loop(), {})
    key = (hook.heygen_conn_id, row.name)
    handle = handles.get(key)
    if handle is None:
        stack = AsyncExitStack()
        http = await stack.enter_async_context(hook.session())
        handle = handles.get(key)  # another trigger may have started one meanwhile
        if handle is None:
            handle = handles[key] = _PollerHandle(BulkPoller(hook, http, row), stack)
        else:
            await stack.aclose()
    handle.poller.users += 1
    try:
        yield BulkJobReader(handle.poller)
    finally:
        handle.poller.users -= 1
        if handle.poller.users == 0 and handles.get(key) is handle:
            del handles[key]
            await handle.poller.close()
            await handle.stack.aclose()
