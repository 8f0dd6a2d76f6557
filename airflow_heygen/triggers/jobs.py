"""The one trigger that waits for a HeyGen job of any kind (a workflows execution too) in the triggerer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_heygen.exceptions import HeyGenError, HeyGenExecutionError
from airflow_heygen.hooks.common import StatusChangeLog
from airflow_heygen.hooks.heygen_async import HeyGenAsyncHook
from airflow_heygen.hooks.jobs import job_failed_message, job_timeout_message, raise_for_job
from airflow_heygen.hooks.jobs_async import JobStatusReader, delete_job_async, single_job_reader
from airflow_heygen.job import Job
from airflow_heygen.kinds import JobStatus, job_kind
from airflow_heygen.triggers.events import (
    EVENT_ERROR,
    EVENT_FAILED,
    EVENT_NOT_FOUND,
    EVENT_SUCCESS,
    EVENT_TIMEOUT,
    OneEventTrigger,
    error_fields,
    event_of_end,
    raise_for_error_event,
    scrubbed,
)
from airflow_heygen.triggers.first_wait import completion_times

# How long on_kill's deletes may retry: within the triggerer's default on_kill_timeout (30 s).
DELETE_SECONDS = 20.0
# A read after the first is asked for this share of the poll interval before it is due, and may wait
# until it is due for other triggers' reads to share its bulk request: never later than one interval
# after the last, and requests stay full while about 400 waits share a poller (docs/waiting.md).
READ_PATIENCE = 0.25


class HeyGenJobTrigger(OneEventTrigger):
    """
    Poll a HeyGen job until it ends or its wall-clock deadline passes, then yield one event.

    The kwargs are the kind, the job id, the connection id, the poll interval and the deadline (a
    Unix time, so a triggerer restart does not restart the clock): never the API key and never the
    job's ``Idempotency-Key``. The job is polled at once, then every ``poll_interval`` seconds, and
    once more at the deadline. Statuses are read through :meth:`status_reader` (one
    :class:`~airflow_heygen.hooks.jobs_async.JobStatusReader`), the seam a bulk poller replaces.

    The event is ``{"status": "success" | "failed" | "not_found" | "timeout" | "error", "kind",
    "job_id", "message", "job": <the operators' job dict or None>}``. For a kind read in bulk, a
    completed job's dict is its bulk entry's, without the video URL: the task reads that once, in the
    worker (:meth:`~airflow_heygen.hooks.jobs.HeyGenJobsMixin.detailed`).

    With ``delete_on_kill`` (then, and only then, in the kwargs too), :meth:`on_kill` deletes the
    job, and ``other_job_ids`` (a translation's other languages), when a user marks the deferred
    task failed or succeeded or clears it (Airflow 3.3+); a triggerer restart does not delete.

    A kind read one request per job (no bulk endpoint: workflows executions) learns, per workflow
    type, how long jobs take (``learn_first_wait``, :mod:`~airflow_heygen.triggers.first_wait`) and
    skips the first reads that would almost surely find a new job still running.

    :param kind: the job's kind, e.g. ``"video"`` (see :mod:`airflow_heygen.kinds`).
    :param job_id: HeyGen's id of the job.
    :param heygen_conn_id: id of the HeyGen connection.
    :param poll_interval: seconds between polls.
    :param deadline: Unix time at which to give up.
    :param delete_on_kill: delete the job(s) at HeyGen when a user kills the deferred task.
    :param other_job_ids: more jobs of the same task to delete with it (only with ``delete_on_kill``).
    :param workflow_type: a workflows execution's type (its video URL's place; what it learns by).
    """

    learn_first_wait = True

    def __init__(
        self,
        kind: str,
        job_id: str,
        heygen_conn_id: str = HeyGenAsyncHook.default_conn_name,
        poll_interval: float = 10.0,
        deadline: float | None = None,
        delete_on_kill: bool = False,
        other_job_ids: Sequence[str] = (),
        workflow_type: str | None = None,
    ) -> None:
        super().__init__()
        self.kind = job_kind(kind).name
        self.job_id = job_id
        self.heygen_conn_id = heygen_conn_id
        self.poll_interval = float(poll_interval)
        self.deadline = float(deadline) if deadline is not None else time.time() + 600.0
        self.delete_on_kill = bool(delete_on_kill)
        self.other_job_ids = [str(other) for other in other_job_ids if other != job_id]
        self.workflow_type = workflow_type

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """
        Classpath and kwargs; stored in Airflow's database, so never a secret. The deletion's
        kwargs appear only when asked for, so every other trigger's row stays as it always was.
        """
        kwargs: dict[str, Any] = {
            "kind": self.kind,
            "job_id": self.job_id,
            "heygen_conn_id": self.heygen_conn_id,
            "poll_interval": self.poll_interval,
            "deadline": self.deadline,
        }
        if self.delete_on_kill:
            kwargs["delete_on_kill"] = True
            if self.other_job_ids:
                kwargs["other_job_ids"] = list(self.other_job_ids)
        if self.workflow_type:
            kwargs["workflow_type"] = self.workflow_type
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    # One bulk poller per (triggerer, connection, kind) reads the statuses of all waiting jobs; off,
    # every trigger reads its own job with one request per interval (benchmarks compare the two).
    bulk_polling = True

    def status_reader(self, hook: HeyGenAsyncHook) -> AbstractAsyncContextManager[JobStatusReader]:
        """
        Where statuses come from, for the length of one run: the event loop's shared bulk poller of
        this connection and kind (:mod:`airflow_heygen.triggers.bulk`), or per-request reads.

        :param hook: the run's async hook.
        """
        from airflow_heygen.triggers.bulk import bulk_job_reader

        return bulk_job_reader(hook, self.kind) if self.bulk_polling else single_job_reader(hook)

    def _event(self, status: str, message: str, job: Job | None = None, **more: Any) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "kind": self.kind,
                "job_id": self.job_id,
                "message": message,
                "job": job.to_result() if job is not None else None,
                **more,
            }
        )

    async def _wait(self) -> TriggerEvent:
        """Poll until the job ends or the deadline passes; the one event to yield (errors included)."""
        hook = HeyGenAsyncHook(self.heygen_conn_id)
        row = job_kind(self.kind)
        progress = StatusChangeLog(self.log, self.job_id, row.description)
        # Only kinds read one request per job learn: a bulk read costs the same whoever joins it.
        learned = completion_times() if self.learn_first_wait and row.bulk_endpoint is None else None
        try:
            async with self.status_reader(hook) as reader:
                started = time.monotonic()
                early = learned.early(self.workflow_type) if learned is not None else None
                due = started + (early or 0.0)  # near the expected end, once learned
                lead = 0.0  # the first read goes out at once
                reads = 0
                while True:
                    await asyncio.sleep(
                        min(max(0.0, due - lead - time.monotonic()), max(0.0, self.deadline - time.time()))
                    )
                    polled = time.monotonic()
                    patience = max(0.0, due - polled)
                    job = await reader.read(self.kind, self.job_id, deadline=self.deadline, patience=patience)
                    job = job.typed(self.workflow_type)
                    reads += 1
                    progress.observe(job)
                    if job.status.is_terminal:
                        if job.status is JobStatus.COMPLETED:
                            # Done at an immediate first read says nothing about how long jobs take.
                            if learned is not None and (reads > 1 or early is not None):
                                learned.record(job.workflow_type, time.monotonic() - started)
                            # A bulk read knows no video URL: the task reads it, in the worker.
                            progress.completed(job.video_url)
                        message = (
                            f"{self.kind} {self.job_id} completed"
                            if job.status is JobStatus.COMPLETED
                            else job_failed_message(job)
                        )
                        return self._event(event_of_end(job.status), message, job)
                    if self.deadline - time.time() <= 0:
                        message = f"HeyGen {row.description} {self.job_id} still running at the deadline"
                        return self._event(EVENT_TIMEOUT, message, job)
                    # From when the request went out, where the reader knows it (it may have been sent
                    # at any time since the read was asked for).
                    due = (job.read_at if job.read_at is not None else polled) + self.poll_interval
                    lead = READ_PATIENCE * self.poll_interval if reader.holds_reads else 0.0
                    if reads == 1 and early is None and learned is not None:
                        due = max(due, started + (learned.early(job.workflow_type) or 0.0))
        except HeyGenError as err:
            message = str(err) if self.job_id in str(err) else f"HeyGen {self.kind} {self.job_id}: {err}"
            return self._event(EVENT_ERROR, scrubbed(hook, message), **error_fields(err))
        except Exception as err:
            self.log.exception("Waiting for HeyGen %s %s failed", self.kind, self.job_id)
            message = f"HeyGen {self.kind} {self.job_id}: {type(err).__name__}: {err}"
            return self._event(EVENT_ERROR, scrubbed(hook, message))

    async def on_kill(self) -> None:
        """
        A user killed the deferred task (mark failed or succeeded, clear): with ``delete_on_kill``,
        delete its job(s) at HeyGen (an unknown id is no error); otherwise they keep running.

        Airflow bounds this call (``[triggerer] on_kill_timeout``, 30 s), so the retries of each
        ``DELETE`` stop within :data:`DELETE_SECONDS`; a job that could not be deleted is logged.
        """
        ids = [self.job_id, *self.other_job_ids]
        if not self.delete_on_kill:
            self.log.warning(
                "Stopped waiting for HeyGen %s %s; it keeps running there (delete_on_kill=False)",
                self.kind,
                ", ".join(ids),
            )
            return
        row = job_kind(self.kind)
        if row.delete_endpoint is None:
            self.log.warning("HeyGen cannot delete %ss; %s keeps running", row.description, ", ".join(ids))
            return
        hook = HeyGenAsyncHook(self.heygen_conn_id)
        deadline = time.time() + DELETE_SECONDS
        async with hook.session() as http:
            for job_id in ids:
                try:
                    await delete_job_async(hook, http, row, job_id, deadline=deadline)
                except HeyGenError as err:
                    self.log.warning("Could not delete HeyGen %s %s: %s", row.description, job_id, err)
                else:
                    self.log.info("Deleted HeyGen %s %s (delete_on_kill)", row.description, job_id)


def job_from_event(event: Mapping[str, Any], timeout: float) -> Job:
    """
    The completed job a :class:`HeyGenJobTrigger` event reports; raise for every other event.

    :param event: the event's payload.
    :param timeout: the task's timeout, named when the deadline passed.
    """
    status = event.get("status")
    # An event of an earlier release's execution trigger names the job "execution".
    job_id = str(event.get("job_id", event.get("execution_id")))
    result = event.get("job", event.get("execution"))
    if status == EVENT_SUCCESS and isinstance(result, Mapping):
        return Job.from_result(result)
    if status in (EVENT_FAILED, EVENT_NOT_FOUND) and isinstance(result, Mapping):
        raise_for_job(Job.from_result(result))
    if status == EVENT_TIMEOUT:
        kind = str(event.get("kind", "workflow"))
        raise HeyGenExecutionError(job_timeout_message(job_id, kind, timeout), job_id)
    raise_for_error_event(event, job_id)
