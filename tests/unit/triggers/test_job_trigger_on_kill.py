"""
``HeyGenJobTrigger.on_kill``, as the triggerer calls it when a user kills a deferred task: it deletes the
task's job(s) only with ``delete_on_kill``. Against the stub-rendering emulator on 127.0.0.1, whose
state (a deleted job reads 404) and request counters are the judge.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle
from airflow_heygen.triggers.jobs import HeyGenJobTrigger
from tests.emulator.v3_contract import avatar_video, translation_body


@pytest.fixture
def slow_renders(emulator: EmulatorHandle) -> Iterator[None]:
    """Renders outlast the test (a killed task's job still runs); the shared latency restored after."""
    latency = emulator.faults()["latency"]
    emulator.set_faults(latency=60)
    yield
    emulator.set_faults(latency=latency)


def deletes(handle: EmulatorHandle, resource: str) -> int:
    """How many ``DELETE /v3/<resource>/{id}`` the emulator answered so far, whatever the status."""
    return sum(
        sum(codes.values())
        for endpoint, codes in handle.stats()["requests"].items()
        if endpoint.startswith(f"DELETE /v3/{resource}/")
    )


def create(handle: EmulatorHandle, resource: str, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = handle.v3(
        "POST", f"/v3/{resource}", body, {"Idempotency-Key": f"on-kill-{time.time_ns()}"}
    )
    assert status == 200, answer
    return dict(answer["data"])


def exists(handle: EmulatorHandle, resource: str, job_id: str) -> bool:
    status, _ = handle.v3("GET", f"/v3/{resource}/{job_id}")
    assert status in (200, 404), status
    return status == 200


def trigger(kind: str, job_id: str, **kwargs: Any) -> HeyGenJobTrigger:
    return HeyGenJobTrigger(
        kind, job_id, "heygen_default", poll_interval=0.1, deadline=time.time() + 60, **kwargs
    )


@pytest.mark.usefixtures("slow_renders")
async def test_on_kill_deletes_the_video_only_when_asked(emulator: EmulatorHandle) -> None:
    kept = create(emulator, "videos", avatar_video(emulator))["video_id"]
    doomed = create(emulator, "videos", avatar_video(emulator))["video_id"]
    before = deletes(emulator, "videos")

    await trigger("video", kept).on_kill()
    assert deletes(emulator, "videos") == before, "no DELETE without delete_on_kill"
    await trigger("video", doomed, delete_on_kill=True).on_kill()

    assert deletes(emulator, "videos") == before + 1
    assert exists(emulator, "videos", kept)
    assert not exists(emulator, "videos", doomed)


@pytest.mark.usefixtures("slow_renders")
async def test_on_kill_deletes_every_language_of_a_translation(emulator: EmulatorHandle) -> None:
    ids = create(emulator, "video-translations", translation_body(emulator, ["es", "fr", "de"]))
    ids = ids["video_translation_ids"]
    before = deletes(emulator, "video-translations")
    # As the operator defers: waiting for the second language, the task's every id along.
    waiting = trigger("video_translation", ids[1], delete_on_kill=True, other_job_ids=ids)

    await waiting.on_kill()

    assert deletes(emulator, "video-translations") == before + 3, "each language once"
    assert [exists(emulator, "video-translations", job_id) for job_id in ids] == [False] * 3


@pytest.mark.usefixtures("slow_renders")
async def test_a_kill_while_running_then_on_kill_deletes_as_in_the_triggerer(
    emulator: EmulatorHandle,
) -> None:
    """The triggerer cancels the running trigger, then awaits ``on_kill``; a second kill finds nothing."""
    video_id = create(emulator, "videos", avatar_video(emulator))["video_id"]
    waiting = trigger("video", video_id, delete_on_kill=True)
    running = asyncio.ensure_future(anext(aiter(waiting.run())))
    await asyncio.sleep(0.5)
    assert not running.done(), "still rendering: the trigger keeps waiting"
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)

    await waiting.on_kill()
    await waiting.on_kill()  # a repeated kill: the job is gone, which is no error

    assert not exists(emulator, "videos", video_id)


def test_kwargs_are_the_five_unless_deletion_is_asked_for() -> None:
    classpath, plain = trigger("video", "v1").serialize()
    assert set(plain) == {"kind", "job_id", "heygen_conn_id", "poll_interval", "deadline"}
    assert set(trigger("video", "v1", other_job_ids=["v1", "v2"]).serialize()[1]) == set(plain)

    _, deleting = trigger(
        "video_translation", "t1", delete_on_kill=True, other_job_ids=["t1", "t2"]
    ).serialize()
    assert deleting == {**deleting, "delete_on_kill": True, "other_job_ids": ["t2"]}
    assert set(deleting) - set(plain) == {"delete_on_kill", "other_job_ids"}
    assert set(trigger("video", "v1", delete_on_kill=True).serialize()[1]) - set(plain) == {"delete_on_kill"}
    # The triggerer rebuilds the trigger from its kwargs: the deletion survives the round trip.
    assert HeyGenJobTrigger(**deleting).serialize() == (classpath, deleting)
