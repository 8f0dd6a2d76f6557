"""
Every error answer is JSON in HeyGen's envelope, with the code of its status: the handlers' own and
those aiohttp would answer in text or HTML (unknown routes, wrong methods, oversized bodies, crashes).
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from airflow_heygen.emulator.error_envelope import json_errors_middleware
from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from tests.emulator.conftest import EXECUTIONS, faceswap_body

TOO_LARGE = b'{"pad": "' + b"x" * (9 * 1024 * 1024) + b'"}'  # over the 8 MiB JSON body cap


def send(
    handle: EmulatorHandle,
    method: str,
    path: str,
    body: bytes | None = None,
    key: bool = True,
) -> tuple[int, dict[str, str], Any]:
    """A raw request: status, headers and the body, which must be JSON."""
    headers = {"Content-Type": "application/json", **({"X-Api-Key": handle.api_key} if key else {})}
    request = urllib.request.Request(handle.url(path), data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, answer_headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, answer_headers, raw = exc.code, dict(exc.headers), exc.read()
    assert answer_headers["Content-Type"].startswith("application/json"), (status, raw[:200])
    return status, answer_headers, json.loads(raw)


def v1_error(answer: Any, code: str) -> dict[str, Any]:
    """Assert the workflows API envelope (HeyGen's StandardAPIError) with this code."""
    assert set(answer) == {"data", "error"}, answer
    error = answer["error"]
    assert set(error) == {"code", "message", "param", "doc_url"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    return dict(error)


@pytest.fixture
def emulator(stub_emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    """The module's stub emulator without faults before and after each test."""
    quiet = {"rate_limit_rate": 0, "error_rate": 0, "insufficient_credit_rate": 0, "retry_after": 1}
    stub_emulator.set_faults(**quiet)
    yield stub_emulator
    stub_emulator.set_faults(**quiet)


def test_400_invalid_json_and_invalid_parameter(emulator: EmulatorHandle) -> None:
    status, _, answer = send(emulator, "POST", EXECUTIONS, b"{not json")
    assert status == 400
    v1_error(answer, "invalid_parameter")
    body = json.dumps({"workflow_type": "TeleportNode", "input": {}}).encode()
    status, _, answer = send(emulator, "POST", EXECUTIONS, body)
    assert status == 400
    assert v1_error(answer, "invalid_parameter")["param"] == "workflow_type"
    body = json.dumps({"workflow_type": "FaceswapNode", "input": {"source_image_url": "ftp://x"}}).encode()
    assert v1_error(send(emulator, "POST", EXECUTIONS, body)[2], "invalid_parameter")["param"] == (
        "input.source_image_url"
    )


def test_401_authentication_failed(emulator: EmulatorHandle) -> None:
    status, _, answer = send(emulator, "GET", f"{EXECUTIONS}/node-gw-000000000000", key=False)
    assert status == 401
    assert v1_error(answer, "authentication_failed")["message"] == "Invalid or missing API key"


def test_402_insufficient_credit(emulator: EmulatorHandle) -> None:
    emulator.set_faults(insufficient_credit_rate=1.0)
    status, _, answer = send(emulator, "POST", EXECUTIONS, json.dumps(faceswap_body(emulator)).encode())
    assert status == 402
    v1_error(answer, "insufficient_credit")


@pytest.mark.parametrize("path", [f"{EXECUTIONS}/node-gw-000000000000", "/v1/nothing", "/v1/workflows"])
def test_404_not_found(emulator: EmulatorHandle, path: str) -> None:
    status, _, answer = send(emulator, "GET", path)
    assert status == 404
    v1_error(answer, "not_found")


@pytest.mark.parametrize(("method", "path"), [("DELETE", EXECUTIONS), ("PUT", f"{EXECUTIONS}/node-gw-1")])
def test_405_method_not_allowed(emulator: EmulatorHandle, method: str, path: str) -> None:
    status, headers, answer = send(emulator, method, path)
    assert status == 405
    assert "GET" in headers["Allow"] or "POST" in headers["Allow"]
    assert v1_error(answer, "method_not_allowed")["message"] == f"{method} is not allowed on {path}"


def test_413_payload_too_large(emulator: EmulatorHandle) -> None:
    status, _, answer = send(emulator, "POST", EXECUTIONS, TOO_LARGE)
    assert status == 413
    assert "too large" in v1_error(answer, "payload_too_large")["message"]


def test_413_also_when_the_request_log_reads_the_body(
    make_data_dir: Callable[[], Path], tmp_path: Path
) -> None:
    with run_emulator(make_data_dir(), render="stub", request_log=tmp_path / "requests.jsonl") as handle:
        status, _, answer = send(handle, "POST", EXECUTIONS, TOO_LARGE)
        assert status == 413
        v1_error(answer, "payload_too_large")
        status, _, answer = send(handle, "POST", "/v3/videos", TOO_LARGE)
        assert (status, answer["error"]["code"]) == (413, "payload_too_large")
        assert answer["error"]["doc_url"].startswith("https://")
        assert handle.stats()["requests"]["POST /v1/workflows/executions"] == {"413": 1}


def test_429_rate_limited_with_an_integer_retry_after(emulator: EmulatorHandle) -> None:
    emulator.set_faults(rate_limit_rate=1.0, retry_after=4)
    status, headers, answer = send(emulator, "GET", f"{EXECUTIONS}/node-gw-000000000000")
    assert status == 429
    assert headers["Retry-After"] == "4"
    v1_error(answer, "rate_limit_exceeded")


def test_503_service_unavailable(emulator: EmulatorHandle) -> None:
    emulator.set_faults(error_rate=1.0)
    status, _, answer = send(emulator, "POST", EXECUTIONS, json.dumps(faceswap_body(emulator)).encode())
    assert status == 503
    v1_error(answer, "service_unavailable")


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/_admin/nothing", 404, "not_found"),
        ("GET", "/_admin/release", 405, "method_not_allowed"),
        ("GET", "/media/node-gw-000000000000.mp4", 404, "not_found"),
        ("GET", "/samples/nothing.jpg", 404, "not_found"),
        ("GET", "/nowhere", 404, "not_found"),
    ],
)
def test_admin_and_file_errors(
    emulator: EmulatorHandle, method: str, path: str, status: int, code: str
) -> None:
    answered, _, answer = send(emulator, method, path, key=False)
    assert answered == status
    v1_error(answer, code)


def test_v3_keeps_its_own_envelope(emulator: EmulatorHandle) -> None:
    status, _, answer = send(emulator, "GET", "/v3/nothing")
    assert (status, answer["error"]["code"]) == (404, "not_found")
    assert answer["error"]["doc_url"].startswith("https://")
    status, _, answer = send(emulator, "GET", "/v3/videos", key=False)
    assert (status, answer["error"]["code"]) == (401, "unauthorized")


def test_an_unexpected_exception_answers_500_internal_error() -> None:
    async def crash(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    async def call() -> tuple[int, str, Any]:
        app = web.Application(middlewares=[json_errors_middleware])
        app.router.add_get("/v1/crash", crash)
        async with TestClient(TestServer(app)) as client:
            response = await client.get("/v1/crash")
            return response.status, response.content_type, await response.json()

    status, content_type, answer = asyncio.run(call())
    assert (status, content_type) == (500, "application/json")
    v1_error(answer, "internal_error")
