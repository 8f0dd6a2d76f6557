"""
HeyGen's workflows API retired (404/410 on the submission: reported at once, never sent twice),
``Deprecation``/``Sunset`` warned once, ``create_timeout`` for creates and ``request_timeout`` for
reads, a create's ``waiting`` status, ``output.url``, and both shapes of "not found".
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_heygen.exceptions import HeyGenApiRetiredError
from airflow_heygen.hooks import common
from airflow_heygen.hooks.heygen import HeyGenAsyncHook, HeyGenHook
from airflow_heygen.job import job_from_single
from airflow_heygen.kinds import JobStatus
from airflow_heygen.models import Execution, ExecutionStatus
from airflow_heygen.triggers.heygen import HeyGenExecutionTrigger, execution_from_event
from tests.conftest import TEST_KEY, heygen_connection_uri
from tests.support.fake_heygen import FakeHeyGen, Reply
from tests.support.scripted_server import Answer, ScriptedServer, scripted_server

FACESWAP_INPUT = {"source_image_url": "https://x/a.jpg", "target_video_url": "https://x/b.mp4"}
RETIRED_410 = {"data": None, "error": {"code": "gone", "message": "The v1 workflows API has been retired"}}


@pytest.mark.parametrize(("status", "code"), [(410, "gone"), (404, "not_found")])
def test_a_retired_submission_is_reported_at_once_and_never_sent_again(
    heygen_conn: FakeHeyGen, status: int, code: str
) -> None:
    heygen_conn.replies.append(
        Reply(status, {"data": None, "error": {"code": code, "message": "no such API"}}, method="POST")
    )
    with pytest.raises(HeyGenApiRetiredError) as raised:
        HeyGenHook().submit_workflow("FaceswapNode", FACESWAP_INPUT)
    assert isinstance(raised.value, AirflowFailException), "no Airflow retry either"
    assert str(raised.value).startswith(
        "HeyGen's workflows API (/v1/workflows/executions, needed for face swap) is not available at "
        f"{heygen_conn.base_url}: POST answered HTTP {status} (no such API). HeyGen retires its /v1 APIs "
        "from 2026-11-01 and has no v3 face-swap endpoint;"
    )
    assert heygen_conn.count("POST") == 1


def test_a_404_on_a_read_still_means_not_found_but_a_410_means_retired(heygen_conn: FakeHeyGen) -> None:
    assert HeyGenHook().get_execution("node-gw-unknown").status is ExecutionStatus.NOT_FOUND
    heygen_conn.replies.append(Reply(410, RETIRED_410, method="GET"))
    with pytest.raises(HeyGenApiRetiredError, match=r"GET answered HTTP 410 \(The v1 workflows API"):
        HeyGenHook().get_execution("node-gw-any")
    assert heygen_conn.count("GET") == 2, "the 410 was not retried"


def test_the_trigger_reports_a_retired_api_as_fatal(heygen_conn: FakeHeyGen) -> None:
    heygen_conn.replies.append(Reply(410, RETIRED_410, method="GET"))

    async def events() -> list[dict[str, object]]:
        trigger = HeyGenExecutionTrigger("node-gw-any", poll_interval=0.01, deadline=time.time() + 10)
        return [event.payload async for event in trigger.run()]

    (event,) = asyncio.run(events())
    assert (event["status"], event["fatal"]) == ("error", "HeyGenApiRetiredError")
    with pytest.raises(HeyGenApiRetiredError, match="is not available at"):
        execution_from_event(event, 10)
    assert heygen_conn.count("GET") == 1


@pytest.mark.parametrize(
    "reply",
    [
        Reply(404, {"data": None, "error": {"code": "not_found", "message": "Workflow not found"}}),
        Reply(200, {"data": {"execution_id": "node-gw-gone", "status": "not_found"}}),
    ],
    ids=["404-envelope", "200-status-not_found"],
)
def test_both_shapes_of_not_found_through_both_hooks(heygen_conn: FakeHeyGen, reply: Reply) -> None:
    heygen_conn.replies.extend([reply, reply])
    assert HeyGenHook().get_execution("node-gw-gone").status is ExecutionStatus.NOT_FOUND

    async def read() -> Execution:
        hook = HeyGenAsyncHook()
        async with hook.session() as http:
            return await hook.get_execution(http, "node-gw-gone")

    assert asyncio.run(read()).status is ExecutionStatus.NOT_FOUND
    assert heygen_conn.count("GET") == 2, "one read each, no retry"


def test_the_generic_output_url_is_found() -> None:
    data = {"status": "completed", "output": {"url": "https://files.heygen.ai/output.mp4"}}
    assert (
        job_from_single("workflow", data, "e").typed("FaceswapNode").video_url
        == "https://files.heygen.ai/output.mp4"
    )
    assert job_from_single("workflow", data, "e").video_url == "https://files.heygen.ai/output.mp4"
    shaped = {"status": "completed", "output": {"video_url": "https://v/1.mp4", "url": "https://v/2.mp4"}}
    assert job_from_single("workflow", shaped, "e").typed("FaceswapNode").video_url == "https://v/1.mp4"
    avatar = job_from_single(
        "workflow", {**shaped, "output": {**shaped["output"], "video": {"video_url": "v3"}}}, "e"
    )
    assert avatar.typed("AvatarInferenceNode").video_url == "v3", "the known type's place first"


def test_a_create_answering_waiting_reads_as_pending() -> None:
    job = job_from_single("video", {"id": "v1", "status": "waiting"}, "v1")
    assert job.status is JobStatus.PENDING
    assert not job.status.is_terminal
    assert job.raw_status == "waiting"


CREATED = json.dumps({"data": {"video_id": "vid-1"}}).encode()
READ = json.dumps({"data": {"id": "vid-1", "status": "processing"}}).encode()


class SlowAnswers(ScriptedServer):
    """Answers after a delay (in headers' time, so the client sees no byte before it)."""

    delays: list[float]

    @staticmethod
    def send(handler: object, answer: Answer) -> None:
        server = handler.server.owner  # type: ignore[attr-defined]
        if server.delays:
            time.sleep(server.delays.pop(0))
        ScriptedServer.send(handler, answer)  # type: ignore[arg-type]


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> ScriptedServer:
    server = SlowAnswers()
    server.delays = []
    server._http.owner = server  # type: ignore[attr-defined]
    monkeypatch.setenv(
        "AIRFLOW_CONN_HEYGEN_DEFAULT",
        heygen_connection_uri(server.url, request_timeout=0.5, create_timeout=5),
    )
    yield server
    server.stop()


def test_a_slow_create_gets_create_timeout_and_succeeds_in_one_attempt(slow: SlowAnswers) -> None:
    slow.reset([Answer(200, CREATED)], Answer(500, b"{}"))
    slow.delays = [1.5]
    assert HeyGenHook().create_job("video", {"script": "hi"}, "key-1") == ["vid-1"]
    assert [r.method for r in slow.received] == ["POST"], "one attempt"


def test_a_read_slower_than_request_timeout_is_retried(slow: SlowAnswers) -> None:
    slow.reset([Answer(200, READ), Answer(200, READ)], Answer(500, b"{}"))
    slow.delays = [1.5, 0.0]
    assert HeyGenHook().get_job("video", "vid-1").status is JobStatus.RUNNING
    assert [r.method for r in slow.received] == ["GET", "GET"], "timed out once, then read"


def test_deprecation_and_sunset_are_warned_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(common, "_DEPRECATIONS_SEEN", set())
    headers = (
        ("Deprecation", "@1788220800"),
        ("Sunset", "Sun, 01 Nov 2026 00:00:00 GMT"),
        ("Content-Type", "application/json"),
    )
    with scripted_server() as server:
        monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri(server.url))
        body = json.dumps({"data": {"status": "processing"}}).encode()
        server.reset([], Answer(200, body, headers))
        HeyGenHook().get_execution("node-gw-1")
        HeyGenHook().get_execution("node-gw-2")

        async def read() -> None:
            hook = HeyGenAsyncHook()
            async with hook.session() as http:
                await hook.get_execution(http, "node-gw-3")

        asyncio.run(read())
        assert len(server.received) == 3
    logged = capsys.readouterr()
    warnings = [line for line in (logged.out + logged.err).splitlines() if "as deprecated" in line]
    assert len(warnings) == 1, "once per process for the same pair, whichever hook read it"
    assert "warning" in warnings[0].lower()
    assert (
        "HeyGen marks GET v1/workflows/executions/node-gw-1 as deprecated: Deprecation: @1788220800, "
        f"Sunset: Sun, 01 Nov 2026 00:00:00 GMT (at {server.url}). HeyGen retires endpoints it marks "
        "so; move to its successor before the sunset date"
    ) in warnings[0]
    assert TEST_KEY not in warnings[0]
