"""
The aiohttp application: HeyGen's workflow endpoints, API v3 (see :mod:`airflow_heygen.emulator.v3`),
media, uploads, samples, health and admin.
"""

from __future__ import annotations

import hmac
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from airflow_heygen.emulator.billing import BILLING_FIELDS, InsufficientCredit
from airflow_heygen.emulator.creates import (
    CREDIT_MESSAGE,
    LOST_REPLY,
    lose_reply,
    plan_refusal,
    slow_create,
)
from airflow_heygen.emulator.error_envelope import (
    V3_PREFIX,
    ErrorCode,
    api_error,
    authentication_failed,
    error_for,
    json_errors_middleware,
)
from airflow_heygen.emulator.faults import RequestFault
from airflow_heygen.emulator.models import Execution, WorkflowType, new_execution_id
from airflow_heygen.emulator.retirement import retired_workflows_middleware
from airflow_heygen.emulator.samples import sample_names
from airflow_heygen.emulator.services import SERVICES, EmulatorServices, public_base
from airflow_heygen.emulator.v3.routes import add_v3_routes
from airflow_heygen.emulator.validation import InvalidParameter, parse_submission

__all__ = ["SERVICES", "EmulatorServices", "api_error", "create_app"]

API_PREFIX = "/v1/"
_API_PREFIXES = (API_PREFIX, V3_PREFIX)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
EXECUTION_NOT_FOUND = "Workflow execution not found."


def _endpoint(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return f"{request.method} {resource.canonical if resource is not None else 'unmatched'}"


@web.middleware
async def observe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count every request per endpoint and status; log /v1 and /v3 requests (never headers)."""
    services = request.app[SERVICES]
    is_api = request.path.startswith(_API_PREFIXES)
    # Multipart uploads are streamed by their handler: reading them here would consume them.
    loggable = is_api and services.request_log is not None and request.content_type != "multipart/form-data"
    body = ""
    status: int | str = 500
    try:
        # Inside the try: an oversized body raises 413 here, which must be counted like any answer.
        body = await request.text() if loggable and request.can_read_body else ""
        response = await handler(request)
        status = "lost" if request.get(LOST_REPLY) else response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        services.stats.record_request(_endpoint(request), status)
        if is_api and services.request_log is not None:
            services.request_log.write(
                request.method, request.path_qs, body, status if isinstance(status, int) else 0
            )


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer a share of /v1 and /v3 requests with 429 or 503 before anything else happens."""
    if not request.path.startswith(_API_PREFIXES):
        return await handler(request)
    services = request.app[SERVICES]
    fault = services.faults.decide_request()
    if fault is RequestFault.RATE_LIMITED:
        services.stats.record_fault(fault.value)
        retry_after = str(services.faults.settings.retry_after)
        return error_for(
            request,
            429,
            ErrorCode.RATE_LIMIT_EXCEEDED.value,
            "Too many requests, retry later",
            headers={"Retry-After": retry_after},
        )
    if fault is RequestFault.SERVER_ERROR:
        services.stats.record_fault(fault.value)
        return error_for(request, 503, ErrorCode.SERVICE_UNAVAILABLE.value, "Service temporarily unavailable")
    return await handler(request)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Require ``X-Api-Key`` on /v1 and /v3: the configured key, or any non-empty key when none is set."""
    if not request.path.startswith(_API_PREFIXES):
        return await handler(request)
    expected = request.app[SERVICES].config.api_key
    given = request.headers.get("X-Api-Key", "").strip()
    valid = bool(given) and (expected is None or hmac.compare_digest(given.encode(), expected.encode()))
    if not valid:
        return authentication_failed(request)
    return await handler(request)


async def submit_execution(request: web.Request) -> web.Response:
    """``POST /v1/workflows/executions``."""
    services = request.app[SERVICES]
    await slow_create(request)
    try:
        payload = await request.json()
    except ValueError:
        return api_error(400, ErrorCode.INVALID_PARAMETER.value, "request body must be valid JSON")
    try:
        submission = parse_submission(payload, services.config.data_dir)
    except InvalidParameter as exc:
        return api_error(400, ErrorCode.INVALID_PARAMETER.value, str(exc), param=exc.param)
    price = await services.output_seconds.workflow_price(
        submission.workflow_type, submission.input, services.billing.settings.faceswap_rate_usd_per_s
    )
    # No await from here until the job is stored: the plan slot and the money must still be there.
    refusal = plan_refusal(request, 1)
    if refusal is not None:
        message, headers = refusal
        return api_error(429, ErrorCode.RATE_LIMIT_EXCEEDED.value, message, headers=headers)
    create = services.faults.plan_create()
    if create.insufficient_credit:
        services.stats.record_fault("insufficient_credit")
        return api_error(402, ErrorCode.INSUFFICIENT_CREDIT.value, CREDIT_MESSAGE)
    what = "face swap" if submission.workflow_type is WorkflowType.FACESWAP else "workflow execution"
    try:
        charge = services.billing.charge([price], what)
    except InsufficientCredit as exc:
        return api_error(402, ErrorCode.INSUFFICIENT_CREDIT.value, str(exc))
    execution_id = new_execution_id()
    # No await since plan_refusal(): the slot it saw free is still free.
    services.runner.slots.reserve([execution_id])
    plan = services.faults.plan_job()
    execution = Execution(
        execution_id=execution_id,
        workflow_type=submission.workflow_type,
        input=submission.input,
        **plan.new_job(time.time()),
    )
    try:
        await services.store.put(execution)
    except BaseException:
        services.runner.slots.release(execution_id)
        services.billing.refund(charge)
        raise
    services.stats.record_submission(submission.workflow_type.value)
    if plan.fail:
        services.stats.record_fault("failed_job")
    services.runner.enqueue(execution.execution_id)
    if create.lose_reply:
        lose_reply(request)
    return web.json_response(
        {"data": {"execution_id": execution.execution_id, "status": execution.status.value}}
    )


async def get_execution(request: web.Request) -> web.Response:
    """``GET /v1/workflows/executions/{execution_id}``."""
    execution_id = request.match_info["execution_id"]
    execution = request.app[SERVICES].store.get(execution_id)
    if execution is None:
        # HeyGen's OpenAPI example words; data also says not_found, HeyGen's other way of answering it.
        return api_error(
            404,
            ErrorCode.NOT_FOUND.value,
            EXECUTION_NOT_FOUND,
            data={"execution_id": execution_id, "status": "not_found"},
        )
    return web.json_response({"data": execution.to_api(public_base(request))})


def _file_response(folder: Path, name: str) -> web.StreamResponse:
    path = folder / name
    if not _SAFE_NAME.match(name) or not path.is_file():
        raise web.HTTPNotFound(text="No such file")
    return web.FileResponse(path, headers={"Accept-Ranges": "bytes", "Cache-Control": "no-cache"})


async def get_media(request: web.Request) -> web.StreamResponse:
    """``GET /media/{name}``: an output video (Range requests supported)."""
    return _file_response(request.app[SERVICES].media_dir, request.match_info["name"])


async def get_upload(request: web.Request) -> web.StreamResponse:
    """``GET /uploads/{name}``: an uploaded v3 asset, at the ``url`` its upload answered."""
    return _file_response(request.app[SERVICES].assets.files, request.match_info["name"])


async def get_sample(request: web.Request) -> web.StreamResponse:
    """``GET /samples/{name}``: a built-in sample (Range requests supported)."""
    name = request.match_info["name"]
    if name not in sample_names():
        raise web.HTTPNotFound(text="No such sample")
    return _file_response(request.app[SERVICES].samples.folder, name)


async def healthz(request: web.Request) -> web.Response:
    """``GET /healthz``."""
    services = request.app[SERVICES]
    return web.json_response(
        {
            "status": "ok",
            "render": services.config.render.value,
            "engine": services.engine_name,
            "executions": len(services.store),
            "v3_jobs": len(services.jobs),
            "assets": len(services.assets),
            "queued": services.runner.queued,
            "rendering": services.runner.rendering,
            "in_flight": services.runner.slots.in_flight,
            "waiting_for_slot": services.runner.slots.waiting,
            "samples": sample_names(),
        }
    )


def _settings(services: EmulatorServices) -> dict[str, Any]:
    return {**services.faults.to_json(), **services.billing.settings.to_json()}


async def get_faults(request: web.Request) -> web.Response:
    """``GET /_admin/faults``: current fault and billing settings and seed."""
    return web.json_response(_settings(request.app[SERVICES]))


async def set_faults(request: web.Request) -> web.Response:
    """
    ``POST /_admin/faults``: change some fault or billing settings (JSON object of the fields to
    change); nothing changes when one is invalid.
    """
    services = request.app[SERVICES]
    try:
        changes = await request.json()
        if not isinstance(changes, dict):
            raise ValueError("body must be a JSON object")
        billing = services.billing.check({k: v for k, v in changes.items() if k in BILLING_FIELDS})
        services.faults.update({k: v for k, v in changes.items() if k not in BILLING_FIELDS})
    except ValueError as exc:
        return api_error(400, ErrorCode.INVALID_PARAMETER.value, str(exc))
    services.billing.apply(billing, refill=bool({"billing", "balance_usd"} & set(changes)))
    # A raised plan_concurrency starts the batch items waiting for a slot now.
    services.runner.slots.fill()
    return web.json_response(_settings(services))


async def release_jobs(request: web.Request) -> web.Response:
    """
    ``POST /_admin/release``: jobs waiting out their latency complete now, batch items waiting for a
    plan slot complete once they have one; answers how many.
    """
    return web.json_response({"released": request.app[SERVICES].runner.release()})


def _stats(services: EmulatorServices) -> dict[str, Any]:
    jobs: dict[str, Any] = {kind: {} for kind in ("video", "lipsync", "video_translation")}
    for kind, counts in _job_counts(services).items():
        jobs[kind] = dict(counts)
    jobs["assets"] = len(services.assets)
    snapshot = services.stats.snapshot(services.store.counts_by_status(), jobs)
    snapshot.update(services.runner.slots.to_json())
    billing = services.billing.to_json()
    snapshot["spent_usd"] = billing["spent_usd"]
    snapshot["balance_usd"] = billing["balance_usd"]
    snapshot["billing"] = billing
    return snapshot


def _job_counts(services: EmulatorServices) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for job in services.jobs:
        counts.setdefault(job.kind.value, Counter())[job.single_status] += 1
    return counts


async def get_stats(request: web.Request) -> web.Response:
    """``GET /_admin/stats``."""
    return web.json_response(_stats(request.app[SERVICES]))


async def reset_stats(request: web.Request) -> web.Response:
    """``POST /_admin/reset-stats``: zero the counters (state such as ``executions`` stays)."""
    services = request.app[SERVICES]
    services.stats.reset()
    services.runner.slots.reset_max()
    services.billing.reset_spent()
    return web.json_response(_stats(services))


def create_app(services: EmulatorServices) -> web.Application:
    """
    Build the application.

    :param services: what the handlers use.
    """
    # JSON bodies are read whole (8 MiB at most); asset uploads are streamed and capped on their own.
    app = web.Application(
        # json_errors_middleware is outermost: what the others raise (413 reading a logged body)
        # is counted by observe_middleware, then answered in JSON. A retired workflows API answers
        # after authentication, like any route, and is counted too.
        middlewares=[
            json_errors_middleware,
            observe_middleware,
            fault_middleware,
            auth_middleware,
            retired_workflows_middleware,
        ],
        client_max_size=8 * 1024 * 1024,
    )
    app[SERVICES] = services
    app.router.add_post("/v1/workflows/executions", submit_execution)
    app.router.add_get("/v1/workflows/executions/{execution_id}", get_execution)
    add_v3_routes(app)
    app.router.add_get("/media/{name}", get_media)
    app.router.add_get("/uploads/{name}", get_upload)
    app.router.add_get("/samples/{name}", get_sample)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/_admin/faults", get_faults)
    app.router.add_post("/_admin/faults", set_faults)
    app.router.add_get("/_admin/stats", get_stats)
    app.router.add_post("/_admin/reset-stats", reset_stats)
    app.router.add_post("/_admin/release", release_jobs)
    return app
