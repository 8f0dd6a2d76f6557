"""
How one HeyGen answer is read, the same in both hooks: its ``data``, a :class:`~airflow_heygen.api.Retry`,
or the error it means (a rejected key, a refused request, HeyGen's workflows API retired at the host).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airflow_heygen.api import (
    API_KEY_ENV_VAR,
    MAX_ERROR_TEXT,
    MAX_RESPONSE_BYTES,
    REDACTED,
    Retry,
    parse_retry_after,
)
from airflow_heygen.exceptions import (
    HeyGenApiRetiredError,
    HeyGenAuthError,
    HeyGenRequestError,
    HeyGenSpendLimitError,
)
from airflow_heygen.kinds import WORKFLOW


def _json_or_none(body: bytes) -> Any:
    """The decoded JSON document, or None for a body that is not JSON (or nests too deep to decode)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _error_text(body: bytes, secret: str) -> str:
    """
    HeyGen's error message from a response body, or a short excerpt of whatever came back, with
    ``secret`` (the API key) blanked out: a proxy or gateway may echo the request's headers.
    """
    text = None
    document = _json_or_none(body)
    if isinstance(document, Mapping):
        for container in (document.get("error"), document):
            if isinstance(container, Mapping) and isinstance(container.get("message"), str):
                text = container["message"]
                break
    if text is None:
        # Scrub before cutting: a key cut in half by the excerpt's end would no longer be found.
        text = " ".join(body[:4096].decode("utf-8", "replace").split())
    if secret:
        text = text.replace(secret, REDACTED)
    return text[:MAX_ERROR_TEXT] or "(empty body)"


# The statuses that say an API is no longer served: gone (410), or a route that no longer exists (404).
RETIRED_API_STATUSES = (404, 410)


def workflows_api_gone(method: str, endpoint: str, status: int) -> bool:
    """
    Whether an answer says HeyGen's workflows API is not served at this host: a 404 or 410 to a
    submission (``POST v1/workflows/executions``), or a 410 to any workflows request. A 404 to a read
    of one execution keeps meaning that execution is not found.

    :param method: the request's HTTP method.
    :param endpoint: its path below the base URL, e.g. ``v1/workflows/executions``.
    :param status: the answer's HTTP status.
    """
    endpoint = endpoint.lstrip("/")
    if endpoint != WORKFLOW.create_endpoint and not endpoint.startswith(WORKFLOW.create_endpoint + "/"):
        return False
    if status == 410:
        return True
    return status == 404 and method.upper() == "POST" and endpoint == WORKFLOW.create_endpoint


def workflows_api_retired_error(
    base_url: str, method: str, status: int, body: bytes, secret: str = ""
) -> HeyGenApiRetiredError:
    """
    The one wording, for both hooks, of HeyGen's workflows API missing at a host: which host, what it
    answered, why that may be (HeyGen's retirement of /v1) and what to do instead.

    :param base_url: the connection's base URL.
    :param method: the request's HTTP method.
    :param status: the answer's HTTP status (404 or 410).
    :param body: the answer's body, whose message is quoted.
    :param secret: the API key, blanked out of the quoted message.
    """
    host = base_url.replace(secret, REDACTED) if secret else base_url
    return HeyGenApiRetiredError(
        f"HeyGen's workflows API (/{WORKFLOW.create_endpoint}, needed for face swap) is not available at "
        f"{host}: {method.upper()} answered HTTP {status} ({_error_text(body, secret)}). HeyGen retires "
        "its /v1 APIs from 2026-11-01 and has no v3 face-swap endpoint; retrying cannot bring the API "
        "back, so the task fails now. Check the connection's API URL; if it is HeyGen's, face swap "
        "(FaceswapNode) cannot run there any more, and avatar videos (AvatarInferenceNode) move to "
        "API v3 (HeyGenVideoOperator)"
    )


def read_response(
    status: int,
    body: bytes,
    retry_after: str | None,
    *,
    not_found_ok: bool,
    truncated: bool = False,
    secret: str = "",
    list_data: bool = False,
) -> Mapping[str, Any] | Retry:
    """
    Interpret one HTTP response from HeyGen.

    :param status: the HTTP status code.
    :param body: the raw body.
    :param retry_after: the ``Retry-After`` header, if any.
    :param not_found_ok: whether a 404 means "no such execution" (status requests) rather than an error.
    :param truncated: whether the body was longer than :data:`MAX_RESPONSE_BYTES` and cut there.
    :param secret: the API key, blanked out of any text taken from the body.
    :param list_data: the answer's ``data`` is a list (bulk reads), returned as it is.
    :return: the response's ``data`` object, or :class:`Retry` for a failure worth repeating.
    :raises HeyGenAuthError: on 401/403.
    :raises HeyGenRequestError: on a redirect (never followed: the key must not travel) or any other 4xx.
    """
    if status in (401, 403):
        raise HeyGenAuthError(
            f"HeyGen rejected the API key (HTTP {status}: {_error_text(body, secret)}); "
            f"check the connection's API Key or {API_KEY_ENV_VAR}"
        )
    if status == 402:
        raise HeyGenSpendLimitError(
            f"HeyGen refused for lack of money (HTTP 402: {_error_text(body, secret)}); nothing was created. "
            "Top up the account, or lower what the task creates"
        )
    if status == 429 or status >= 500:
        return Retry(f"HTTP {status}: {_error_text(body, secret)}", parse_retry_after(retry_after))
    if status == 404 and not_found_ok:
        return {"status": "not_found"}
    if 300 <= status < 400:
        raise HeyGenRequestError(
            f"HeyGen answered with a redirect (HTTP {status}), which is not followed so that the API key "
            "only ever goes to the connection's API URL; check that URL"
        )
    if not 200 <= status < 300:
        raise HeyGenRequestError(f"HeyGen refused the request (HTTP {status}): {_error_text(body, secret)}")
    if truncated:
        return Retry(
            f"HTTP {status} with a body over {MAX_RESPONSE_BYTES} bytes: {_error_text(body, secret)}"
        )
    document = _json_or_none(body)
    if document is None:
        return Retry(f"HTTP {status} with a body that is not JSON: {_error_text(body, secret)}")
    data = document.get("data") if isinstance(document, Mapping) else None
    if not isinstance(data, list if list_data else Mapping):
        shape = "list" if list_data else "object"
        return Retry(f"HTTP {status} without a 'data' {shape}: {_error_text(body, secret)}")
    return data  # type: ignore[return-value]  # a list with list_data: callers asked for it
