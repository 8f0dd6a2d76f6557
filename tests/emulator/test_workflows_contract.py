"""
Workflows API contract: every answer of ``POST /v1/workflows/executions`` and
``GET /v1/workflows/executions/{execution_id}``, and every body the provider sends there, against
HeyGen's own OpenAPI description (``reference/heygen-workflows-openapi.json``).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from airflow_heygen.hooks.heygen import HeyGenHook
from airflow_heygen.operators.heygen import AvatarInferenceOperator, FaceswapOperator
from tests.emulator.conftest import avatar_body, faceswap_body
from tests.emulator.workflows_contract import (
    READ,
    SUBMIT,
    WorkflowsClient,
    example_error,
    execution_statuses,
    operation,
    request_validator,
    response_headers,
    response_validator,
)
from tests.support.media_server import MediaServer
from tests.support.v3_emulator import QUIET, connection, request_log

FINAL = ("completed", "failed")
# What each route answers, by the description's own list of statuses (a 400 read is described but
# the emulator has no read parameter to refuse).
DESCRIBED = [
    ("POST", SUBMIT, 200),
    ("POST", SUBMIT, 400),
    ("POST", SUBMIT, 401),
    ("POST", SUBMIT, 429),
    ("GET", READ, 200),
    ("GET", READ, 401),
    ("GET", READ, 404),
    ("GET", READ, 429),
]
# Longer than any wait of these tests, shorter than the emulator's 5 s input check.
SLOW_INPUT_SECONDS = 4.0


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory, sample_cache: Path) -> Iterator[EmulatorHandle]:
    """One render worker (so one slow job holds the next one in ``submitted``) and a request log."""
    data_dir = tmp_path_factory.mktemp("workflows-contract")
    shutil.copytree(sample_cache, data_dir / "samples")
    with run_emulator(
        data_dir, render="stub", workers=1, request_log=data_dir / "requests.jsonl", seed=5
    ) as handle:
        yield handle


@pytest.fixture
def client(emulator: EmulatorHandle) -> Iterator[WorkflowsClient]:
    emulator.set_faults(**QUIET)
    yield WorkflowsClient(emulator)
    emulator.set_faults(**QUIET)


@pytest.fixture
def slow_input() -> Iterator[tuple[str, threading.Event]]:
    """An input URL whose check by the emulator answers only once the event is set (or after 4 s)."""
    server = MediaServer()
    answer = threading.Event()

    def route(handler: BaseHTTPRequestHandler) -> None:
        answer.wait(SLOW_INPUT_SECONDS)
        handler.send_response(206)
        handler.send_header("Content-Type", "image/jpeg")
        handler.send_header("Content-Range", "bytes 0-0/1")
        handler.send_header("Content-Length", "1")
        handler.end_headers()
        handler.wfile.write(b"\xff")

    server.routes["/slow.jpg"] = route
    try:
        yield server.url("/slow.jpg"), answer
    finally:
        answer.set()
        server.stop()


def wait_for(client: WorkflowsClient, execution_id: str, statuses: tuple[str, ...]) -> dict[str, Any]:
    """Read (every answer checked) until the status is one of ``statuses``; returns ``data``."""
    deadline = time.monotonic() + 30
    while True:
        answer = client.read(execution_id)
        assert answer.status == 200, answer.body
        data: dict[str, Any] = answer.body["data"]
        if data["status"] in statuses:
            return data
        assert data["status"] not in FINAL, data
        assert time.monotonic() < deadline, f"{execution_id} still {data['status']}"
        time.sleep(0.05)


@pytest.mark.parametrize(("method", "template", "status"), DESCRIBED)
def test_the_description_has_each_answer_schema(method: str, template: str, status: int) -> None:
    # Loud when a refreshed copy of the file lost one: these tests would otherwise validate nothing.
    assert operation(method, template)["responses"][str(status)]
    response_validator(method, template, status)


def test_the_description_has_the_body_schema_and_statuses() -> None:
    request_validator("POST", SUBMIT)
    assert response_headers("POST", SUBMIT, 429)["Retry-After"]["schema"] == {"type": "integer"}
    assert execution_statuses() == {"submitted", "running", "completed", "failed", "not_found"}


def test_a_read_in_every_status(client: WorkflowsClient, slow_input: tuple[str, threading.Event]) -> None:
    handle = client.handle
    url, answer_input = slow_input
    first = client.submit(faceswap_body(handle, source=url))
    assert first.status == 200
    assert first.body["data"]["status"] == "submitted"
    slow_id = first.body["data"]["execution_id"]
    running = wait_for(client, slow_id, ("running",))
    # The only worker waits for the slow input: the next job stays queued.
    queued_id = client.submit(faceswap_body(handle)).body["data"]["execution_id"]
    queued = client.read(queued_id).body["data"]
    assert queued["status"] == "submitted"
    for data in (running, queued):
        assert (data["output"], data["outputs"], data["error"]) == (None, None, None)

    answer_input.set()
    seen = {"running", "submitted"}
    for execution_id in (slow_id, queued_id):
        done = wait_for(client, execution_id, FINAL)
        assert done["status"] == "completed"
        assert done["error"] is None and done["outputs"] is None
        # Where the provider reads a face swap's video.
        assert done["output"]["video_url"] == handle.url(f"/media/{execution_id}.mp4")
        seen.add(done["status"])

    codes = ["internal_error", "download_failed", "no_face_detected", "workflow_timeout"]
    handle.set_faults(fail_next=codes)
    for code in codes:
        failed = wait_for(client, client.submit(faceswap_body(handle)).body["data"]["execution_id"], FINAL)
        assert failed["status"] == "failed"
        assert failed["error"]["code"] == code and failed["error"]["message"]
        assert failed["output"] is None
        seen.add(failed["status"])
    # Every status the description lists but not_found, which the emulator answers as a 404.
    assert seen == execution_statuses() - {"not_found"}


def test_an_avatar_execution_completes_with_its_nested_output(client: WorkflowsClient) -> None:
    submitted = client.submit(avatar_body(client.handle))
    done = wait_for(client, submitted.body["data"]["execution_id"], FINAL)
    assert done["status"] == "completed"
    assert done["output"]["video"]["video_url"].startswith(client.handle.url("/media/"))


def test_an_unknown_execution_is_the_documented_404(client: WorkflowsClient) -> None:
    answer = client.read("node-gw-000000000000")
    assert answer.status == 404
    assert answer.body["error"] == example_error("GET", READ, 404)


@pytest.mark.parametrize(
    ("extra", "drop", "param"),
    [
        ({"workflow_id": "FaceswapNode"}, None, "workflow_id"),
        ({"inputs": {}}, "input", "inputs"),
        ({"callback_url": "https://example.com/hook"}, None, "callback_url"),
        ({}, "workflow_type", "workflow_type"),
        ({}, "input", "input"),
    ],
)
def test_a_body_outside_the_schema_is_refused(
    client: WorkflowsClient, extra: dict[str, Any], drop: str | None, param: str
) -> None:
    body = {**faceswap_body(client.handle), **extra}
    if drop is not None:
        del body[drop]
    # The schema refuses it too, so the emulator refuses no more than HeyGen does here.
    assert list(request_validator("POST", SUBMIT).iter_errors(body))
    before = client.handle.stats()["submissions"]
    answer = client.submit(body)
    assert answer.status == 400
    assert (answer.body["error"]["code"], answer.body["error"]["param"]) == ("invalid_parameter", param)
    assert param in answer.body["error"]["message"]
    assert client.handle.stats()["submissions"] == before, "a refused body creates nothing"


@pytest.mark.parametrize("key", [None, "   "])
def test_a_bad_key_is_401(client: WorkflowsClient, key: str | None) -> None:
    assert client.submit(faceswap_body(client.handle), key=key).status == 401
    assert client.read("node-gw-000000000000", key=key).status == 401


def test_rate_limited_answers_carry_an_integer_retry_after(client: WorkflowsClient) -> None:
    client.handle.set_faults(rate_limit_rate=1.0, retry_after=3)
    submitted = client.submit(faceswap_body(client.handle))
    read = client.read("node-gw-000000000000")
    client.handle.set_faults(rate_limit_rate=0.0)
    for answer in (submitted, read):
        assert answer.status == 429
        assert answer.headers["retry-after"] == "3"


def test_the_providers_bodies_match_the_request_schema(
    client: WorkflowsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle = client.handle
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", connection(handle))
    # The operators build the input, the hook the body: as a task sends them.
    operators = [
        FaceswapOperator(
            task_id="swap",
            source_image_url=handle.sample_url("face.jpg"),
            target_video_url=handle.sample_url("target.mp4"),
        ),
        AvatarInferenceOperator(
            task_id="speak",
            avatar_id="Angela-inblackskirt-20220820",
            audio_urls=[handle.sample_url("speech.wav")],
            extra_input={"video_settings": {"width": 640}},
        ),
    ]
    hook = HeyGenHook()
    ids = [hook.submit_workflow(op.workflow_type, op.workflow_input()) for op in operators]

    sent = [entry for entry in request_log(handle) if (entry["method"], entry["path"]) == ("POST", SUBMIT)]
    bodies = {entry["body"]["workflow_type"]: entry["body"] for entry in sent[-len(operators) :]}
    assert set(bodies) == {"FaceswapNode", "AvatarInferenceNode"}
    for body in bodies.values():
        request_validator("POST", SUBMIT).validate(body)
    for execution_id in ids:
        assert wait_for(client, execution_id, FINAL)["status"] == "completed"
