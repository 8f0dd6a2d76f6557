"""
The workflows API retired (``retire_workflows``): HeyGen's docs retire the /v1 APIs from 2026-11-01,
and no public source says whether ``/v1/workflows`` (the only face-swap API) survived. With the
setting on, every workflows request is answered 404 ``not_found`` or 410 ``gone`` in HeyGen's error
envelope and creates nothing, so that a client's handling of a vanished API can be tested.

Kept out of the /v1 handlers on purpose: one middleware, in front of them, is the whole switch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from airflow_heygen.emulator.error_envelope import ErrorCode, api_error
from airflow_heygen.emulator.services import SERVICES

WORKFLOWS_PREFIX = "/v1/workflows"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# What HeyGen's gateway might say; the provider quotes it, so it reads like a person's words.
_MESSAGES = {
    404: (ErrorCode.NOT_FOUND, "Not found: {method} {path}"),
    410: (ErrorCode.GONE, "The v1 workflows API has been retired"),
}


@web.middleware
async def retired_workflows_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """
    Answer every /v1/workflows request with the ``retire_workflows`` status, when it is set.

    Placed inside the counting middleware, so the refused request is still counted under its
    endpoint and status in ``/_admin/stats`` (a test counts the POSTs a client sent).
    """
    services = request.app[SERVICES]
    status = services.faults.settings.retire_workflows
    if status is None or not request.path.startswith(WORKFLOWS_PREFIX):
        return await handler(request)
    services.stats.record_fault("workflows_retired")
    code, message = _MESSAGES[status]
    return api_error(status, code.value, message.format(method=request.method, path=request.path))
