"""The campaign trigger against the emulator: one event once enough watched jobs ended, no secret kept."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from airflow_heygen.emulator.testing import EmulatorHandle
from airflow_heygen.hooks.heygen import HeyGenHook
from airflow_heygen.triggers.campaign import HeyGenCampaignTrigger, batch_key


def first_event(trigger: HeyGenCampaignTrigger) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("no event")

    return asyncio.run(run())


def test_workflows_executions_are_watched_until_enough_ended(emulator: EmulatorHandle) -> None:
    hook = HeyGenHook()
    face, target = emulator.sample_url("face.jpg"), emulator.sample_url("target.mp4")
    ids = [
        hook.submit_workflow("FaceswapNode", {"source_image_url": face, "target_video_url": target})
        for _ in range(3)
    ]
    trigger = HeyGenCampaignTrigger(
        "workflow", ids, poll_interval=0.1, deadline=time.time() + 120, resume_after=3, hold=60
    )

    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_heygen.triggers.campaign.HeyGenCampaignTrigger"
    assert emulator.api_key not in repr(kwargs)
    assert HeyGenCampaignTrigger(**kwargs).serialize() == (classpath, kwargs)

    event = first_event(trigger)
    assert event["status"] == "progress"
    assert sorted(entry["key"] for entry in event["ended"]) == sorted(ids)
    assert all(entry["status"] == "completed" and entry["video_url"] for entry in event["ended"])


def test_v3_batch_items_are_watched_by_their_batch(emulator: EmulatorHandle) -> None:
    hook = HeyGenHook()
    body = {
        "type": "avatar",
        "avatar_id": "Angela-inblackskirt-20220820",
        "audio_url": emulator.sample_url("speech.wav"),
    }
    batch_id = hook.create_batch("video", [body] * 3, f"airflow:test:{time.time_ns()}")
    assert sorted(hook.batch_job_ids("video", batch_id)) == [0, 1, 2]
    watch = [batch_key(batch_id, index) for index in (0, 2)]  # item 1 ended in an earlier resume
    before = emulator.stats()["bulk_statuses"]["video"]["requests"]

    event = first_event(
        HeyGenCampaignTrigger("video", watch, poll_interval=0.1, deadline=time.time() + 120, resume_after=5)
    )

    assert sorted(entry["key"] for entry in event["ended"]) == watch, "only the watched items, all of them"
    reads = emulator.stats()["bulk_statuses"]["video"]["requests"] - before
    assert reads >= 1 and all(entry["job_id"] for entry in event["ended"])


def test_an_ended_job_waits_at_most_hold_for_others(emulator: EmulatorHandle) -> None:
    hook = HeyGenHook()
    face, target = emulator.sample_url("face.jpg"), emulator.sample_url("target.mp4")
    done = hook.submit_workflow("FaceswapNode", {"source_image_url": face, "target_video_url": target})
    # The second is held from here on: the trigger wakes the task for the first after its hold.
    with emulator.held_renders():
        held = hook.submit_workflow("FaceswapNode", {"source_image_url": face, "target_video_url": target})
        trigger = HeyGenCampaignTrigger(
            "workflow", [done, held], poll_interval=0.1, deadline=time.time() + 120, resume_after=2, hold=0.5
        )
        started = time.monotonic()
        event = first_event(trigger)
        emulator.release()
    assert [entry["key"] for entry in event["ended"]] == [done]
    assert time.monotonic() - started < 30


def test_enough_ended_wake_the_task_one_read_later_gathering_stragglers(emulator: EmulatorHandle) -> None:
    hook = HeyGenHook()
    face, target = emulator.sample_url("face.jpg"), emulator.sample_url("target.mp4")
    ended = [
        hook.submit_workflow("FaceswapNode", {"source_image_url": face, "target_video_url": target})
        for _ in range(2)
    ]
    for execution_id in ended:  # both ended before the trigger's first read
        hook.wait_for_execution(execution_id, poll_interval=0.05, timeout=60)
    with emulator.held_renders():
        held = hook.submit_workflow("FaceswapNode", {"source_image_url": face, "target_video_url": target})
        read = "GET /v1/workflows/executions/{execution_id}"
        before = sum(emulator.stats()["requests"].get(read, {}).values())
        trigger = HeyGenCampaignTrigger(
            "workflow", [*ended, held], poll_interval=0.1, deadline=time.time() + 120, resume_after=2, hold=60
        )
        started = time.monotonic()
        event = first_event(trigger)
        reads = sum(emulator.stats()["requests"].get(read, {}).values()) - before
        emulator.release()
    assert sorted(entry["key"] for entry in event["ended"]) == sorted(ended)
    # Three reads found the two ended; one more read of the held job, then the event: not the hold's 60 s.
    assert reads == 4 and time.monotonic() - started < 30
