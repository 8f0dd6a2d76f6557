"""
What the job operators of both HeyGen APIs share: the ``Idempotency-Key`` of a task instance's
submission (v3), submitting a job exactly once across tries, and waiting for one job or several (a
translation makes one per language) in the worker or the triggerer. A workflows execution is a job of
the ``workflow`` kind: its operators are subclasses too.

Importing this module stays cheap for DAG parsing: hooks and triggers are imported when a task runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk.exceptions import AirflowFailException

from airflow_heygen.exceptions import (
    HeyGenAuthError,
    HeyGenExecutionError,
    HeyGenInputError,
    HeyGenNoAnswerError,
    HeyGenRequestError,
    HeyGenSpendLimitError,
)
from airflow_heygen.idempotency import KEY_TRUSTED_SECONDS, submission_key
from airflow_heygen.job import Job
from airflow_heygen.kinds import JobKind, JobStatus, job_kind
from airflow_heygen.lineage.jobs import JobLineageMixin
from airflow_heygen.operators._common import HeyGenSubmitOperator
from airflow_heygen.state import Submission, SubmissionRecord, content_fingerprint
from airflow_heygen.task_base import DEFER_TIMEOUT_BUFFER, in_doubt_error, no_memory_error

if TYPE_CHECKING:
    from airflow.sdk import Context

# Kept importable from here, where earlier releases defined them.
__all__ = [
    "CERTAIN_REFUSALS",
    "KEY_TRUSTED_SECONDS",
    "HeyGenJobOperator",
    "content_fingerprint",
    "submission_key",
]
# The XCom a failed job's reason is pushed to before the task fails (the HeyGen view shows it).
FAILURE_XCOM = "heygen_failure"
# Several ids of one record (a translation's languages) are saved joined by this.
ID_SEPARATOR = ","
# Refusals after which HeyGen certainly made no job (and released the key).
CERTAIN_REFUSALS = (HeyGenInputError, HeyGenRequestError, HeyGenAuthError, HeyGenSpendLimitError)


class HeyGenJobOperator(JobLineageMixin, HeyGenSubmitOperator):
    """
    Base of the job operators: create one job (or one per language) exactly once per task
    instance, then wait for it in the worker or, when deferrable, in the triggerer.

    Every create carries an ``Idempotency-Key`` derived from the task instance (dag, task, run, map
    index; not the try) and the request, saved in ``task_state_store`` with the in-flight marker
    before the create is sent and logged. A lost answer, a read timeout, a 5xx and 409
    ``request_in_progress`` are retried with the same key, within the try and across tries (also
    after a worker died between the create and saving the id): HeyGen answers with the job it made.
    A new try reattaches to a running or completed job, creates again (with a new key) after
    ``not_found`` or a transient failure, and refuses to guess about a marker whose key is over 23
    hours old. A job that failed for good (bad media, invalid input, an unknown reason) fails the task
    without retries unless ``resubmit_failed=True`` (:mod:`airflow_heygen.failures`). A request of
    several jobs (a translation's languages) is resumed part by part: a retry keeps the running and
    completed ones and creates only the failed ones again. The record is cleared when the task
    succeeds, so clearing a succeeded task makes a new video.

    A kind whose creates take no key (the workflows API) is never sent twice: an answer lost in this
    try, or an earlier try's marker without an id, fails the task without retries (unless
    ``resubmit_unconfirmed``), saying which request may exist at HeyGen.

    :param heygen_conn_id: id of the HeyGen connection (templated).
    :param wait_for_completion: wait for the job(s); if False, return right after the create.
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param poll_interval: seconds between status polls.
    :param timeout: seconds to wait for the job(s) before failing (they keep running at HeyGen;
        resume with :class:`~airflow_heygen.sensors.jobs.HeyGenJobSensor`).
    :param durable: remember the key and the job across tries in ``task_state_store`` (Airflow 3.3+).
    :param resubmit_unconfirmed: when an earlier try's create can no longer be replayed (its key is
        over 23 h old), create a new job instead of failing.
    :param resubmit_failed: let a retry pay for a new job after one that failed for good.
    :param check_inputs: check every input URL with a bounded HEAD before creating (4xx: fail).
    :param delete_on_kill: delete the job(s) at HeyGen (``DELETE``) when the task is killed while it
        runs in a worker and, from Airflow 3.3, when a user marks a deferred task failed or succeeded
        or clears it (the triggerer's ``on_kill``; not on a triggerer restart); off by default, so a
        killed task leaves its paid job to finish.
    """

    kind: str = ""
    # A workflows execution's type (HeyGen's reads do not repeat it); None for the v3 kinds.
    workflow_type: str | None = None

    def __init__(self, *, delete_on_kill: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if delete_on_kill and self.row.delete_endpoint is None:
            problem = f"HeyGen cannot delete {self.row.description}s, so there is nothing to delete on kill"
            raise HeyGenInputError("delete_on_kill", problem).for_task(self.task_id)
        self.delete_on_kill = delete_on_kill
        self.job_ids: list[str] = []
        # The estimate of this task's create (estimated_cost_usd, estimate_basis, rate), once made.
        self.spend: dict[str, Any] = {}

    @property
    def row(self) -> JobKind:
        """This operator's row of the kinds table."""
        return job_kind(self.kind)

    @property
    def id_xcom_key(self) -> str:
        """The XCom the job's id (or a translation's ids) is pushed to as soon as it is known."""
        return "job_ids" if self.row.ids_are_list else "job_id"

    def request_body(self) -> dict[str, Any]:
        """The create's body after templating, checked; subclasses build it."""
        raise NotImplementedError

    def parts(self, body: Mapping[str, Any]) -> list[str]:
        """
        The names of the jobs one create of ``body`` makes, in the order of its answer's ids: one
        unnamed job, or (a translation) one per language.

        :param body: the checked body.
        """
        return [""]

    def body_for_parts(self, body: Mapping[str, Any], parts: Sequence[str]) -> Mapping[str, Any]:
        """
        The body that creates only ``parts`` of ``body``'s jobs (a retry re-creating failed ones).

        :param body: the checked body.
        :param parts: some of :meth:`parts`.
        """
        return body

    def record_request(self, body: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
        """
        What the task's record is of (its fingerprint names the record), and that request in words.

        :param body: the checked body.
        """
        return {
            "kind": self.kind,
            "body": body,
        }, f"{self.row.description} create (POST /{self.row.create_endpoint})"

    def _record(self, context: Context, body: Mapping[str, Any]) -> SubmissionRecord:
        request, description = self.record_request(body)
        return SubmissionRecord.for_task(
            context, durable=self.durable, request=request, description=description
        )

    def execute(self, context: Context) -> dict[str, Any]:
        """Create the job(s) (or reattach to this task's earlier ones) and wait for them."""
        body = self.request_body()
        record = self._record(context, body)
        try:
            with self.recording_failure(context), self.reporting_failures():
                self.job_ids = self._attach_or_create(record, body, context)
                self._push_ids(context)
                if self.spend:  # for the result of a resume that gets no deferral kwargs (dag.test)
                    context["ti"].xcom_push(
                        key="estimated_cost_usd", value=self.spend.get("estimated_cost_usd")
                    )
                if not self.wait_for_completion:
                    record.clear()
                    return self.submitted_result(self.job_ids)
                if self.deferrable:
                    self._defer_next({}, time.time() + self.timeout)
                result = self._finished(
                    self.hook.wait_for_jobs(self.row, self.job_ids, self.poll_interval, self.timeout)
                )
            record.clear()
            return result
        finally:
            self.close_hook()

    @contextmanager
    def recording_failure(self, context: Context) -> Iterator[None]:
        """
        Push a failed or vanished job's reason to XCom :data:`FAILURE_XCOM` before the error fails the
        task: ``{"kind", "job_id", "code", "message", "error"}`` (HeyGen's code and reason, and the task's
        error). A task's result is pushed only when it succeeds, so without this the reason would be in
        the log alone.

        :param context: the task's context.
        """
        try:
            yield
        except HeyGenExecutionError as err:
            failure = getattr(err, "failure", None)
            context["ti"].xcom_push(
                key=FAILURE_XCOM,
                value={
                    "kind": self.kind,
                    "job_id": err.execution_id,
                    "code": getattr(failure, "code", None),
                    "message": getattr(failure, "message", None),
                    "error": str(err),
                },
            )
            raise

    def _push_ids(self, context: Context) -> None:
        ids = self.job_ids if self.row.ids_are_list else self.job_ids[0]
        context["ti"].xcom_push(key=self.id_xcom_key, value=ids)

    def _attach_or_create(
        self, record: SubmissionRecord, body: Mapping[str, Any], context: Context
    ) -> list[str]:
        """
        The ids of this task's jobs, one per part: an earlier try's where they still run or completed,
        new ones (one create, with a new key) for the parts that have none or whose job is gone or
        failed transiently (or with ``resubmit_failed``).
        """
        parts = self.parts(body)
        earlier = record.load()
        kept = dict(earlier.kept) if earlier is not None else {}
        if earlier is not None and earlier.job_id is not None:
            kept = self._usable(dict(zip(parts, earlier.job_id.split(ID_SEPARATOR), strict=False)))
            if len(kept) == len(parts):
                ids = [kept[part] for part in parts]
                self.log.info(
                    "Reattaching to HeyGen %s %s from an earlier try", self.row.description, ", ".join(ids)
                )
                return ids
            earlier = None
        elif earlier is not None and not earlier.unconfirmed:
            earlier = None  # some parts' jobs are kept and no create is in flight
        missing = [part for part in parts if part not in kept]
        key, fresh = submission_key(record, earlier, context, resubmit_unconfirmed=self.resubmit_unconfirmed)
        # A key is saved only where HeyGen honours it: a saved key lets the next try send the create again.
        saved_key = key if self.row.idempotent_creates else None
        if fresh:
            if not kept:
                self.check_input_urls(body, "body")
            self.spend = self.estimate_and_check(
                self.kind, self.body_for_parts(body, missing[:1]), count=len(missing)
            )
            record.mark_in_flight(idempotency_key=saved_key, kept=kept)
        else:
            self.log.info("An earlier try's create got no answer: sending it again with the same key")
        keyed = f" with Idempotency-Key {key}" if self.row.idempotent_creates else ""
        self.log.info(
            "Creating HeyGen %s%s%s", self.row.description, f" ({', '.join(missing)})" if kept else "", keyed
        )
        try:
            created = self.hook.create_job(self.row, self.body_for_parts(body, missing), key)
        except CERTAIN_REFUSALS:
            record.keep_only(kept)
            raise
        except HeyGenNoAnswerError as err:
            # Without a key nothing can replay the create: refuse to guess now, not in the next try.
            if self.row.idempotent_creates or self.resubmit_unconfirmed:
                raise
            if not record.kept:
                raise no_memory_error(err) from None
            raise in_doubt_error(
                record, record.load() or Submission(None, None), context, this_try=True
            ) from err
        # Any other failure keeps the marker and its key: the next try sends the same key again.
        if len(created) != len(missing):
            raise HeyGenNoAnswerError(
                f"HeyGen answered the {self.row.description} create with {len(created)} id(s) for "
                f"{len(missing)} job(s): {', '.join(created)}"
            )
        ids_by_part = {**kept, **dict(zip(missing, created, strict=True))}
        ids = [ids_by_part[part] for part in parts]
        record.save(ID_SEPARATOR.join(ids), idempotency_key=saved_key)
        return ids

    def _usable(self, ids_by_part: Mapping[str, str]) -> dict[str, str]:
        """
        The earlier try's jobs that still run or completed, by part; raises for one that failed for
        good (unless ``resubmit_failed``), leaves out the ones to create again.
        """
        usable: dict[str, str] = {}
        for part, job_id in ids_by_part.items():
            job = self.hook.get_job(self.row, job_id)
            failure = job.failed
            if failure is None:
                usable[part] = job_id
                continue
            named = f"Earlier HeyGen {self.row.description} {job_id}{f' ({part})' if part else ''}"
            error = self.failure_error(named, job_id, failure)
            if isinstance(error, AirflowFailException):
                raise error
            self.log.warning("%s; creating it again with a new Idempotency-Key", error)
        return usable

    def _defer_next(self, done: dict[str, dict[str, Any]], deadline: float) -> NoReturn:
        """Hand the waiting for the next unfinished job to the triggerer."""
        from airflow_heygen.triggers.jobs import HeyGenJobTrigger

        job_id = next(job_id for job_id in self.job_ids if job_id not in done)
        self.close_hook()
        self.defer(
            trigger=HeyGenJobTrigger(
                kind=self.kind,
                job_id=job_id,
                heygen_conn_id=self.heygen_conn_id,
                poll_interval=self.poll_interval,
                deadline=deadline,
                # The triggerer deletes every job of the task (a translation's languages) on a user's kill.
                delete_on_kill=self.delete_on_kill,
                other_job_ids=self.job_ids if self.delete_on_kill else (),
                workflow_type=self.workflow_type,
            ),
            method_name="resume",
            kwargs={"job_ids": self.job_ids, "done": done, "deadline": deadline, "spend": self.spend},
            timeout=timedelta(
                seconds=max(0.0, deadline - time.time()) + self.poll_interval + DEFER_TIMEOUT_BUFFER
            ),
        )
        raise AssertionError("defer() returned")  # pragma: no cover - defer() always raises

    def resume(
        self,
        context: Context,
        event: dict[str, Any],
        job_ids: list[str] | None = None,
        done: dict[str, dict[str, Any]] | None = None,
        deadline: float | None = None,
        spend: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """
        After a trigger's event: note the job's end, defer again for a job still running, or finish.

        :param context: the task's context.
        :param event: the :class:`~airflow_heygen.triggers.jobs.HeyGenJobTrigger` event.
        :param job_ids: every job of this task.
        :param done: the results of the jobs that ended before.
        :param deadline: the Unix time the waiting ends.
        :param spend: the create's estimate, made before deferring.
        """
        from airflow_heygen.triggers.jobs import job_from_event

        self.spend = (
            dict(spend)
            if spend is not None
            else {"estimated_cost_usd": self._pushed(context, "estimated_cost_usd")}
        )
        # The event names the one job of a single-job kind (an earlier release's execution event too);
        # several jobs (a translation's) come from the deferral's kwargs or this task's XCom.
        named = event.get("job_id", event.get("execution_id"))
        single = [str(named)] if named and not self.row.ids_are_list else []
        self.job_ids = list(job_ids or single or self._pushed_ids(context) or [str(named)])
        done = dict(done or {})
        result = event.get("job")
        try:
            with self.recording_failure(context), self.reporting_failures():
                if event.get("status") in ("failed", "not_found") and isinstance(result, Mapping):
                    job = Job.from_result(result)
                else:
                    job = job_from_event(event, self.timeout)
                done[job.id] = self.hook.detailed(job).to_result()
                for job_id in self.job_ids:
                    if job_id not in done:
                        other = self.hook.get_job(self.row, job_id)
                        if not other.status.is_terminal:
                            self._defer_next(done, deadline or time.time() + self.timeout)
                        done[job_id] = other.to_result()
                final = self._finished([Job.from_result(done[job_id]) for job_id in self.job_ids])
        finally:
            self.close_hook()
        self._record(context, self.request_body()).clear()
        return final

    def _pushed_ids(self, context: Context) -> list[str]:
        """
        The ids this task instance pushed before deferring: ``dag.test()`` resumes a task with the
        event alone, without the kwargs it deferred with.
        """
        pushed = self._pushed(context, self.id_xcom_key)
        if isinstance(pushed, str):
            return [pushed]
        return [str(job_id) for job_id in pushed] if isinstance(pushed, list) else []

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after a trigger's event (the name earlier releases deferred with)."""
        return self.resume(context, event)

    def _finished(self, jobs: Sequence[Job]) -> dict[str, Any]:
        """:meth:`finish_jobs`, with what the jobs cost: the estimate and ``cost_usd`` with its rate."""
        from airflow_heygen.spend.estimate import spent

        result = self.finish_jobs(jobs)
        outputs = [(job.output.get("duration"), job.video_url) for job in jobs]
        result.update(
            spent(self.kind, self.request_body(), self.hook.settings.spend.rates, outputs, self.spend)
        )
        self.log.info("HeyGen spent: %s", result["cost_usd"] if result["cost_usd"] is not None else "unknown")
        self.heygen_result = result
        return result

    def submitted_result(self, ids: Sequence[str]) -> dict[str, Any]:
        """The result without waiting: the job, ``pending`` (a workflows execution: ``submitted``)."""
        return Job(self.kind, ids[0], JobStatus.PENDING, workflow_type=self.workflow_type).to_result()

    def finish_jobs(self, jobs: Sequence[Job]) -> dict[str, Any]:
        """The result of ended jobs; raises for a failed or vanished one."""
        job = jobs[0].typed(self.workflow_type)
        failure = job.failed
        if failure is not None:
            raise self.failure_error(f"HeyGen {self.row.description} {job.id}", job.id, failure)
        self.produced_video_url = job.video_url
        return job.to_result()

    def on_kill(self) -> None:
        """Delete the job(s) when ``delete_on_kill``; otherwise say which keep running at HeyGen."""
        if not self.job_ids:
            return
        if not self.delete_on_kill:
            self.log.warning(
                "Task killed; HeyGen %s %s keeps running (delete_on_kill=False)",
                self.row.description,
                ", ".join(self.job_ids),
            )
            return
        for job_id in self.job_ids:
            try:
                self.hook.delete_job(self.row, job_id)
            except Exception as err:
                self.log.warning("Could not delete HeyGen %s %s: %s", self.row.description, job_id, err)
