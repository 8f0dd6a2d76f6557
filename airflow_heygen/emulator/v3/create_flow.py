"""
The path of every v3 create: ``Idempotency-Key`` replay or 409, the slow-create delay, validation,
the price, the plan's concurrency (429, single creates only), injected 402, the charge (402 when the
account cannot pay), the job(s), the remembered answer, and possibly a lost reply.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from airflow_heygen.emulator.billing import Charge, InsufficientCredit
from airflow_heygen.emulator.creates import CREDIT_MESSAGE, lose_reply, plan_refusal, slow_create
from airflow_heygen.emulator.prices import Price
from airflow_heygen.emulator.services import SERVICES, EmulatorServices
from airflow_heygen.emulator.v3.errors import V3Error
from airflow_heygen.emulator.v3.idempotency import KeyState, idempotency_key, in_flight_error
from airflow_heygen.emulator.v3.models import V3Job, new_v3_id
from airflow_heygen.emulator.v3.validation import JobSpec

S = TypeVar("S")
REPLAY_HEADER = "Idempotent-Replayed"


async def idempotent_create(
    request: web.Request,
    create_kind: str,
    validate: Callable[[], Awaitable[S]],
    commit: Callable[[S], Awaitable[dict[str, Any]]],
    slots_needed: Callable[[S], int] | None = None,
    price: Callable[[S], Awaitable[list[Price]]] | None = None,
    what: str = "job",
) -> web.StreamResponse:
    """
    Run one create under its ``Idempotency-Key`` (scope: method and concrete path).

    :param request: the create.
    :param create_kind: stats key of the endpoint (``video``, ``video_batch``, ``asset``, ...).
    :param validate: reads and checks the request; raises :class:`V3Error`; creates nothing.
    :param commit: creates what the valid request asks for and returns the answer body; it must
        reserve its slots before its first ``await`` (see :func:`create_jobs`).
    :param slots_needed: for a single create, the plan slots the valid request takes: too few free
        answers 429 and creates nothing. None (batches, assets) is never refused for concurrency.
    :param price: the price of each job the valid request creates; the account pays them all or the
        create is answered 402 and creates nothing. None (assets) is free.
    :param what: what a 402 message calls the create (``video``, ``batch``).
    """
    services = request.app[SERVICES]
    scope = f"{request.method} {request.path}"
    try:
        key = idempotency_key(request)
    except V3Error as exc:
        return exc.response()
    if key is not None:
        state, answer = services.idempotency.state(scope, key)
        if state is KeyState.ANSWERED and answer is not None:
            services.stats.record_replay(create_kind)
            return web.json_response(answer.body, status=answer.status, headers={REPLAY_HEADER: "true"})
        if state is KeyState.IN_FLIGHT:
            services.stats.record_in_progress(create_kind)
            return in_flight_error().response()
        services.idempotency.claim(scope, key)
    remembered = False
    try:
        await slow_create(request)
        spec = await validate()
        # Priced before the concurrency check: reading media durations awaits, the checks must not.
        prices = await price(spec) if price is not None else None
        # A replay answered above is never refused: it creates nothing.
        refusal = plan_refusal(request, slots_needed(spec)) if slots_needed is not None else None
        if refusal is not None:
            message, headers = refusal
            raise V3Error(429, "rate_limit_exceeded", message, headers=headers)
        plan = services.faults.plan_create()
        if plan.insufficient_credit:
            services.stats.record_fault("insufficient_credit")
            raise V3Error(402, "insufficient_credit", CREDIT_MESSAGE)
        charge: Charge | None = None
        if prices is not None:
            try:
                charge = services.billing.charge(prices, what)
            except InsufficientCredit as exc:
                raise V3Error(402, "insufficient_credit", str(exc)) from None
        try:
            body = await commit(spec)
        except BaseException:
            # Nothing was created (or it is not answered as created): nothing is paid.
            if charge is not None:
                services.billing.refund(charge)
            raise
        if key is not None:
            await services.idempotency.remember(scope, key, 200, body)
            remembered = True
        if plan.lose_reply:
            lose_reply(request)
        return web.json_response(body)
    except V3Error as exc:
        return exc.response()
    finally:
        if key is not None and not remembered:
            services.idempotency.release(scope, key)


async def create_jobs(
    services: EmulatorServices,
    specs: list[JobSpec],
    batch_id: str | None = None,
    item_index: int | None = None,
) -> list[V3Job]:
    """
    Store and queue one job per spec (each draws its latency and failure like a v1 job). A single
    create's jobs take their plan slots at once (the caller checked they are free); a batch item's
    job starts when a slot is free, in order.

    :param services: the emulator's services.
    :param specs: the jobs to create.
    :param batch_id: their batch, if any.
    :param item_index: their item's index in the batch.
    :raises V3Error: 429 when a single create finds too few free slots (its caller checks first, so
        only a caller that awaited in between meets it).
    """
    jobs = []
    for spec in specs:
        plan = services.faults.plan_job()
        jobs.append(
            V3Job(
                job_id=new_v3_id(),
                kind=spec.kind,
                render_kind=spec.render_kind,
                input=spec.input,
                meta=spec.meta,
                batch_id=batch_id,
                item_index=item_index,
                **plan.new_job(time.time()),
            )
        )
    slots = services.runner.slots
    if batch_id is None and not slots.reserve(job.job_id for job in jobs):
        raise V3Error(429, "rate_limit_exceeded", "Concurrent job limit of the plan reached; retry later")
    for job in jobs:
        await services.jobs.put(job)
        services.stats.record_created(job.kind.value)
        if job.inject_failure:
            services.stats.record_fault("failed_job")
        if batch_id is None:
            services.runner.enqueue(job.job_id)
        else:
            slots.admit(job.job_id)
    return jobs
