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
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class HeyGenAuthError(HeyGenError):
    """HeyGen rejected the API key (HTTP 401 or 403)."""


class HeyGenRequestError(HeyGenError):
    """HeyGen refused a request for a reason retrying cannot fix (a 4xx other than 401, 403 and 429)."""


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
    A workflow execution ended badly: it failed, vanished or ran past its timeout.

    :param execution_id: the execution concerned, so the message can be acted on.
    """

    def __init__(self, message: str, execution_id: str) -> None:
        super().__init__(message)
        self.execution_id = execution_id
