"""
The plan's concurrency (``plan_concurrency``, 10 by default as on HeyGen's pay-as-you-go plan): a
single create beyond it is refused with 429 and an integer ``Retry-After`` and creates nothing; a
batch is accepted whole and renders at most that many items at once; a replay is never refused.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_heygen.emulator.concurrency import PlanSlots, SlotStart
from airflow_heygen.emulator.config import load_config
from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from tests.emulator.conftest import faceswap_body, submit_ok, wait_final
from tests.emulator.v3_contract import V3Client, avatar_video, check_response, translation_body
from tests.emulator.workflows_contract import WorkflowsClient

RETRY_AFTER = 4
VIDEOS = "/v3/videos"


@pytest.fixture
def emulator(make_data_dir: Callable[[], Path]) -> Iterator[EmulatorHandle]:
    """A stub emulator with the default plan concurrency (no option given: 10)."""
    with run_emulator(make_data_dir(), render="stub", retry_after=RETRY_AFTER) as handle:
        yield handle


def post(handle: EmulatorHandle, path: str, body: Any, headers: dict[str, str] | None = None) -> tuple:
    """A v3 POST that also returns the answer's headers (names in lower case), the answer checked."""
    request = urllib.request.Request(
        handle.url(path),
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "X-Api-Key": handle.api_key, **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw, answer_headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, raw, answer_headers = exc.code, exc.read(), exc.headers
    answer = json.loads(raw)
    check_response("POST", path, status, answer)
    return status, {name.lower(): value for name, value in answer_headers.items()}, answer


def wait_until(what: str, done: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll ``done`` until it holds."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"no {what} after {timeout}s"
        time.sleep(0.05)


def test_the_11th_single_create_is_refused_and_accepted_once_one_finishes(emulator: EmulatorHandle) -> None:
    workflows = WorkflowsClient(emulator)
    with emulator.held_renders():
        held = [submit_ok(emulator, faceswap_body(emulator)) for _ in range(9)]
        emulator.set_faults(latency=1.5)  # the 10th finishes soon, the 9 others are held
        quick = submit_ok(emulator, faceswap_body(emulator))
        emulator.set_faults(latency=900)
        emulator.reset_stats()

        # The 11th: the workflows answer checked against HeyGen's OpenAPI 429 (schema, integer
        # Retry-After, example code), the v3 one against the v3 error envelope.
        refused = workflows.submit(faceswap_body(emulator))
        status, headers, answer = post(emulator, VIDEOS, avatar_video(emulator))
        stats = emulator.stats()
        assert refused.status == 429 and refused.headers["retry-after"] == str(RETRY_AFTER)
        assert refused.body["error"]["code"] == "rate_limit_exceeded"
        assert (status, headers["retry-after"]) == (429, str(RETRY_AFTER))
        assert answer["error"]["code"] == "rate_limit_exceeded"
        # Nothing was created: no submission, no job, no execution beyond the 10.
        assert stats["submissions"] == {} and stats["jobs_created"]["video"] == 0
        assert sum(stats["executions"].values()) == 10 and stats["jobs"]["video"] == {}
        assert stats["faults"]["concurrency_limited"] == 2
        assert (stats["in_flight"], stats["max_in_flight"], stats["plan_concurrency"]) == (10, 10, 10)

        assert wait_final(emulator, quick)["status"] == "completed"
        emulator.set_faults(latency=0)
        accepted = submit_ok(emulator, faceswap_body(emulator))
        assert wait_final(emulator, accepted)["status"] == "completed"
        emulator.set_faults(latency=900)
        status, _, created = post(emulator, VIDEOS, avatar_video(emulator))
        assert status == 200, "a free slot is taken by v3 too"
        assert workflows.submit(faceswap_body(emulator)).status == 429, "and the plan is full again"
    for execution_id in held:
        assert wait_final(emulator, execution_id)["status"] == "completed"
    # The v3 video renders for 900 s: deleting it frees the last slot (as DELETE does at HeyGen).
    delete = urllib.request.Request(
        emulator.url(f"{VIDEOS}/{created['data']['video_id']}"),
        method="DELETE",
        headers={"X-Api-Key": emulator.api_key},
    )
    with urllib.request.urlopen(delete, timeout=30) as response:
        assert response.status == 200
    wait_until("free plan", lambda: emulator.stats()["in_flight"] == 0)


def test_a_batch_of_100_renders_at_most_10_at_once_and_completes(emulator: EmulatorHandle) -> None:
    client = V3Client(emulator)
    # Renders long enough that none ends while the batch is answered, even on a loaded machine.
    emulator.set_faults(latency=2.0)
    batch = client.ok("POST", f"{VIDEOS}/batches", {"videos": [avatar_video(emulator)] * 100})
    assert batch["total_items"] == 100
    assert batch["counts_by_status"]["queued"] >= 90, "beyond the 10 free slots, items wait"
    waiting = emulator.stats()
    assert waiting["waiting_for_slot"] >= 80 and waiting["in_flight"] == 10
    # A single create meets a full plan while the batch's items wait; its refusal creates nothing.
    assert post(emulator, VIDEOS, avatar_video(emulator))[0] == 429
    queued = [item for item in batch["items"] if item["status"] == "queued"][-1]["video_id"]
    assert client.ok("GET", f"{VIDEOS}/{queued}")["status"] == "pending"

    def completed() -> bool:
        return bool(client.ok("GET", f"{VIDEOS}/batches/{batch['batch_id']}")["status"] == "completed")

    wait_until("completed batch", completed, timeout=60)
    stats = emulator.stats()
    assert stats["jobs"]["video"] == {"completed": 100}
    assert stats["max_in_flight"] == 10, "never more than the plan's 10 at once, and the plan was full"
    assert (stats["in_flight"], stats["waiting_for_slot"]) == (0, 0)
    assert emulator.reset_stats()["max_in_flight"] == 0


def test_an_idempotent_replay_is_never_refused(emulator: EmulatorHandle) -> None:
    key = {"Idempotency-Key": "plan-full-replay"}
    with emulator.held_renders():
        status, _, first = post(emulator, VIDEOS, avatar_video(emulator), key)
        assert status == 200
        for _ in range(9):
            submit_ok(emulator, faceswap_body(emulator))
        status, headers, replayed = post(emulator, VIDEOS, avatar_video(emulator), key)
        assert (status, headers.get("idempotent-replayed"), replayed) == (200, "true", first)
        assert post(emulator, VIDEOS, avatar_video(emulator), {"Idempotency-Key": "new"})[0] == 429
        stats = emulator.stats()
        assert stats["idempotent_replays"]["video"] == 1 and stats["jobs_created"]["video"] == 1
    # The refused create did not keep its key: once a slot is free, the same key creates.
    wait_until("free plan", lambda: emulator.stats()["in_flight"] == 0)
    status, headers, created = post(emulator, VIDEOS, avatar_video(emulator), {"Idempotency-Key": "new"})
    assert (status, headers.get("idempotent-replayed")) == (200, None)
    assert created["data"]["video_id"] != first["data"]["video_id"]


def test_a_translation_takes_a_slot_per_language_and_a_raised_limit_starts_waiting_items(
    emulator: EmulatorHandle,
) -> None:
    client = V3Client(emulator)
    with emulator.held_renders():
        emulator.set_faults(plan_concurrency=2)
        status, _, answer = post(
            emulator, "/v3/video-translations", translation_body(emulator, ["es", "fr", "de"])
        )
        assert (status, answer["error"]["code"]) == (429, "rate_limit_exceeded")
        batch = client.ok("POST", f"{VIDEOS}/batches", {"videos": [avatar_video(emulator)] * 5})
        assert emulator.stats()["waiting_for_slot"] == 3
        emulator.set_faults(plan_concurrency=4)
        stats = emulator.stats()
        assert (stats["in_flight"], stats["waiting_for_slot"], stats["plan_concurrency"]) == (4, 1, 4)
        for bad in (0, -1, 2.5, "many", True):
            status, payload = emulator.request("POST", "/_admin/faults", {"plan_concurrency": bad})
            assert (status, payload["error"]["code"]) == (400, "invalid_parameter"), bad
    wait_until(
        "completed batch",
        lambda: client.ok("GET", f"{VIDEOS}/batches/{batch['batch_id']}")["status"] == "completed",
    )
    assert emulator.stats()["max_in_flight"] == 4


def test_the_setting_from_flag_and_environment() -> None:
    assert load_config([], {}).faults.plan_concurrency == 10
    assert load_config(["--plan-concurrency", "3"], {}).faults.plan_concurrency == 3
    env = {"HEYGEN_EMULATOR_PLAN_CONCURRENCY": "20"}
    assert load_config([], env).faults.plan_concurrency == 20
    assert load_config(["--plan-concurrency", "5"], env).faults.plan_concurrency == 5, "flags win"
    for bad in (["--plan-concurrency", "0"], ["--plan-concurrency", "ten"]):
        with pytest.raises(SystemExit):
            load_config(bad, {})


def test_slots_start_waiting_jobs_in_order_and_forget_deleted_ones() -> None:
    limit = [2]
    started: list[tuple[str, SlotStart]] = []
    slots = PlanSlots(lambda: limit[0], lambda job_id, how: started.append((job_id, how)))
    assert slots.reserve(["a", "b"]) and not slots.reserve(["c"])
    for job_id in ("w1", "w2", "w3"):
        slots.admit(job_id)
    assert (slots.in_flight, slots.waiting, slots.free, started) == (2, 3, 0, [])
    slots.release("w2")  # deleted while it waited: it never starts
    slots.release("a")
    slots.release("a")  # twice: nothing more happens
    assert started == [("w1", SlotStart.AFTER_WAIT)]
    assert slots.release_waiting() == 1 and slots.release_waiting() == 0
    limit[0] = 5
    slots.fill()
    assert started[-1] == ("w3", SlotStart.RELEASED)
    assert (slots.in_flight, slots.waiting, slots.free, slots.max_in_flight) == (3, 0, 2, 3)
    for job_id in ("b", "w1", "w3"):
        slots.release(job_id)
    slots.reset_max()
    assert (slots.in_flight, slots.max_in_flight) == (0, 0)
