"""
Why a HeyGen job failed, and whether a new attempt could end differently: the one place that reads
HeyGen's failure codes and messages as **permanent** (bad or unreachable media, no face or several
faces, invalid input: a new job would fail the same way, and be paid again) or **transient**
(HeyGen's internal errors and timeouts: a new job may well succeed).

Operators, sensors and triggers all go through :func:`failed_job_error`: a permanent failure, and
one this table does not know, fails the task *without* retries (``AirflowFailException``), naming
the reason and the switch (``resubmit_failed=True``) that lets a retry pay for a new attempt; a
transient one fails the try, and the task's retry submits a new job. Why: ``docs/failures.md``.

Importing this module is cheap (no HTTP library): operators use it at DAG parse time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from airflow_heygen.exceptions import HeyGenExecutionError, HeyGenFailedForGoodError


class FailureClass(str, Enum):
    """Whether a new attempt of a failed job could succeed."""

    PERMANENT = "permanent"
    TRANSIENT = "transient"
    UNKNOWN = "unknown"

    @property
    def resubmitted_by_retry(self) -> bool:
        """Whether a task retry submits (and pays for) a new job by default."""
        return self is FailureClass.TRANSIENT


# HeyGen's failure codes (``failure_code`` of v3 reads, ``error.code`` of workflows executions and of
# bulk entries), by what they mean for a new attempt.
PERMANENT_CODES = frozenset(
    {
        "download_failed",
        "invalid_parameter",
        "invalid_input",
        "invalid_media",
        "unsupported_media",
        "media_too_long",
        "media_too_large",
        "no_face_detected",
        "multiple_faces_detected",
        "face_not_found",
        "avatar_not_found",
        "voice_not_found",
        "asset_not_available",
        "video_not_found",
        "content_policy_violation",
        "moderation_rejected",
        "insufficient_credit",
        "deleted",
    }
)
TRANSIENT_CODES = frozenset(
    {
        "internal_error",
        "server_error",
        "service_unavailable",
        "timeout",
        "workflow_timeout",
        "render_timeout",
        "gpu_unavailable",
        "capacity_exceeded",
        "rate_limit_exceeded",
    }
)
# Without a code (HeyGen's workflows guide documents only ``error.message``), the message decides; the
# permanent patterns are tried first, so "could not download ... (timeout)" stays permanent.
PERMANENT_MESSAGES = re.compile(
    r"no face|more than one face|several faces|multiple faces|could not (?:download|fetch|decode|read)"
    r"|failed to (?:download|fetch|decode)|download failed|not a valid|invalid|unsupported"
    r"|too long|too large|not found|http 4\d\d|unreachable",
    re.IGNORECASE,
)
TRANSIENT_MESSAGES = re.compile(
    r"internal (?:render )?error|crashed|timed out|timeout|temporar|try again|unavailable|overloaded",
    re.IGNORECASE,
)


def classify(code: str | None, message: str | None) -> FailureClass:
    """
    Classify one failure by HeyGen's code, else by its message; neither known: ``UNKNOWN``.

    :param code: HeyGen's machine-readable failure code, if it sent one.
    :param message: HeyGen's human-readable reason, if it sent one.
    """
    normalised = (code or "").strip().lower()
    if normalised in PERMANENT_CODES:
        return FailureClass.PERMANENT
    if normalised in TRANSIENT_CODES:
        return FailureClass.TRANSIENT
    if normalised:
        return FailureClass.UNKNOWN
    if message and PERMANENT_MESSAGES.search(message):
        return FailureClass.PERMANENT
    if message and TRANSIENT_MESSAGES.search(message):
        return FailureClass.TRANSIENT
    return FailureClass.UNKNOWN


@dataclass(frozen=True)
class Failure:
    """
    One failed (or vanished) HeyGen job's reason.

    :param code: HeyGen's failure code, if any.
    :param message: HeyGen's reason, if any.
    :param not_found: the job is gone rather than failed (HeyGen does not know its id).
    :param classified: the class, where the caller decided it (a summary of several failures).
    """

    code: str | None = None
    message: str | None = None
    not_found: bool = False
    classified: FailureClass | None = None

    @property
    def kind(self) -> FailureClass:
        """Permanent, transient or unknown; a vanished job is unknown (nobody can say why)."""
        if self.classified is not None:
            return self.classified
        return FailureClass.UNKNOWN if self.not_found else classify(self.code, self.message)

    def describe(self) -> str:
        """The reason as the error says it: HeyGen's message, then its code."""
        if self.not_found:
            return f"not found ({self.message or 'HeyGen does not know this id'})"
        reason = self.message or "no reason given"
        return f"{reason} (code {self.code})" if self.code else reason


def failed_job_error(
    what: str, job_id: str, failure: Failure, *, resubmit_failed: bool, can_resubmit: bool = True
) -> HeyGenExecutionError:
    """
    The error a task raises for a job that failed or vanished.

    Transient failures (and any failure with ``resubmit_failed``) are plain errors: Airflow retries the
    task, and the retry submits a new job. Permanent and unknown failures are
    :class:`~airflow_heygen.exceptions.HeyGenFailedForGoodError`: the task fails without retries,
    since a retry would only pay for the same failure again.

    :param what: the job in words, e.g. ``HeyGen video abc123``.
    :param job_id: its id.
    :param failure: why it failed.
    :param resubmit_failed: the task's switch: a retry pays for a new attempt whatever the reason.
    :param can_resubmit: whether a retry of this task could submit at all (False for sensors, which
        only watch a job: their retry would read the same failed job again).
    """
    error = _failed_job_error(what, job_id, failure, resubmit_failed, can_resubmit)
    # Kept so that a task can retell the error with its own switches (HeyGenTaskMixin.reporting_failures).
    error.what, error.failure = what, failure  # type: ignore[attr-defined]
    return error


def _failed_job_error(
    what: str, job_id: str, failure: Failure, resubmit_failed: bool, can_resubmit: bool
) -> HeyGenExecutionError:
    kind = failure.kind
    text = f"{what} failed: {failure.describe()}" if not failure.not_found else f"{what} {failure.describe()}"
    if not can_resubmit:
        return HeyGenFailedForGoodError(
            f"{text}. Not retried: a sensor's retry would read the same job again", job_id
        )
    if resubmit_failed:
        return HeyGenExecutionError(
            f"{text}. resubmit_failed=True: a retry of this task submits (and pays for) a new job", job_id
        )
    if kind.resubmitted_by_retry or failure.not_found:
        return HeyGenExecutionError(f"{text}. {_RETRY_TEXT[kind]}", job_id)
    why = (
        "a new attempt would fail the same way"
        if kind is FailureClass.PERMANENT
        else "HeyGen's reason is not one known to be transient"
    )
    return HeyGenFailedForGoodError(
        f"{text}. Not retried ({kind.value} failure: {why}, and it would be paid again). To let a "
        "retry pay for a new attempt anyway, set resubmit_failed=True on the task",
        job_id,
    )


_RETRY_TEXT = {
    FailureClass.TRANSIENT: "A transient failure at HeyGen: a retry of this task submits a new job",
    FailureClass.UNKNOWN: "The job is gone at HeyGen: a retry of this task submits a new one",
    FailureClass.PERMANENT: "",
}
