"""
What only creates get (v1 submissions and v3 POST creates): the faults (slow, 402, lost reply) and
the plan's concurrency limit (429).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from airflow_heygen.emulator.services import SERVICES

# Set on a request whose reply was dropped, so the request counters say "lost" instead of 200.
LOST_REPLY = "heygen_emulator_lost_reply"
CREDIT_MESSAGE = "Insufficient credit to create this job; add credit and retry"


def plan_refusal(request: web.Request, jobs: int) -> tuple[str, dict[str, str]] | None:
    """
    Whether a single create of ``jobs`` jobs exceeds the plan's concurrency: if so (the refusal is
    counted as the fault ``concurrency_limited``), the 429 message and its integer ``Retry-After``.
    Call it right before creating, with no ``await`` until the slots are reserved.

    :param request: the create.
    :param jobs: the jobs it would create.
    :return: None when the slots are free, else the message and headers of the 429.
    """
    services = request.app[SERVICES]
    slots = services.runner.slots
    if jobs <= slots.free:
        return None
    services.stats.record_fault("concurrency_limited")
    message = (
        f"Concurrent job limit of the plan reached ({slots.in_flight} of {slots.limit} in progress); "
        "retry once a job has finished"
    )
    return message, {"Retry-After": str(services.faults.settings.retry_after)}


async def slow_create(request: web.Request) -> None:
    """
    Wait ``create_delay`` seconds (the create is in flight meanwhile: its key is taken).

    :param request: the create.
    """
    services = request.app[SERVICES]
    delay = services.faults.settings.create_delay
    if delay > 0:
        services.stats.record_fault("slow_create")
        await asyncio.sleep(delay)


def lose_reply(request: web.Request) -> None:
    """
    Close the connection without an answer (the job already exists): a reply lost on its way.

    :param request: the create whose reply is lost.
    """
    request.app[SERVICES].stats.record_fault("lost_reply")
    request[LOST_REPLY] = True
    if request.transport is not None:
        request.transport.close()
