"""
HeyGen's own OpenAPI 3.1 description of the workflows API (``reference/heygen-workflows-openapi.json``,
see ``reference/SOURCE.md``) as ``jsonschema`` validators, and a client that checks every answer of
``POST /v1/workflows/executions`` and ``GET /v1/workflows/executions/{execution_id}`` against it.

OpenAPI 3.1 schemas are JSON Schema 2020-12, so the file is registered whole as one resource and each
schema is validated through a ``$ref`` into it: the ``#/components/schemas/...`` references inside
then resolve against the file, as they do for HeyGen. Nothing is copied or rewritten. A route, status
or schema missing from the file fails with a message naming it, never passes for lack of a schema.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from airflow_heygen.emulator.testing import EmulatorHandle

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO_ROOT / "reference/heygen-workflows-openapi.json"
# The URI the file is registered under; any would do, the file has no $id of its own.
SPEC_URI = "urn:heygen:workflows-openapi"
JSON = "application/json"

SUBMIT = "/v1/workflows/executions"
READ = "/v1/workflows/executions/{execution_id}"
# The statuses are not an enum in the schema, only in the description of ``status``.
_STATUS_LIST = re.compile(r"Execution status: ([a-z_]+(?: \| [a-z_]+)+)")


@functools.cache
def spec() -> dict[str, Any]:
    """The repository's copy of the OpenAPI description."""
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    assert str(loaded.get("openapi", "")).startswith("3.1"), "expected an OpenAPI 3.1 description"
    return loaded


@functools.cache
def registry() -> Registry[Any]:
    """A registry holding the whole description, so that its ``#/components`` references resolve."""
    return Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(spec()))


def _pointer(*parts: str) -> str:
    """A JSON pointer into the description (``/`` and ``~`` escaped as RFC 6901 says)."""
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def _get(pointer_parts: tuple[str, ...], what: str) -> Any:
    node: Any = spec()
    for part in pointer_parts:
        if not isinstance(node, dict) or part not in node:
            raise AssertionError(f"HeyGen's OpenAPI description has no {what} ({_pointer(*pointer_parts)})")
        node = node[part]
    return node


def _validator(parts: tuple[str, ...], what: str) -> Draft202012Validator:
    _get(parts, what)  # fail loudly, naming what is missing, before the $ref would
    return Draft202012Validator({"$ref": SPEC_URI + _pointer(*parts)}, registry=registry())


def operation(method: str, template: str) -> dict[str, Any]:
    """
    The description of one operation.

    :param method: HTTP method, any case.
    :param template: the path template, e.g. :data:`READ`.
    :raises AssertionError: when the file does not describe it.
    """
    found: dict[str, Any] = _get(("paths", template, method.lower()), f"{method.upper()} {template}")
    return found


def response_validator(method: str, template: str, status: int) -> Draft202012Validator:
    """
    A validator of the JSON answer an operation gives with ``status``.

    :param method: HTTP method.
    :param template: the path template.
    :param status: HTTP status.
    """
    operation(method, template)
    parts = ("paths", template, method.lower(), "responses", str(status), "content", JSON, "schema")
    return _validator(parts, f"{status} JSON schema of {method.upper()} {template}")


def request_validator(method: str, template: str) -> Draft202012Validator:
    """
    A validator of an operation's JSON request body.

    :param method: HTTP method.
    :param template: the path template.
    """
    operation(method, template)
    parts = ("paths", template, method.lower(), "requestBody", "content", JSON, "schema")
    return _validator(parts, f"request body schema of {method.upper()} {template}")


def response_headers(method: str, template: str, status: int) -> dict[str, Any]:
    """
    The headers the description declares for an answer (name: its description, with ``schema``).

    :param method: HTTP method.
    :param template: the path template.
    :param status: HTTP status.
    """
    response = _get(("paths", template, method.lower(), "responses", str(status)), f"{status} answer")
    return dict(response.get("headers", {}))


def example_error(method: str, template: str, status: int) -> dict[str, Any] | None:
    """
    The ``error`` of the example an error answer documents, if it documents one.

    :param method: HTTP method.
    :param template: the path template.
    :param status: HTTP status.
    """
    response = _get(("paths", template, method.lower(), "responses", str(status)), f"{status} answer")
    example = response.get("content", {}).get(JSON, {}).get("example")
    return dict(example["error"]) if isinstance(example, dict) and "error" in example else None


@functools.cache
def execution_statuses() -> frozenset[str]:
    """The statuses the description lists for ``WorkflowExecutionDetailResponse.status``."""
    parts = ("components", "schemas", "WorkflowExecutionDetailResponse", "properties", "status")
    description = str(_get(parts, "status of an execution read").get("description", ""))
    listed = _STATUS_LIST.search(description)
    assert listed, f"no list of statuses in {description!r}"
    return frozenset(listed.group(1).split(" | "))


def _check_headers(method: str, template: str, status: int, headers: dict[str, str]) -> None:
    for name, declared in response_headers(method, template, status).items():
        value = headers.get(name.lower())
        assert value is not None, f"{status} answer of {method} {template} lacks its {name} header"
        schema = declared.get("schema", {})
        if schema.get("type") == "integer":
            # A header is text: an integer header must be digits only, e.g. no "1.0" or " 2".
            assert re.fullmatch(r"[0-9]+", value), f"{name}: {value!r} is not an integer"
            Draft202012Validator(schema).validate(int(value))


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


@dataclass(frozen=True)
class Answer:
    """
    One answer of the emulator.

    :param status: HTTP status.
    :param headers: response headers, names in lower case (HTTP names are case-insensitive).
    :param body: the decoded JSON body.
    """

    status: int
    headers: dict[str, str]
    body: Any


def check_answer(method: str, template: str, answer: Answer) -> None:
    """
    Assert an answer is what the description says for its status: JSON, valid against that status's
    schema, with the declared headers, an error with its example's code, a read's ``data.status``
    one of the listed statuses.

    :param method: HTTP method.
    :param template: the path template.
    :param answer: the answer.
    """
    content_type = answer.headers.get("content-type", "").split(";", 1)[0].strip()
    assert content_type == JSON, f"{answer.status} answer is {content_type!r}, not JSON"
    response_validator(method, template, answer.status).validate(answer.body)
    _check_headers(method, template, answer.status, answer.headers)
    # The schemas declare ``data`` or ``error`` without requiring it: an empty object would pass them.
    member = "error" if answer.status >= 400 else "data"
    assert isinstance(answer.body, dict) and isinstance(answer.body.get(member), dict), answer.body
    example = example_error(method, template, answer.status) if answer.status >= 400 else None
    if example is not None:
        # Each documented error answer has one code (its example's); messages may differ.
        assert answer.body["error"]["code"] == example["code"], (answer.body, example)
    if answer.status == 200 and template == READ:
        assert answer.body["data"]["status"] in execution_statuses(), answer.body


class WorkflowsClient:
    """
    Sends workflows requests to the emulator and checks each answer against the description.

    :param handle: the emulator.
    """

    def __init__(self, handle: EmulatorHandle) -> None:
        self.handle = handle

    def _send(self, method: str, path: str, body: Any, key: str | None) -> Answer:
        headers = {"Content-Type": JSON}
        if key is not None:
            headers["X-Api-Key"] = key
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.handle.url(path), data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, _lower(response.headers.items()), json.loads(response.read()))
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, _lower(exc.headers.items()), json.loads(exc.read()))

    def submit(self, body: Any, key: str | None = "") -> Answer:
        """
        ``POST /v1/workflows/executions``, the answer checked.

        :param body: the JSON body (not checked: invalid bodies are sent on purpose).
        :param key: the API key; "" sends the emulator's, None sends none.
        """
        answer = self._send("POST", SUBMIT, body, self.handle.api_key if key == "" else key)
        check_answer("POST", SUBMIT, answer)
        return answer

    def read(self, execution_id: str, key: str | None = "") -> Answer:
        """
        ``GET /v1/workflows/executions/{execution_id}``, the answer checked.

        :param execution_id: the id.
        :param key: the API key; "" sends the emulator's, None sends none.
        """
        path = f"{SUBMIT}/{execution_id}"
        answer = self._send("GET", path, None, self.handle.api_key if key == "" else key)
        check_answer("GET", READ, answer)
        return answer
