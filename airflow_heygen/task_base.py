"""
What every HeyGen task (operators and sensors) shares: the hook, its waiting arguments, how it reports
a failed job, and the refusal to submit again when an earlier submission is unconfirmed.

Importing this module stays cheap for DAG parsing: the hook (requests, aiohttp) and the trigger are
imported when a task runs, not when a DAG file is parsed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import conf

from airflow_heygen.exceptions import HeyGenExecutionError, HeyGenInputError, HeyGenSubmissionInDoubtError
from airflow_heygen.failures import Failure, failed_job_error
from airflow_heygen.validation import require_positive_number

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_heygen.hooks.heygen import HeyGenHook
    from airflow_heygen.state import Submission, SubmissionRecord

DEFAULT_CONN_ID = "heygen_default"
# Extra time Airflow gives a deferred task beyond our own deadline, so that the trigger's own
# timeout event (with the execution id and how to resume) arrives before Airflow's generic one.
DEFER_TIMEOUT_BUFFER = 300.0


def default_deferrable() -> bool:
    """``[operators] default_deferrable`` from Airflow's configuration."""
    return conf.getboolean("operators", "default_deferrable", fallback=False)


def checked_waiting(
    deferrable: bool | None, poll_interval: float, timeout: float, task_id: str
) -> tuple[bool, float, float]:
    """
    The waiting arguments of every HeyGen operator and sensor, checked when the DAG is parsed:
    ``(deferrable, poll_interval, timeout)``, ``deferrable`` defaulting to ``[operators]
    default_deferrable``.

    :param deferrable: wait in the triggerer; None for Airflow's default.
    :param poll_interval: seconds between status polls; must be positive.
    :param timeout: seconds to wait at most; must be positive.
    :param task_id: the task, named in the error (it is raised while the DAG file is parsed).
    :raises HeyGenInputError: for a poll interval or timeout that is not a positive number.
    """
    try:
        return (
            default_deferrable() if deferrable is None else deferrable,
            require_positive_number("poll_interval", poll_interval),
            require_positive_number("timeout", timeout),
        )
    except HeyGenInputError as err:
        raise err.for_task(task_id) from None


def in_doubt_error(
    record: SubmissionRecord, earlier: Submission, context: Context, *, this_try: bool = False
) -> HeyGenSubmissionInDoubtError:
    """
    The error of a submission nobody can confirm (its answer was lost in this try, or a new try finds
    an earlier try's in-flight marker without an id): what may exist at HeyGen, which request it
    was, and the two explicit ways to submit anyway.

    :param record: the task's submission record.
    :param earlier: the unconfirmed submission (an in-flight marker without an id).
    :param context: the task's context, to name the task instance.
    :param this_try: whether the answer was lost in this very try (rather than an earlier one).
    """
    ti = context.get("ti")
    dag_id, run_id, task_id = (getattr(ti, name, "<...>") for name in ("dag_id", "run_id", "task_id"))
    sent = (
        datetime.fromtimestamp(earlier.sent_at, UTC).isoformat(timespec="seconds")
        if earlier.sent_at is not None
        else "an unknown time"
    )
    return HeyGenSubmissionInDoubtError(
        f"A HeyGen job may already exist for this task: {'this' if this_try else 'an earlier'} try sent "
        f"the {record.description} "
        f"(request fingerprint {record.fingerprint}) at {sent} and never received HeyGen's answer, so "
        "its id is unknown and the job may be running and charged. Not submitting again, so as never "
        "to pay twice. Look for that job in HeyGen; to submit anyway, set resubmit_unconfirmed=True on "
        f"the task, or delete the task's state key {record.state.key!r} (REST API: DELETE "
        f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/state-store/{record.state.key}) "
        "and clear the task"
    )


def no_memory_error(err: Exception) -> HeyGenSubmissionInDoubtError:
    """
    A lost answer to a submission where nothing survives into the next try (no ``task_state_store``,
    or ``durable=False``): a retry could not know, so the task fails without retries.

    :param err: the hook's error about the lost answer.
    """
    return HeyGenSubmissionInDoubtError(
        f"{err}. This task keeps no task_state_store record across tries (it needs Airflow 3.3 and "
        "durable=True), so a retry could not tell that a job may exist: failing without retries rather "
        "than risk paying twice. Check HeyGen for the job before running the task again"
    )


class HeyGenTaskMixin:
    """
    What every HeyGen task shares: the hook, and how it reports a job that failed or vanished.

    :param heygen_conn_id: id of the HeyGen connection.
    :param poll_interval: seconds between status polls.
    :param timeout: seconds to wait for the execution to end.
    :param deferrable: wait in the triggerer instead of a worker slot.
    """

    heygen_conn_id: str
    poll_interval: float
    timeout: float
    deferrable: bool
    log: Any
    # Read by HeyGenVideoLink when the task instance ends.
    produced_video_url: str | None = None
    # The HeyGen API this task talked to (set when its hook closes), for lineage.
    heygen_api_url: str | None = None
    # Whether a retry pays for a new attempt of a job that failed for good (operators' argument).
    resubmit_failed: bool = False
    # Sensors only watch a job: their retry would read the same failed job, so it never helps.
    watches_only: bool = False

    def failure_error(self, what: str, job_id: str, failure: Failure) -> HeyGenExecutionError:
        """
        The error of this task for a job that failed or vanished:
        :func:`~airflow_heygen.failures.failed_job_error` with this task's switches.

        :param what: the job in words, e.g. ``HeyGen video abc123``.
        :param job_id: its id.
        :param failure: why it failed.
        """
        return failed_job_error(
            what, job_id, failure, resubmit_failed=self.resubmit_failed, can_resubmit=not self.watches_only
        )

    @contextmanager
    def reporting_failures(self) -> Iterator[None]:
        """
        Re-raise a failed job's error (raised by a hook or an event reader with the default switches)
        as this task's switches say: retried with ``resubmit_failed``, never retried by a sensor.
        """
        try:
            yield
        except HeyGenExecutionError as err:
            failure = getattr(err, "failure", None)
            what = getattr(err, "what", None)
            if not isinstance(failure, Failure) or not isinstance(what, str):
                raise
            raise self.failure_error(what, err.execution_id, failure) from None

    @cached_property
    def hook(self) -> HeyGenHook:
        """The sync hook, imported here so that parsing a DAG does not import requests or aiohttp."""
        from airflow_heygen.hooks.heygen import HeyGenHook

        return HeyGenHook(heygen_conn_id=self.heygen_conn_id)

    def close_hook(self) -> None:
        """Close the sync hook's HTTP session, if this task opened one."""
        hook = self.__dict__.pop("hook", None)
        if hook is not None:
            settings = hook.__dict__.get("settings")
            if settings is not None:
                # Lineage names HeyGen's objects by the API host; it may not resolve the connection again.
                self.heygen_api_url = settings.base_url
            hook.close()
