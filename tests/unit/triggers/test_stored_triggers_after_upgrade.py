"""
Trigger rows the current release writes (the literal classpaths and kwargs ``serialize()`` gave at
36e32a1) still load and complete after an upgrade: each goes through Airflow's storage (``Trigger``
encrypts the kwargs) and the triggerer's loading (``TriggerRunner``), runs against the emulator on
127.0.0.1, and its event resumes the task as the task runner does. Only stored forms and public names.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.jobs.triggerer_job_runner import TriggerRunner
from airflow.models.crypto import get_fernet
from airflow.models.trigger import Trigger
from airflow.sdk import BaseOperator
from airflow.sdk.serde import deserialize, serialize
from airflow.serialization.decoders import smart_decode_trigger_kwargs
from airflow.triggers.base import BaseTrigger
from cryptography.fernet import Fernet

from airflow_heygen.emulator.testing import EmulatorHandle
from airflow_heygen.exceptions import HeyGenFailedForGoodError
from airflow_heygen.operators.heygen import FaceswapOperator
from airflow_heygen.operators.v3 import HeyGenVideoOperator
from tests.emulator.v3_contract import avatar_video

EXECUTION_TRIGGER = "airflow_heygen.triggers.heygen.HeyGenExecutionTrigger"
JOB_TRIGGER = "airflow_heygen.triggers.jobs.HeyGenJobTrigger"


@pytest.fixture(autouse=True)
def fernet_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A real Fernet key: the rows are stored encrypted, as in a deployment."""
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
    get_fernet.cache_clear()
    yield
    get_fernet.cache_clear()


SPEND_FIELDS = ("estimated_cost_usd", "cost_usd", "rate")


def stored_and_loaded(classpath: str, kwargs: dict[str, Any]) -> BaseTrigger:
    """The row as Airflow stores it, inflated as ``TriggerRunner.create_triggers`` inflates it."""
    row = Trigger(classpath=classpath, kwargs=kwargs)
    assert not row.encrypted_kwargs.startswith("{"), "stored encrypted"
    decoded = {key: smart_decode_trigger_kwargs(value) for key, value in row.kwargs.items()}
    assert decoded == kwargs
    return TriggerRunner().get_trigger_by_classpath(row.classpath)(**decoded)


async def events_of(trigger: BaseTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


async def run_held(
    emulator: EmulatorHandle, trigger: BaseTrigger, polled: Callable[[], int]
) -> list[dict[str, Any]]:
    """Run the trigger on a held render until it polled three times, then release the render."""
    waiting = asyncio.ensure_future(events_of(trigger))
    start, deadline = await asyncio.to_thread(polled), time.monotonic() + 30
    while (reads := await asyncio.to_thread(polled) - start) < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert reads >= 3 and not waiting.done(), "still rendering: the trigger keeps polling"
    await asyncio.to_thread(emulator.release)
    return await asyncio.wait_for(waiting, 30)


class Store(dict[str, Any]):
    """The ``task_state_store`` of one task instance."""

    def set(self, key: str, value: Any) -> None:
        self[key] = value

    def delete(self, key: str) -> None:
        self.pop(key, None)


def resumed(operator: BaseOperator, next_method: str, event: dict[str, Any], **deferred: Any) -> Any:
    """Resume as Airflow does: the event joins the deferral's next_kwargs, stored via serde as JSON."""
    next_kwargs = deserialize(json.loads(json.dumps(serialize({**deferred, "event": event}))))
    assert isinstance(next_kwargs, dict)
    ti = SimpleNamespace(dag_id="d", run_id="r", task_id=operator.task_id, map_index=-1, try_number=1)
    ti.xcom_push = lambda key, value: None
    ti.xcom_pull = lambda **kwargs: None  # an earlier release pushed no estimate
    context: Any = {"ti": ti, "task_state_store": Store()}
    return operator.resume_execution(next_method, next_kwargs, context)


def creates(emulator: EmulatorHandle) -> tuple[int, int]:
    """Paid jobs the emulator made so far, and the POSTs to HeyGen's APIs (/v1, /v3) it answered."""
    stats = emulator.stats()
    posts = sum(
        sum(codes.values()) for route, codes in stats["requests"].items() if route.startswith("POST /v")
    )
    return sum(stats["jobs_created"].values()), posts


def polls(emulator: EmulatorHandle, route: str) -> int:
    return sum(emulator.stats()["requests"].get(route, {}).values())


def video_reads(emulator: EmulatorHandle) -> int:
    """Video status reads so far: in bulk (the trigger's default) or one by one."""
    return polls(emulator, "GET /v3/videos/statuses") + polls(emulator, "GET /v3/videos/{video_id}")


def submit_faceswap(emulator: EmulatorHandle) -> str:
    source, target = emulator.sample_url("face.jpg"), emulator.sample_url("target.mp4")
    body = {
        "workflow_type": "FaceswapNode",
        "input": {"source_image_url": source, "target_video_url": target},
    }
    status, answer = emulator.v3("POST", "/v1/workflows/executions", body)
    assert status == 200, answer
    return str(answer["data"]["execution_id"])


def execution_row(execution_id: str, workflow_type: str | None) -> dict[str, Any]:
    """An execution trigger's kwargs as today's release stores them (a short poll, a minute to go)."""
    return {
        "execution_id": execution_id,
        "heygen_conn_id": "heygen_default",
        "poll_interval": 0.05,
        "deadline": time.time() + 60,
        "workflow_type": workflow_type,
    }


def faceswap(emulator: EmulatorHandle) -> FaceswapOperator:
    return FaceswapOperator(
        task_id="swap",
        source_image_url=emulator.sample_url("face.jpg"),
        target_video_url=emulator.sample_url("target.mp4"),
        heygen_conn_id="heygen_default",
    )


@pytest.mark.parametrize("workflow_type", ["FaceswapNode", None])
async def test_a_stored_execution_row_completes_and_resumes_the_task(
    emulator: EmulatorHandle, workflow_type: str | None
) -> None:
    route = "GET /v1/workflows/executions/{execution_id}"
    before = creates(emulator)
    with emulator.held_renders():
        execution_id = submit_faceswap(emulator)
        submitted, polled = creates(emulator), polls(emulator, route)
        trigger = stored_and_loaded(EXECUTION_TRIGGER, execution_row(execution_id, workflow_type))
        (event,) = await run_held(emulator, trigger, lambda: polls(emulator, route))

    assert event["status"] == "success"
    assert polls(emulator, route) - polled >= 4, "completed after a few polls"
    _, answer = emulator.v3("GET", f"/v1/workflows/executions/{execution_id}")
    result = resumed(faceswap(emulator), "execute_complete", event)

    video_url = answer["data"]["output"]["video_url"]
    # The documented result, plus the spend fields every result carries now.
    assert set(result) == {"execution_id", "workflow_type", "status", "video_url", "output", *SPEND_FIELDS}
    assert result == {**result, "execution_id": execution_id, "workflow_type": "FaceswapNode"}
    assert (result["status"], result["video_url"]) == ("completed", video_url)
    assert submitted[0] - before[0] == 1
    assert creates(emulator) == submitted, "one paid job: nothing was created after the submission"


async def test_a_stored_execution_row_of_a_failed_execution_fails_the_task_for_good(
    emulator: EmulatorHandle,
) -> None:
    emulator.set_faults(fail_next=["no_face_detected"])
    execution_id = submit_faceswap(emulator)
    submitted = creates(emulator)
    trigger = stored_and_loaded(EXECUTION_TRIGGER, execution_row(execution_id, "FaceswapNode"))

    (event,) = await events_of(trigger)

    assert event["status"] == "failed"
    with pytest.raises(HeyGenFailedForGoodError, match=f"{execution_id}.*no_face_detected"):
        resumed(faceswap(emulator), "execute_complete", event)
    assert creates(emulator) == submitted, "no new job for a failure no retry changes"


@pytest.mark.parametrize(
    "extra",
    [{}, {"delete_on_kill": True}, {"delete_on_kill": True, "other_job_ids": ["other-job"]}],
    ids=["plain", "delete_on_kill", "other_job_ids"],
)
async def test_a_stored_video_row_completes_and_resumes_the_task(
    emulator: EmulatorHandle, extra: dict[str, Any]
) -> None:
    body = avatar_video(emulator)
    with emulator.held_renders():
        status, answer = emulator.v3("POST", "/v3/videos", body, {"Idempotency-Key": f"up-{time.time_ns()}"})
        assert status == 200, answer
        video_id = str(answer["data"]["video_id"])
        submitted = creates(emulator)
        row = {
            "kind": "video",
            "job_id": video_id,
            "heygen_conn_id": "heygen_default",
            "poll_interval": 0.05,
            "deadline": time.time() + 60,
            **extra,
        }
        trigger = stored_and_loaded(JOB_TRIGGER, row)
        (event,) = await run_held(emulator, trigger, lambda: video_reads(emulator))

    assert event["status"] == "success"
    _, read = emulator.v3("GET", f"/v3/videos/{video_id}")
    operator = HeyGenVideoOperator(task_id="video", body=body, heygen_conn_id="heygen_default")
    # What today's operator defers with: method "resume" and these kwargs.
    result = resumed(operator, "resume", event, job_ids=[video_id], done={}, deadline=row["deadline"])

    assert set(result) == {"kind", "id", "status", "video_url", "output", *SPEND_FIELDS}
    assert (result["kind"], result["id"], result["status"]) == ("video", video_id, "completed")
    assert result["video_url"] == read["data"]["video_url"]
    assert creates(emulator) == submitted, "the resume read the video; it created nothing"


def test_an_event_fired_before_the_upgrade_resumes_the_task_after_it(emulator: EmulatorHandle) -> None:
    """An event stored in next_kwargs by the earlier execution trigger (keys ``execution_id`` and
    ``execution``, the result in the workflows shape) resumes the upgraded operator without a read."""
    url = "https://files.example.test/swapped.mp4"
    old_result = {
        "execution_id": "node-gw-before",
        "workflow_type": "FaceswapNode",
        "status": "completed",
        "video_url": url,
        "output": {"video_url": url},
    }
    event = {"status": "success", "execution_id": "node-gw-before", "message": "execution completed"}
    before = creates(emulator)

    result = resumed(faceswap(emulator), "execute_complete", {**event, "execution": old_result})

    # Face swap has no published rate: its cost is unknown, not guessed.
    assert result == {**old_result, "estimated_cost_usd": None, "cost_usd": None, "rate": None}
    assert creates(emulator) == before, "resuming pays for nothing"
    failed = {**old_result, "status": "failed", "error": {"code": "no_face_detected", "message": "No face"}}
    with pytest.raises(HeyGenFailedForGoodError, match=r"node-gw-before.*no_face_detected"):
        resumed(faceswap(emulator), "execute_complete", {**event, "status": "failed", "execution": failed})
