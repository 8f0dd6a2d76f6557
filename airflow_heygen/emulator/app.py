"""The aiohttp application: HeyGen's workflow endpoints, media, samples, health and admin."""

from __future__ import annotations

import hmac
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from airflow_heygen.emulator.config import EmulatorConfig
from airflow_heygen.emulator.faults import FaultInjector, RequestFault
from airflow_heygen.emulator.jobs import JobRunner
from airflow_heygen.emulator.models import Execution, ExecutionStatus, new_execution_id
from airflow_heygen.emulator.request_log import RequestLog
from airflow_heygen.emulator.samples import SampleLibrary, sample_names
from airflow_heygen.emulator.stats import StatsRecorder
from airflow_heygen.emulator.store import ExecutionStore
from airflow_heygen.emulator.validation import InvalidParameter, parse_submission

API_PREFIX = "/v1/"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class EmulatorServices:
    """
    Everything the request handlers use.

    :param config: the start configuration.
    :param store: executions.
    :param runner: the job queue.
    :param faults: fault injection.
    :param stats: counters.
    :param samples: built-in sample media.
    :param media_dir: folder of outputs.
    :param engine_name: the face engine that renders (or ``stub``).
    :param request_log: optional JSON-lines request log.
    """

    config: EmulatorConfig
    store: ExecutionStore
    runner: JobRunner
    faults: FaultInjector
    stats: StatsRecorder
    samples: SampleLibrary
    media_dir: Path
    engine_name: str
    request_log: RequestLog | None = None


SERVICES = web.AppKey("services", EmulatorServices)


def api_error(
    status: int, code: str, message: str, data: Any = None, headers: dict[str, str] | None = None
) -> web.Response:
    """
    HeyGen's error envelope: ``{"data": ..., "error": {"code": ..., "message": ...}}``.

    :param status: HTTP status.
    :param code: machine-readable error code.
    :param message: human-readable message.
    :param data: the ``data`` member (null by default).
    :param headers: extra response headers.
    """
    return web.json_response(
        {"data": data, "error": {"code": code, "message": message}}, status=status, headers=headers
    )


def _endpoint(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return f"{request.method} {resource.canonical if resource is not None else 'unmatched'}"


@web.middleware
async def observe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count every request per endpoint and status; log /v1 requests (never headers)."""
    services = request.app[SERVICES]
    is_api = request.path.startswith(API_PREFIX)
    body = (
        await request.text() if is_api and services.request_log is not None and request.can_read_body else ""
    )
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        services.stats.record_request(_endpoint(request), status)
        if is_api and services.request_log is not None:
            services.request_log.write(request.method, request.path_qs, body, status)


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer a share of /v1 requests with 429 or 503 before anything else happens."""
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    services = request.app[SERVICES]
    fault = services.faults.decide_request()
    if fault is RequestFault.RATE_LIMITED:
        services.stats.record_fault(fault.value)
        retry_after = str(services.faults.settings.retry_after)
        return api_error(
            429, "rate_limit_exceeded", "Too many requests, retry later", headers={"Retry-After": retry_after}
        )
    if fault is RequestFault.SERVER_ERROR:
        services.stats.record_fault(fault.value)
        return api_error(503, "service_unavailable", "Service temporarily unavailable")
    return await handler(request)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Require ``X-Api-Key`` on /v1: the configured key, or any non-empty key when none is set."""
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    expected = request.app[SERVICES].config.api_key
    given = request.headers.get("X-Api-Key", "").strip()
    valid = bool(given) and (expected is None or hmac.compare_digest(given.encode(), expected.encode()))
    if not valid:
        return api_error(401, "unauthorized", "Invalid or missing API key")
    return await handler(request)


def _public_base(request: web.Request) -> str:
    configured = request.app[SERVICES].config.public_url
    return configured if configured else f"http://{request.host}"


async def submit_execution(request: web.Request) -> web.Response:
    """``POST /v1/workflows/executions``."""
    services = request.app[SERVICES]
    try:
        payload = await request.json()
    except ValueError:
        return api_error(400, "invalid_parameter", "request body must be valid JSON")
    try:
        submission = parse_submission(payload, services.config.data_dir)
    except InvalidParameter as exc:
        return api_error(400, "invalid_parameter", str(exc))
    plan = services.faults.plan_job()
    now = time.time()
    execution = Execution(
        execution_id=new_execution_id(),
        workflow_type=submission.workflow_type,
        input=submission.input,
        status=ExecutionStatus.SUBMITTED,
        created_at=now,
        updated_at=now,
        ready_at=now + plan.latency,
        inject_failure=plan.fail,
    )
    await services.store.put(execution)
    services.stats.record_submission(submission.workflow_type.value)
    if plan.fail:
        services.stats.record_fault("failed_job")
    services.runner.enqueue(execution.execution_id)
    return web.json_response(
        {"data": {"execution_id": execution.execution_id, "status": execution.status.value}}
    )


async def get_execution(request: web.Request) -> web.Response:
    """``GET /v1/workflows/executions/{execution_id}``."""
    execution_id = request.match_info["execution_id"]
    execution = request.app[SERVICES].store.get(execution_id)
    if execution is None:
        return api_error(
            404, "not_found", "Workflow not found", data={"execution_id": execution_id, "status": "not_found"}
        )
    return web.json_response({"data": execution.to_api(_public_base(request))})


def _file_response(folder: Path, name: str) -> web.StreamResponse:
    path = folder / name
    if not _SAFE_NAME.match(name) or not path.is_file():
        raise web.HTTPNotFound(
            text=json.dumps({"error": {"code": "not_found", "message": "No such file"}}),
            content_type="application/json",
        )
    return web.FileResponse(path, headers={"Accept-Ranges": "bytes", "Cache-Control": "no-cache"})


async def get_media(request: web.Request) -> web.StreamResponse:
    """``GET /media/{name}``: an output video (Range requests supported)."""
    return _file_response(request.app[SERVICES].media_dir, request.match_info["name"])


async def get_sample(request: web.Request) -> web.StreamResponse:
    """``GET /samples/{name}``: a built-in sample (Range requests supported)."""
    name = request.match_info["name"]
    if name not in sample_names():
        raise web.HTTPNotFound(
            text=json.dumps({"error": {"code": "not_found", "message": "No such sample"}}),
            content_type="application/json",
        )
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
            "queued": services.runner.queued,
            "rendering": services.runner.rendering,
            "samples": sample_names(),
        }
    )


async def get_faults(request: web.Request) -> web.Response:
    """``GET /_admin/faults``: current fault settings and seed."""
    return web.json_response(request.app[SERVICES].faults.to_json())


async def set_faults(request: web.Request) -> web.Response:
    """``POST /_admin/faults``: change some fault settings (JSON object of the fields to change)."""
    faults = request.app[SERVICES].faults
    try:
        changes = await request.json()
        if not isinstance(changes, dict):
            raise ValueError("body must be a JSON object")
        faults.update(changes)
    except ValueError as exc:
        return web.json_response({"error": {"code": "invalid_parameter", "message": str(exc)}}, status=400)
    return web.json_response(faults.to_json())


async def get_stats(request: web.Request) -> web.Response:
    """``GET /_admin/stats``."""
    services = request.app[SERVICES]
    return web.json_response(services.stats.snapshot(services.store.counts_by_status()))


async def reset_stats(request: web.Request) -> web.Response:
    """``POST /_admin/reset-stats``: zero the request, submission and fault counters."""
    services = request.app[SERVICES]
    services.stats.reset()
    return web.json_response(services.stats.snapshot(services.store.counts_by_status()))


def create_app(services: EmulatorServices) -> web.Application:
    """
    Build the application.

    :param services: what the handlers use.
    """
    app = web.Application(
        middlewares=[observe_middleware, fault_middleware, auth_middleware], client_max_size=8 * 1024 * 1024
    )
    app[SERVICES] = services
    app.router.add_post("/v1/workflows/executions", submit_execution)
    app.router.add_get("/v1/workflows/executions/{execution_id}", get_execution)
    app.router.add_get("/media/{name}", get_media)
    app.router.add_get("/samples/{name}", get_sample)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/_admin/faults", get_faults)
    app.router.add_post("/_admin/faults", set_faults)
    app.router.add_get("/_admin/stats", get_stats)
    app.router.add_post("/_admin/reset-stats", reset_stats)
    return app
