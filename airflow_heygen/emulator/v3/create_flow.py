"""
The path of every v3 create: ``Idempotency-Key`` replay or 409, the slow-create delay, validation,
injected 402, the job(s), the remembered answer, and possibly a lost reply.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from airflow_heygen.emulator.creates import CREDIT_MESSAGE, lose_reply, slow_create
from airflow_heygen.emulator.models import ExecutionStatus
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
) -> web.StreamResponse:
    """
    Run one create under its ``Idempotency-Key`` (scope: method and concrete path).

    :param request: the create.
    :param create_kind: stats key of the endpoint (``video``, ``video_batch``, ``asset``, ...).
    :param validate: reads and checks the request; raises :class:`V3Error`; creates nothing.
    :param commit: creates what the valid request asks for and returns the answer body.
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
        plan = services.faults.plan_create()
        if plan.insufficient_credit:
            services.stats.record_fault("insufficient_credit")
            raise V3Error(402, "insufficient_credit", CREDIT_MESSAGE)
        body = await commit(spec)
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
    Store and queue one job per spec (each draws its latency and failure like a v1 job).

    :param services: the emulator's services.
    :param specs: the jobs to create.
    :param batch_id: their batch, if any.
    :param item_index: their item's index in the batch.
    """
    jobs = []
    for spec in specs:
        plan = services.faults.plan_job()
        now = time.time()
        job = V3Job(
            job_id=new_v3_id(),
            kind=spec.kind,
            render_kind=spec.render_kind,
            input=spec.input,
            meta=spec.meta,
            status=ExecutionStatus.SUBMITTED,
            created_at=now,
            updated_at=now,
            ready_at=now + plan.latency,
            inject_failure=plan.fail,
            injected_code=plan.fail_code,
            batch_id=batch_id,
            item_index=item_index,
        )
        await services.jobs.put(job)
        services.stats.record_created(spec.kind.value)
        if plan.fail:
            services.stats.record_fault("failed_job")
        services.runner.enqueue(job.job_id)
        jobs.append(job)
    return jobs
