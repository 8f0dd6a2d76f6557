"""Deterministic fault injection: rate limiting, server errors, failed jobs and latency."""

from __future__ import annotations

import enum
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_heygen.emulator.config import FaultSettings


class RequestFault(str, enum.Enum):
    """What happens to one /v1 request."""

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


class FaultInjector:
    """
    Draws fault decisions from generators seeded by ``seed``: one for requests, one for jobs.

    Every /v1 request draws exactly once and every accepted job draws exactly twice, whatever the
    rates, so the same seed and the same sequence of requests give the same faults.

    :param settings: initial rates.
    :param seed: the seed; None picks a random one (shown by :meth:`to_json`).
    """

    def __init__(self, settings: FaultSettings, seed: int | None) -> None:
        self._settings = settings
        self._reseed(seed if seed is not None else secrets.randbelow(2**31))

    def _reseed(self, seed: int) -> None:
        self._seed = seed
        self._requests = random.Random(f"{seed}:requests")
        self._jobs = random.Random(f"{seed}:jobs")

    @property
    def settings(self) -> FaultSettings:
        """The current rates."""
        return self._settings

    def update(self, changes: Mapping[str, Any]) -> None:
        """
        Change rates at run time; a ``seed`` key also restarts the generators.

        :param changes: fields of :class:`FaultSettings` and optionally ``seed`` (int).
        :raises ValueError: on unknown fields or invalid values (nothing is changed then).
        """
        rest = {k: v for k, v in changes.items() if k != "seed"}
        settings = self._settings.updated(rest)
        seed = changes.get("seed")
        if "seed" in changes and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("seed must be an integer")
        self._settings = settings
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

    def to_json(self) -> dict[str, Any]:
        """Rates and seed as JSON."""
        return {**self._settings.to_json(), "seed": self._seed}
