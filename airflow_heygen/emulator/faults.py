"""
Deterministic fault injection: rate limiting, server errors, failed jobs, latency, and on creates
402 insufficient credit, lost replies and slow creates.
"""

from __future__ import annotations

import enum
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_heygen.emulator.config import FaultSettings


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
    :param fail: whether the job ends failed.
    """

    latency: float
    fail: bool


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
    same faults. Creates draw from their own generator so that adding them left the request and
    job sequences of a seed as they were.

    :param settings: initial rates.
    :param seed: the seed; None picks a random one (shown by :meth:`to_json`).
    """

    def __init__(self, settings: FaultSettings, seed: int | None) -> None:
        self._settings = settings
        # One-shot switch: the next N accepted creates lose their reply, whatever the rate.
        self._lost_replies = 0
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

        :param changes: fields of :class:`FaultSettings`, optionally ``seed`` (int) and
            ``lost_replies`` (int: that many next accepted creates lose their reply).
        :raises ValueError: on unknown fields or invalid values (nothing is changed then).
        """
        rest = {k: v for k, v in changes.items() if k not in ("seed", "lost_replies")}
        settings = self._settings.updated(rest)
        seed = changes.get("seed")
        if "seed" in changes and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("seed must be an integer")
        lost = changes.get("lost_replies", self._lost_replies)
        if isinstance(lost, bool) or not isinstance(lost, int) or lost < 0:
            raise ValueError("lost_replies must be a non-negative integer")
        self._settings = settings
        self._lost_replies = lost
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
        """Latency and failure of the next accepted job."""
        latency = self._settings.latency
        spread = self._jobs.random()
        fail = self._jobs.random() < self._settings.fail_rate
        return JobPlan(latency=latency.low + (latency.high - latency.low) * spread, fail=fail)

    def plan_create(self) -> CreatePlan:
        """402 or lost reply for the next valid create (the one-shot ``lost_replies`` counts down)."""
        credit = self._creates.random() < self._settings.insufficient_credit_rate
        lost = self._creates.random() < self._settings.lost_reply_rate
        if not credit and self._lost_replies > 0:
            self._lost_replies -= 1
            lost = True
        return CreatePlan(insufficient_credit=credit, lose_reply=lost and not credit)

    def to_json(self) -> dict[str, Any]:
        """Rates, the one-shot counter and the seed as JSON."""
        return {**self._settings.to_json(), "lost_replies": self._lost_replies, "seed": self._seed}
