"""
Deterministic fault injection: rate limiting, server errors, failed jobs, latency, and on creates
402 insufficient credit, lost replies and slow creates.
"""

from __future__ import annotations

import enum
import random
import secrets
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_heygen.emulator.config import FaultSettings
from airflow_heygen.emulator.failures import check_code
from airflow_heygen.emulator.models import ExecutionStatus


class RequestFault(str, enum.Enum):
    """What happens to one /v1 or /v3 request."""

    NONE = "none"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"


@dataclass(frozen=True)
class JobPlan:
    """
    What fault injection decided for one job at submission.

    :param latency: minimum seconds from submission to completion.
    :param fail_code: the failure code the job ends failed with, None when it is not made to fail.
    """

    latency: float
    fail_code: str | None = None

    @property
    def fail(self) -> bool:
        """Whether the job ends failed."""
        return self.fail_code is not None

    def new_job(self, now: float) -> dict[str, Any]:
        """
        The fields every new job (v1 execution or v3 job) takes from its plan and creation time.

        :param now: Unix time of its create.
        """
        return {
            "status": ExecutionStatus.SUBMITTED,
            "created_at": now,
            "updated_at": now,
            "ready_at": now + self.latency,
            "inject_failure": self.fail,
            "injected_code": self.fail_code,
        }


@dataclass(frozen=True)
class CreatePlan:
    """
    What fault injection decided for one valid create (a v1 submission or a v3 POST create).

    :param insufficient_credit: answer 402 ``insufficient_credit`` and create nothing.
    :param lose_reply: create the job, then close the connection without an answer.
    """

    insufficient_credit: bool
    lose_reply: bool


class FaultInjector:
    """
    Draws fault decisions from generators seeded by ``seed``: one for requests, one for jobs, one
    for creates.

    Every API request draws exactly once, every valid create exactly twice and every accepted job
    exactly twice, whatever the rates, so the same seed and the same sequence of requests give the
    same faults. A create the plan's concurrency refuses draws nothing (it is refused before), like
    an invalid one. Creates draw from their own generator so that adding them left the request and
    job sequences of a seed as they were; ``fail_next`` forces failures without drawing, so it
    leaves them as they were too.

    :param settings: initial rates.
    :param seed: the seed; None picks a random one (shown by :meth:`to_json`).
    """

    def __init__(self, settings: FaultSettings, seed: int | None) -> None:
        self._settings = settings
        # One-shot switch: the next N accepted creates lose their reply, whatever the rate.
        self._lost_replies = 0
        # One-shot script: each next accepted job takes the first entry (a failure code, or None).
        self._fail_next: deque[str | None] = deque()
        self._reseed(seed if seed is not None else secrets.randbelow(2**31))

    def _reseed(self, seed: int) -> None:
        self._seed = seed
        self._requests = random.Random(f"{seed}:requests")
        self._jobs = random.Random(f"{seed}:jobs")
        self._creates = random.Random(f"{seed}:creates")

    @property
    def settings(self) -> FaultSettings:
        """The current rates."""
        return self._settings

    def update(self, changes: Mapping[str, Any]) -> None:
        """
        Change rates at run time; a ``seed`` key also restarts the generators.

        :param changes: fields of :class:`FaultSettings`, optionally ``seed`` (int),
            ``lost_replies`` (int: that many next accepted creates lose their reply) and ``fail_next``
            (a list replacing the remaining one: each next accepted job takes its first entry, a
            failure code that job fails with, or None for a job left to ``fail_rate``).
        :raises ValueError: on unknown fields or invalid values (nothing is changed then).
        """
        rest = {k: v for k, v in changes.items() if k not in _ONE_SHOT}
        settings = self._settings.updated(rest)
        seed = changes.get("seed")
        if "seed" in changes and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("seed must be an integer")
        lost = changes.get("lost_replies", self._lost_replies)
        if isinstance(lost, bool) or not isinstance(lost, int) or lost < 0:
            raise ValueError("lost_replies must be a non-negative integer")
        fail_next = _fail_next(changes["fail_next"]) if "fail_next" in changes else self._fail_next
        self._settings = settings
        self._lost_replies = lost
        self._fail_next = fail_next
        if isinstance(seed, int):
            self._reseed(seed)

    def decide_request(self) -> RequestFault:
        """The fault, if any, for the next /v1 request."""
        draw = self._requests.random()
        if draw < self._settings.rate_limit_rate:
            return RequestFault.RATE_LIMITED
        if draw < self._settings.rate_limit_rate + self._settings.error_rate:
            return RequestFault.SERVER_ERROR
        return RequestFault.NONE

    def plan_job(self) -> JobPlan:
        """Latency and failure of the next accepted job (an entry of ``fail_next`` wins over the draw)."""
        latency = self._settings.latency
        spread = self._jobs.random()
        drawn = self._jobs.random() < self._settings.fail_rate
        fail_code = self._settings.fail_code if drawn else None
        forced = self._fail_next.popleft() if self._fail_next else None
        return JobPlan(
            latency=latency.low + (latency.high - latency.low) * spread, fail_code=forced or fail_code
        )

    def plan_create(self) -> CreatePlan:
        """402 or lost reply for the next valid create (the one-shot ``lost_replies`` counts down)."""
        credit = self._creates.random() < self._settings.insufficient_credit_rate
        lost = self._creates.random() < self._settings.lost_reply_rate
        if not credit and self._lost_replies > 0:
            self._lost_replies -= 1
            lost = True
        return CreatePlan(insufficient_credit=credit, lose_reply=lost and not credit)

    def to_json(self) -> dict[str, Any]:
        """Rates, the one-shot counter and script, and the seed as JSON."""
        return {
            **self._settings.to_json(),
            "lost_replies": self._lost_replies,
            "fail_next": list(self._fail_next),
            "seed": self._seed,
        }


_ONE_SHOT = ("seed", "lost_replies", "fail_next")


def _fail_next(value: Any) -> deque[str | None]:
    """A ``fail_next`` list checked: null, or a failure code of ``[a-z_]``, per entry."""
    if not isinstance(value, list):
        raise ValueError("fail_next must be a list of failure codes or nulls")
    return deque(None if entry is None else check_code(entry, "each fail_next entry") for entry in value)
