"""Errors raised by the HeyGen provider; none of them ever carries the API key."""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowException, AirflowFailException


class HeyGenError(AirflowException):
    """Base class of every error the HeyGen provider raises."""


class HeyGenInputError(AirflowFailException, ValueError):
    """
    An operator argument is invalid; raised before anything is sent to HeyGen.

    It is an ``AirflowFailException`` so Airflow does not retry a task whose input can never work,
    and a ``ValueError`` because that is what it is.

    :param field: the argument or input path that is wrong, e.g. ``input.source_image_url``.
    :param problem: what is wrong with it.
    :param task_id: the task whose argument it is, where the error is raised outside a running task
        (when a DAG file is parsed), so that the message says which task of the file is wrong.
    """

    def __init__(self, field: str, problem: str, *, task_id: str | None = None) -> None:
        super().__init__(f"{f'task {task_id!r}: ' if task_id else ''}{field}: {problem}")
        self.field = field
        self.problem = problem
        self.task_id = task_id

    def for_task(self, task_id: str) -> HeyGenInputError:
        """The same error, naming the task (for errors raised while a DAG file is parsed)."""
        return HeyGenInputError(self.field, self.problem, task_id=task_id)


class HeyGenAuthError(AirflowFailException, HeyGenError):
    """
    HeyGen rejected the API key (HTTP 401 or 403), or there is no key at all.

    An ``AirflowFailException``: no task retry brings a key, so the alert comes at once, not after
    ``retries x retry_delay``.
    """


class HeyGenRequestError(AirflowFailException, HeyGenError):
    """
    HeyGen refused a request for a reason retrying cannot fix (a 4xx other than 401, 403 and 429, a
    redirect): an ``AirflowFailException``, so the task fails without retries.
    """


class HeyGenApiRetiredError(HeyGenRequestError):
    """
    The API a request needs is not served at the connection's host: HeyGen's workflows API
    (``/v1/workflows/executions``, the only face-swap API) answered a submission 404 or 410, or a read
    410. HeyGen retires its /v1 APIs from 2026-11-01; no retry brings an API back, so the task fails
    at once (an ``AirflowFailException``, via :class:`HeyGenRequestError`).
    """


class HeyGenTLSError(HeyGenRequestError):
    """The TLS handshake with HeyGen (or the proxy) failed: a certificate could not be verified."""


class HeyGenNoAnswerError(HeyGenError):
    """
    A submission may have reached HeyGen, but no answer came back (a read timeout, a dropped
    connection, a 504): HeyGen may have accepted it, so it is not repeated automatically.
    """


class HeyGenSubmissionInDoubtError(AirflowFailException, HeyGenError):
    """
    A job may exist at HeyGen that this task cannot confirm: an earlier try (or this one) sent the
    submission and never learned its id. The task fails without retries rather than pay twice.
    """


class HeyGenUnavailableError(HeyGenError):
    """HeyGen stayed unreachable or kept answering 429/5xx past the retry budget."""


class HeyGenExecutionError(HeyGenError):
    """
    A HeyGen job (a workflow execution or a v3 job) ended badly: it failed, vanished or ran past its
    timeout. Airflow retries the task (a transient failure, or ``resubmit_failed=True``).

    :param execution_id: the job concerned, so the message can be acted on.
    """

    def __init__(self, message: str, execution_id: str) -> None:
        super().__init__(message)
        self.execution_id = execution_id


class HeyGenFailedForGoodError(AirflowFailException, HeyGenExecutionError):
    """
    A HeyGen job failed for a reason no retry changes (bad or unreachable media, no face, invalid
    input, or a reason not known to be transient): the task fails without retries, since a retry
    would pay for the same failure again (see :mod:`airflow_heygen.failures`).

    :param execution_id: the job concerned.
    """


class HeyGenSpendLimitError(AirflowFailException, HeyGenError):
    """
    A create was refused before it was sent: its estimate is over the task's ``max_cost_usd``, or
    would take the account below the connection's ``min_balance_usd``, or HeyGen answered 402
    ``insufficient_credit``. No retry changes that, so the task fails at once.
    """
