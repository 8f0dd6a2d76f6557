"""HeyGenExecutionTrigger's run loop against a fake HeyGen server on 127.0.0.1."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from airflow_heygen.exceptions import HeyGenExecutionError
from airflow_heygen.triggers.heygen import HeyGenExecutionTrigger, execution_from_event
from tests.conftest import TEST_KEY, heygen_connection_uri
from tests.support.fake_heygen import FakeHeyGen, Reply


async def run_to_end(trigger: HeyGenExecutionTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


def trigger_for(execution_id: str, **kwargs: Any) -> HeyGenExecutionTrigger:
    return HeyGenExecutionTrigger(execution_id=execution_id, poll_interval=0.01, **kwargs)


async def test_completed_execution_yields_one_success_event(heygen_conn: FakeHeyGen) -> None:
    execution_id = heygen_conn.add_execution("AvatarInferenceNode", polls=5)

    (event,) = await run_to_end(trigger_for(execution_id, deadline=time.time() + 10))

    assert event["status"] == "success"
    assert event["execution"]["video_url"] == heygen_conn.video_url(execution_id)
    assert heygen_conn.count("GET") == 6
    assert heygen_conn.connections == 1, "all polls of one trigger share one TCP connection"
    assert execution_from_event(event, 10).video_url == heygen_conn.video_url(execution_id)


@pytest.mark.parametrize(("status", "event_status"), [("failed", "failed")])
async def test_failed_execution_carries_heygens_message(
    heygen_conn: FakeHeyGen, status: str, event_status: str
) -> None:
    execution_id = heygen_conn.add_execution(status=status)
    (event,) = await run_to_end(trigger_for(execution_id))
    assert event["status"] == event_status
    with pytest.raises(HeyGenExecutionError, match=f"{execution_id} failed: No face detected"):
        execution_from_event(event, 600)


async def test_unknown_execution_yields_not_found(heygen_conn: FakeHeyGen) -> None:
    (event,) = await run_to_end(trigger_for("node-gw-gone"))
    assert event["status"] == "not_found"
    with pytest.raises(HeyGenExecutionError, match="Workflow not found"):
        execution_from_event(event, 600)


async def test_deadline_polls_once_more_then_times_out(heygen_conn: FakeHeyGen) -> None:
    execution_id = heygen_conn.add_execution(polls=10_000)
    trigger = HeyGenExecutionTrigger(execution_id, poll_interval=0.2, deadline=time.time() + 0.5)
    started = time.monotonic()

    (event,) = await run_to_end(trigger)

    assert event["status"] == "timeout"
    assert 0.5 <= time.monotonic() - started < 1.5
    assert heygen_conn.count("GET") == 4, "polls at 0, 0.2, 0.4 and at the deadline"
    with pytest.raises(HeyGenExecutionError, match=f"{execution_id}.*HeyGenExecutionSensor"):
        execution_from_event(event, 600)


async def test_transient_errors_do_not_end_the_wait(heygen_conn: FakeHeyGen) -> None:
    execution_id = heygen_conn.add_execution(polls=2)
    heygen_conn.replies.extend(
        [
            Reply(503, {"error": {"message": "busy"}}),
            Reply(429, b"", {"Retry-After": "1"}),
            Reply(500, b"oops"),
        ]
    )
    started = time.monotonic()

    (event,) = await run_to_end(trigger_for(execution_id, deadline=time.time() + 30))

    assert event["status"] == "success"
    assert time.monotonic() - started >= 1.0, "Retry-After honoured on the async path too"


async def test_rejected_key_yields_an_error_event(fake: FakeHeyGen, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri(fake.base_url, api_key="bad-key-xyz")
    )
    (event,) = await run_to_end(trigger_for("node-gw-1"))
    assert event["status"] == "error"
    assert "rejected the API key" in event["message"]
    assert "node-gw-1" in event["message"]
    assert "bad-key-xyz" not in str(event)


async def test_unreachable_server_yields_an_error_event_after_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri("http://127.0.0.1:9"))
    (event,) = await run_to_end(trigger_for("node-gw-2"))
    assert event["status"] == "error"
    assert "node-gw-2" in event["message"]
    assert "4 attempt" in event["message"]


async def test_serialize_round_trip_holds_no_key_even_after_running(heygen_conn: FakeHeyGen) -> None:
    trigger = HeyGenExecutionTrigger(
        heygen_conn.add_execution(),
        "heygen_default",
        poll_interval=5,
        deadline=time.time() + 100,
        workflow_type="FaceswapNode",
    )
    await run_to_end(trigger)  # the key was resolved inside run(): nothing of it may stick to the trigger
    classpath, kwargs = trigger.serialize()

    assert classpath == "airflow_heygen.triggers.heygen.HeyGenExecutionTrigger"
    assert set(kwargs) == {"execution_id", "heygen_conn_id", "poll_interval", "deadline", "workflow_type"}
    assert time.time() + 99 < kwargs["deadline"] <= time.time() + 100
    assert TEST_KEY not in json.dumps(kwargs)
    assert TEST_KEY not in json.dumps(vars(trigger), default=repr)
    rebuilt = HeyGenExecutionTrigger(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs), (
        "a triggerer restart keeps the same wall-clock deadline"
    )
