"""Faults that only creates get (v1 submissions and v3 POST creates): slow, 402, lost reply."""

from __future__ import annotations

import asyncio

from aiohttp import web

from airflow_heygen.emulator.services import SERVICES

# Set on a request whose reply was dropped, so the request counters say "lost" instead of 200.
LOST_REPLY = "heygen_emulator_lost_reply"
CREDIT_MESSAGE = "Insufficient credit to create this job; add credit and retry"


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
