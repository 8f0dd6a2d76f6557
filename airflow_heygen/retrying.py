"""
The one retry loop every HeyGen request runs in (sync hook, async hook, downloads): an attempt
returns its result or a :class:`~airflow_heygen.api.Retry`, and :class:`~airflow_heygen.api.RetryPolicy`
decides how long to wait before the next one, or that there is none.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from airflow_heygen.api import Retry, RetryPolicy

T = TypeVar("T")


class _Schedule:
    """The waits of one request's retries under ``policy``, never past ``deadline`` (Unix time)."""

    def __init__(self, policy: RetryPolicy, deadline: float | None, log: logging.Logger | Any, what: str):
        self.policy = policy
        self.deadline = deadline
        self.log = log
        self.what = what
        self.retries = 0

    def delay_after(self, outcome: Retry) -> float:
        """Seconds to wait before retrying after ``outcome``; raises when no retry is left."""
        remaining = None if self.deadline is None else self.deadline - time.time()
        delay = self.policy.next_delay(self.retries, outcome.reason, outcome.retry_after, remaining)
        self.retries += 1
        self.log.warning("HeyGen %s: %s; retry %d in %.1fs", self.what, outcome.reason, self.retries, delay)
        return delay


def retry_sync(
    attempt: Callable[[], T | Retry],
    policy: RetryPolicy,
    *,
    what: str,
    log: logging.Logger | Any,
    deadline: float | None = None,
) -> T:
    """
    Run ``attempt`` until it returns something other than :class:`Retry`.

    :param attempt: one try of the request.
    :param policy: how many retries, how far apart.
    :param what: the request, for the warning logged before each retry (``GET v1/...``).
    :param log: where to log.
    :param deadline: Unix time past which no retry waits (a server's ``Retry-After`` included).
    :raises HeyGenUnavailableError: when the policy has no retry left.
    """
    outcome = attempt()
    if not isinstance(outcome, Retry):
        return outcome
    schedule = _Schedule(policy, deadline, log, what)
    while isinstance(outcome, Retry):
        time.sleep(schedule.delay_after(outcome))
        outcome = attempt()
    return outcome


async def retry_async(
    attempt: Callable[[], Awaitable[T | Retry]],
    policy: RetryPolicy,
    *,
    what: str,
    log: logging.Logger | Any,
    deadline: float | None = None,
) -> T:
    """:func:`retry_sync` for coroutines: the same policy, waiting with ``asyncio.sleep``."""
    outcome = await attempt()
    if not isinstance(outcome, Retry):
        return outcome
    schedule = _Schedule(policy, deadline, log, what)
    while isinstance(outcome, Retry):
        await asyncio.sleep(schedule.delay_after(outcome))
        outcome = await attempt()
    return outcome
