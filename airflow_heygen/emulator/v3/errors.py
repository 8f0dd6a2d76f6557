"""The v3 error envelope: ``{"error": {"code", "message", "param"?, "doc_url"}}``."""

from __future__ import annotations

from aiohttp import web

DOC_URL = "https://developers.heygen.com/reference/errors"


class V3Error(Exception):
    """
    A v3 request that is answered with an error.

    :param status: HTTP status.
    :param code: machine-readable snake_case code.
    :param message: human-readable message.
    :param param: the request field (or header, or query parameter) at fault, if any.
    :param headers: extra response headers.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers

    def response(self) -> web.Response:
        """This error as an HTTP answer."""
        return v3_error(self.status, self.code, self.message, self.param, self.headers)


def invalid(param: str, message: str) -> V3Error:
    """
    A 400 ``invalid_parameter`` naming the field.

    :param param: the field, e.g. ``avatar_id`` or ``video.url``.
    :param message: what is wrong.
    """
    return V3Error(400, "invalid_parameter", message, param)


def v3_error(
    status: int,
    code: str,
    message: str,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """
    The error envelope as an HTTP answer.

    :param status: HTTP status.
    :param code: machine-readable code.
    :param message: human-readable message.
    :param param: the field at fault; left out when None.
    :param headers: extra response headers.
    """
    error: dict[str, str] = {"code": code, "message": message}
    if param is not None:
        error["param"] = param
    error["doc_url"] = f"{DOC_URL}#{code}"
    return web.json_response({"error": error}, status=status, headers=headers)
