"""
HeyGen's v3 schemas (``reference/heygen-v3/operations.json``, from HeyGen's CLI: see
``reference/SOURCE.md``) as ``jsonschema`` validators, and a client that checks every request it
sends and every answer it gets.

The schemas are OpenAPI 3.0 flavoured: ``nullable`` becomes "or null", and a ``oneOf`` with a
``discriminator`` is narrowed to the branch whose discriminator says ``Must be '<value>'`` (or to
``anyOf`` when the branches do not say), since plain JSON Schema knows neither keyword.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from airflow_heygen.emulator.testing import EmulatorHandle

REPO_ROOT = Path(__file__).resolve().parents[2]
OPERATIONS_PATH = REPO_ROOT / "reference/heygen-v3/operations.json"
_MUST_BE = re.compile(r"Must be '([a-z_0-9]+)'")

# Not in operations.json (HeyGen documents it in prose): every v3 error answer has this shape.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "doc_url"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "pattern": "^[a-z][a-z_]*$"},
                "message": {"type": "string", "minLength": 1},
                "param": {"type": "string", "minLength": 1},
                "doc_url": {"type": "string", "pattern": "^https://"},
            },
        }
    },
}


def _discriminated(branches: list[dict[str, Any]], prop: str) -> dict[str, Any]:
    values = []
    for branch in branches:
        found = _MUST_BE.search(str(branch.get("properties", {}).get(prop, {}).get("description", "")))
        values.append(found.group(1) if found else None)
    if None in values:
        return {"anyOf": branches}
    narrowed = []
    for branch, value in zip(branches, values, strict=True):
        properties = {**branch["properties"], prop: {**branch["properties"][prop], "const": value}}
        narrowed.append({**branch, "properties": properties})
    return {"oneOf": narrowed}


def normalize(schema: Any) -> Any:
    """
    Plain JSON Schema for an OpenAPI 3.0 schema.

    :param schema: a schema (or part of one) from operations.json.
    """
    if isinstance(schema, list):
        return [normalize(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {k: normalize(v) for k, v in schema.items() if k not in ("nullable", "discriminator")}
    if "discriminator" in schema and "oneOf" in result:
        union = _discriminated(result.pop("oneOf"), schema["discriminator"]["propertyName"])
        result.update(union)
    if schema.get("nullable"):
        return {"anyOf": [{"type": "null"}, result]}
    return result


@dataclass(frozen=True)
class Operation:
    """
    One operation of operations.json.

    :param method: HTTP method.
    :param endpoint: path template, e.g. ``/v3/videos/{video_id}``.
    :param request_schema: JSON Schema of the body, or None.
    :param response_schema: JSON Schema of a success answer, or None.
    """

    method: str
    endpoint: str
    request_schema: dict[str, Any] | None
    response_schema: dict[str, Any] | None

    @property
    def pattern(self) -> re.Pattern[str]:
        """The template as a regular expression of concrete paths."""
        return re.compile("^" + re.sub(r"\{[a-z_]+\}", "[^/]+", self.endpoint) + "$")


@functools.cache
def operations() -> tuple[Operation, ...]:
    """Every operation of the repository's copy of operations.json."""
    raw = json.loads(OPERATIONS_PATH.read_text(encoding="utf-8"))["operations"]
    return tuple(
        Operation(
            op["method"],
            op["endpoint"],
            normalize(op["request_schema"]) if op["request_schema"] else None,
            normalize(op["response_schema"]) if op["response_schema"] else None,
        )
        for op in raw
    )


def operation(method: str, path: str) -> Operation:
    """
    The operation serving a concrete path (literal segments win over ``{parameters}``).

    :param method: HTTP method.
    :param path: the path without its query string.
    """
    matches = [op for op in operations() if op.method == method and op.pattern.match(path)]
    if not matches:
        raise AssertionError(f"no v3 operation for {method} {path}")
    return min(matches, key=lambda op: op.endpoint.count("{"))


def check_request(method: str, path: str, body: Any) -> None:
    """
    Assert a request body matches its operation's request schema.

    :param method: HTTP method.
    :param path: concrete path.
    :param body: the JSON body.
    """
    schema = operation(method, path).request_schema
    if schema is not None and body is not None:
        jsonschema.validate(body, schema)


def check_response(method: str, path: str, status: int, body: Any) -> None:
    """
    Assert an answer matches its operation: success answers its response schema (and carry
    ``data``), errors the error envelope (and, trivially, the response schema too).

    :param method: HTTP method.
    :param path: concrete path.
    :param status: HTTP status.
    :param body: decoded JSON answer.
    """
    op = operation(method, path)
    if status >= 400:
        jsonschema.validate(body, ERROR_SCHEMA)
    else:
        assert isinstance(body, dict) and "data" in body, body
    if op.response_schema is not None:
        jsonschema.validate(body, op.response_schema)


class V3Client:
    """
    Sends v3 requests with a valid key and checks both directions against the schemas.

    :param handle: the emulator.
    """

    def __init__(self, handle: EmulatorHandle) -> None:
        self.handle = handle

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        check_body: bool = True,
    ) -> tuple[int, Any]:
        """
        One request.

        :param method: HTTP method.
        :param path: path with optional query.
        :param body: JSON body.
        :param headers: more headers.
        :param check_body: validate the body against the request schema (off for invalid bodies).
        """
        bare = path.split("?", 1)[0]
        if check_body:
            check_request(method, bare, body)
        status, answer = self.handle.v3(method, path, body, headers)
        check_response(method, bare, status, answer)
        return status, answer

    def ok(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        """
        A request that must succeed; returns ``data``.

        :param method: HTTP method.
        :param path: path with optional query.
        :param body: JSON body.
        :param headers: more headers.
        """
        status, answer = self.call(method, path, body, headers)
        assert status == 200, answer
        return answer["data"]

    def error(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """
        A request that must fail (its body is not checked against the request schema).

        :return: status and the ``error`` object.
        """
        status, answer = self.call(method, path, body, headers, check_body=False)
        assert status >= 400, answer
        return status, answer["error"]

    def upload(self, content: bytes, filename: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """
        ``POST /v3/assets``, the answer checked.

        :param content: file bytes.
        :param filename: file name.
        :param headers: more headers.
        """
        status, answer = self.handle.upload(content, filename, headers=headers)
        check_response("POST", "/v3/assets", status, answer)
        return status, answer


def url_media(url: str) -> dict[str, str]:
    """A ``{"type": "url"}`` media input."""
    return {"type": "url", "url": url}


def avatar_video(handle: EmulatorHandle, **extra: Any) -> dict[str, Any]:
    """A ``POST /v3/videos`` avatar body speaking the sample speech."""
    return {
        "type": "avatar",
        "avatar_id": "Angela-inblackskirt-20220820",
        "audio_url": handle.sample_url("speech.wav"),
        **extra,
    }


def lipsync_body(handle: EmulatorHandle, **extra: Any) -> dict[str, Any]:
    """A ``POST /v3/lipsyncs`` body re-driving the sample video with the sample speech."""
    return {
        "video": url_media(handle.sample_url("target.mp4")),
        "audio": url_media(handle.sample_url("speech.wav")),
        **extra,
    }


def translation_body(handle: EmulatorHandle, languages: list[str], **extra: Any) -> dict[str, Any]:
    """A ``POST /v3/video-translations`` body for the sample video."""
    return {"video": url_media(handle.sample_url("target.mp4")), "output_languages": languages, **extra}


FINAL = ("completed", "failed")


def wait_v3(client: V3Client, resource: str, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """
    Poll ``GET /v3/<resource>/<id>`` until completed or failed; returns ``data``.

    :param client: the client.
    :param resource: ``videos``, ``lipsyncs`` or ``video-translations``.
    :param job_id: the id.
    :param timeout: seconds.
    """
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = client.ok("GET", f"/v3/{resource}/{job_id}")
        if data["status"] in FINAL:
            return dict(data)
        time.sleep(0.1)
    raise AssertionError(f"{resource}/{job_id} not finished after {timeout}s")
