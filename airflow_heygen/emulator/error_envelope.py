"""
HeyGen's JSON error envelope on every error answer: the handlers' own, and those aiohttp would
otherwise answer with a text or HTML body (unknown routes, wrong methods, oversized bodies, crashes).

The workflows API (and every path outside /v3) answers
``{"data": ..., "error": {"code", "message", "param", "doc_url"}}`` as HeyGen's OpenAPI description
``StandardAPIError`` has it (``param`` and ``doc_url`` null unless known); /v3 answers the v3
envelope of :mod:`airflow_heygen.emulator.v3.errors`.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from airflow_heygen.emulator.v3.errors import v3_error

log = logging.getLogger(__name__)

V3_PREFIX = "/v3/"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ErrorCode(str, enum.Enum):
    """The error code of each HTTP error status the emulator answers (v1 and admin routes)."""

    INVALID_PARAMETER = "invalid_parameter"  # 400
    AUTHENTICATION_FAILED = "authentication_failed"  # 401 (v3 says "unauthorized")
    INSUFFICIENT_CREDIT = "insufficient_credit"  # 402
    NOT_FOUND = "not_found"  # 404
    METHOD_NOT_ALLOWED = "method_not_allowed"  # 405
    GONE = "gone"  # 410: the workflows API retired (retire_workflows)
    PAYLOAD_TOO_LARGE = "payload_too_large"  # 413
    RATE_LIMIT_EXCEEDED = "rate_limit_exceeded"  # 429, with an integer Retry-After
    INTERNAL_ERROR = "internal_error"  # 500
    SERVICE_UNAVAILABLE = "service_unavailable"  # 503


_BY_STATUS = {
    400: ErrorCode.INVALID_PARAMETER,
    401: ErrorCode.AUTHENTICATION_FAILED,
    402: ErrorCode.INSUFFICIENT_CREDIT,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    410: ErrorCode.GONE,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    429: ErrorCode.RATE_LIMIT_EXCEEDED,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}
# The v3 envelope's word for a 401, as HeyGen's v3 reference names it.
V3_UNAUTHORIZED = "unauthorized"


def code_for_status(status: int) -> str:
    """
    The error code of an HTTP error status (``internal_error`` for any status without its own).

    :param status: the HTTP status.
    """
    return _BY_STATUS.get(status, ErrorCode.INTERNAL_ERROR).value


def api_error(
    status: int,
    code: str,
    message: str,
    data: Any = None,
    headers: dict[str, str] | None = None,
    param: str | None = None,
) -> web.Response:
    """
    The workflows API's error envelope:
    ``{"data": ..., "error": {"code": ..., "message": ..., "param": ..., "doc_url": null}}``.

    :param status: HTTP status.
    :param code: machine-readable error code.
    :param message: human-readable message.
    :param data: the ``data`` member (null by default).
    :param headers: extra response headers.
    :param param: the request field at fault, if known.
    """
    error = {"code": code, "message": message, "param": param, "doc_url": None}
    return web.json_response({"data": data, "error": error}, status=status, headers=headers)


def error_for(
    request: web.Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """
    The envelope of the request's API generation: v3's for /v3, the workflows API's otherwise.

    :param request: the request answered.
    :param status: HTTP status.
    :param code: machine-readable error code.
    :param message: human-readable message.
    :param headers: extra response headers.
    """
    if request.path.startswith(V3_PREFIX):
        return v3_error(status, code, message, headers=headers)
    return api_error(status, code, message, headers=headers)


def authentication_failed(request: web.Request) -> web.Response:
    """
    The 401 of a missing or wrong ``X-Api-Key``.

    :param request: the request refused.
    """
    # HeyGen's workflows API says authentication_failed; its v3 reference says unauthorized.
    v3 = request.path.startswith(V3_PREFIX)
    code = V3_UNAUTHORIZED if v3 else ErrorCode.AUTHENTICATION_FAILED.value
    return error_for(request, 401, code, "Invalid or missing API key")


def _message(request: web.Request, exc: web.HTTPException) -> str:
    if exc.status == 413:
        return f"the request body is too large: {exc.text or exc.reason}"
    if exc.text and exc.content_type == "text/plain" and exc.text != f"{exc.status}: {exc.reason}":
        return exc.text  # the handler's own words, e.g. "No such file"
    if exc.status == 404:
        return f"{request.method} {request.path} is not served by the emulator"
    if exc.status == 405:
        return f"{request.method} is not allowed on {request.path}"
    return exc.reason


@web.middleware
async def json_errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """
    Answer aiohttp's own errors and unexpected exceptions with the JSON envelope; errors that
    already have a JSON body pass as they are. ``Allow`` (405) and ``Retry-After`` headers are kept.
    """
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        headers = {name: exc.headers[name] for name in ("Allow", "Retry-After") if name in exc.headers}
        return error_for(request, exc.status, code_for_status(exc.status), _message(request, exc), headers)
    except Exception:
        # Also the handler's bugs answer JSON: a client must be able to read every error.
        log.exception("%s %s failed", request.method, request.path)
        return error_for(request, 500, ErrorCode.INTERNAL_ERROR.value, "internal error of the emulator")
