"""
The trigger a campaign waits in: it watches every job the campaign has running at HeyGen and wakes
the task when enough of them ended, so that the task's resumes follow the campaign's length in time,
not its number of items.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from airflow.triggers.base import TriggerEvent

from airflow_heygen.exceptions import HeyGenError
from airflow_heygen.hooks.heygen_async import HeyGenAsyncHook, HeyGenAsyncSession
from airflow_heygen.hooks.jobs_async import get_job_async
from airflow_heygen.job import Job, job_from_bulk_entry
from airflow_heygen.kinds import JobKind, job_kind
from airflow_heygen.retrying import retry_async
from airflow_heygen.triggers.events import EVENT_ERROR, EVENT_TIMEOUT, OneEventTrigger, scrubbed

# Ids (and batch ids) one bulk statuses request may name.
BULK_LIMIT = 100
# Single reads (workflows executions) in flight at once.
SINGLE_READS = 10
EVENT_PROGRESS = "progress"


def batch_key(batch_id: str, item_index: int) -> str:
    """How a campaign names a v3 batch item it watches: ``<batch id>#<item index>``."""
    return f"{batch_id}#{item_index}"


def ended_entry(key: str, job: Job) -> dict[str, Any]:
    """An ended job as the event reports it."""
    return {
        "key": key,
        "job_id": job.id,
        "status": job.status.value,
        "failure": job.failure,
        "failure_code": job.failure_code,
        "video_url": job.video_url,
        "seen_at": time.time(),  # the campaign learns its render time from these
    }


class HeyGenCampaignTrigger(OneEventTrigger):
    """
    Watch a campaign's running jobs; yield one event once ``resume_after`` of them ended (at the read
    after the one that found them, which gathers those ending moments later), or once one ended ``hold``
    seconds ago, or all ended, or at ``wake_at`` (ahead of the next expected end: see
    :mod:`airflow_heygen.campaigns.pacing`), or at the deadline.

    v3 jobs are watched by their batch (``GET <bulk endpoint>?batch_ids=...``: one request covers up
    to 100 batches of 100 items); workflows executions one read each per interval. Kwargs hold the
    watched keys and the connection id, never the API key.

    The event is ``{"status": "progress", "ended": [{"key", "job_id", "status", "failure",
    "failure_code", "video_url"}], "message"}``, or ``timeout`` / ``error`` with a ``message``.

    :param kind: the jobs' kind.
    :param watch: the watched jobs: execution ids, or ``<batch id>#<item index>`` of v3 batch items.
    :param heygen_conn_id: id of the HeyGen connection.
    :param poll_interval: seconds between reads.
    :param deadline: Unix time at which to give up.
    :param resume_after: how many ended jobs wake the task at once.
    :param hold: seconds an ended job may wait for others before the task is woken.
    :param wake_at: Unix time at which to wake the task whatever ended, or None.
    """

    def __init__(
        self,
        kind: str,
        watch: Sequence[str],
        heygen_conn_id: str = HeyGenAsyncHook.default_conn_name,
        poll_interval: float = 10.0,
        deadline: float | None = None,
        resume_after: int = 1,
        hold: float = 0.0,
        wake_at: float | None = None,
    ) -> None:
        super().__init__()
        self.kind = job_kind(kind).name
        self.watch = [str(key) for key in watch]
        self.heygen_conn_id = heygen_conn_id
        self.poll_interval = float(poll_interval)
        self.deadline = float(deadline) if deadline is not None else time.time() + 3600.0
        self.resume_after = max(1, int(resume_after))
        self.hold = float(hold)
        self.wake_at = float(wake_at) if wake_at is not None else None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Classpath and kwargs (stored in Airflow's database: never a secret)."""
        return f"{type(self).__module__}.{type(self).__qualname__}", {
            "kind": self.kind,
            "watch": list(self.watch),
            "heygen_conn_id": self.heygen_conn_id,
            "poll_interval": self.poll_interval,
            "deadline": self.deadline,
            "resume_after": self.resume_after,
            "hold": self.hold,
            "wake_at": self.wake_at,
        }

    async def _wait(self) -> TriggerEvent:
        hook = HeyGenAsyncHook(self.heygen_conn_id)
        row = job_kind(self.kind)
        ended: dict[str, dict[str, Any]] = {}
        first_end: float | None = None
        # Whether an earlier read already found enough ended: the event waits for one more read, so that
        # jobs submitted together and ending moments apart wake the task once, not twice.
        enough_before = False
        try:
            async with hook.session() as http:
                while True:
                    for key, job in (await self._read(hook, http, row, ended)).items():
                        if job.status.is_terminal and key not in ended:
                            ended[key] = ended_entry(key, job)
                            first_end = first_end or time.monotonic()
                    held = first_end is not None and time.monotonic() - first_end >= self.hold
                    enough = len(ended) >= min(self.resume_after, len(self.watch))
                    woken = self.wake_at is not None and time.time() >= self.wake_at
                    if (
                        len(ended) == len(self.watch)
                        or (enough and enough_before)
                        or (ended and held)
                        or woken
                    ):
                        message = f"{len(ended)} of {len(self.watch)} HeyGen {row.description}s ended"
                        return TriggerEvent(
                            {
                                "status": EVENT_PROGRESS,
                                "ended": list(ended.values()),
                                "message": message,
                                "fired_at": time.time(),  # the campaign learns its resume latency
                            }
                        )
                    enough_before = enough
                    remaining = self.deadline - time.time()
                    if remaining <= 0:
                        left = len(self.watch) - len(ended)
                        message = f"{left} HeyGen {row.description}s still running at the deadline"
                        return TriggerEvent(
                            {"status": EVENT_TIMEOUT, "ended": list(ended.values()), "message": message}
                        )
                    sleep = min(self.poll_interval, remaining)
                    if self.wake_at is not None:
                        sleep = max(0.0, min(sleep, self.wake_at - time.time()))
                    await asyncio.sleep(sleep)
        except HeyGenError as err:
            return TriggerEvent(
                {"status": EVENT_ERROR, "ended": list(ended.values()), "message": scrubbed(hook, str(err))}
            )

    async def _read(
        self, hook: HeyGenAsyncHook, http: HeyGenAsyncSession, row: JobKind, ended: Mapping[str, Any]
    ) -> dict[str, Job]:
        """The statuses of the watched jobs not seen ending yet, by key."""
        waiting = [key for key in self.watch if key not in ended]
        if row.bulk_endpoint is None:
            return await self._read_singly(hook, http, row, waiting)
        batches = sorted({key.split("#", 1)[0] for key in waiting})
        wanted = set(waiting)
        jobs: dict[str, Job] = {}
        for start in range(0, len(batches), BULK_LIMIT):
            chunk = batches[start : start + BULK_LIMIT]
            endpoint = f"{row.bulk_endpoint}?batch_ids={quote(','.join(chunk), safe=',')}"
            entries: Any = await retry_async(
                functools.partial(hook._attempt, http, "GET", endpoint, False, list_data=True),
                http.settings.retry,
                what=f"GET {row.bulk_endpoint} ({len(chunk)} batches)",
                log=self.log,
                deadline=self.deadline,
            )
            for entry in entries or ():
                if not isinstance(entry, Mapping):
                    continue
                index = entry.get("item_index")
                key = batch_key(str(entry.get("batch_id")), index) if isinstance(index, int) else None
                if key in wanted:
                    jobs[key] = job_from_bulk_entry(row, entry)
        return jobs

    async def _read_singly(
        self, hook: HeyGenAsyncHook, http: HeyGenAsyncSession, row: JobKind, keys: Sequence[str]
    ) -> dict[str, Job]:
        slots = asyncio.Semaphore(SINGLE_READS)

        async def read(job_id: str) -> Job:
            async with slots:
                return await get_job_async(hook, http, row, job_id, deadline=self.deadline)

        jobs = await asyncio.gather(*(read(key) for key in keys))
        return dict(zip(keys, jobs, strict=True))
