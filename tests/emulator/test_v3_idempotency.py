"""``Idempotency-Key`` on v3 creates; lost replies and slow creates (also on the v1 submission)."""

from __future__ import annotations

import http.client
import threading
import time
import urllib.error
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from tests.emulator.conftest import EXECUTIONS, faceswap_body, wait_final
from tests.emulator.v3_contract import V3Client, avatar_video, lipsync_body, translation_body

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


@pytest.fixture
def client(v3_stub: EmulatorHandle) -> V3Client:
    v3_stub.set_faults(create_delay=0, lost_reply_rate=0, lost_replies=0)
    return V3Client(v3_stub)


def key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": name}


def test_same_key_replays_without_a_new_job(client: V3Client) -> None:
    handle = client.handle
    before = handle.stats()
    first = client.call("POST", "/v3/videos", avatar_video(handle), key("replay-1"))
    # A different body with the same key still gets the first answer: no second job, no charge.
    again = client.call("POST", "/v3/videos", avatar_video(handle, title="other"), key("replay-1"))
    assert first == again
    assert first[0] == 200
    after = handle.stats()
    assert after["jobs_created"]["video"] - before["jobs_created"]["video"] == 1
    assert after["idempotent_replays"]["video"] - before["idempotent_replays"]["video"] == 1
    third = client.call("POST", "/v3/videos", avatar_video(handle), key("replay-2"))
    assert third[1]["data"]["video_id"] != first[1]["data"]["video_id"]


def test_scope_is_per_endpoint(client: V3Client) -> None:
    handle = client.handle
    video = client.ok("POST", "/v3/videos", avatar_video(handle), key("shared:key.1"))
    lipsync = client.ok("POST", "/v3/lipsyncs", lipsync_body(handle), key("shared:key.1"))
    translation = client.ok(
        "POST", "/v3/video-translations", translation_body(handle, ["es"]), key("shared:key.1")
    )
    batch = client.ok("POST", "/v3/videos/batches", {"videos": [avatar_video(handle)]}, key("shared:key.1"))
    status, asset = client.upload(PNG, "a.png", key("shared:key.1"))
    assert status == 200
    ids = {
        video["video_id"],
        lipsync["lipsync_id"],
        translation["video_translation_ids"][0],
        batch["batch_id"],
    }
    assert len(ids | {asset["data"]["asset_id"]}) == 5
    assert client.upload(PNG + b"more", "b.png", key("shared:key.1")) == (status, asset)


def test_errors_release_the_key(client: V3Client) -> None:
    handle = client.handle
    status, error = client.error("POST", "/v3/videos", {"type": "avatar"}, key("fix-me"))
    assert (status, error["param"]) == (400, "avatar_id")
    created = client.ok("POST", "/v3/videos", avatar_video(handle), key("fix-me"))
    assert client.ok("POST", "/v3/videos", avatar_video(handle), key("fix-me")) == created


@pytest.mark.parametrize("bad", ["", "has space", "slash/key", "x" * 256, "é"])
def test_bad_keys_are_rejected(client: V3Client, bad: str) -> None:
    before = client.handle.stats()["jobs_created"]["video"]
    try:
        status, error = client.error("POST", "/v3/videos", avatar_video(client.handle), key(bad))
    except (UnicodeEncodeError, ValueError):
        pytest.skip("the HTTP client cannot send this header")
    assert (status, error["code"], error["param"]) == (400, "invalid_parameter", "Idempotency-Key")
    assert client.handle.stats()["jobs_created"]["video"] == before


def test_longest_allowed_key(client: V3Client) -> None:
    long_key = "aZ09_:.-" * 31 + "1234567"
    assert len(long_key) == 255
    created = client.ok("POST", "/v3/videos", avatar_video(client.handle), key(long_key))
    assert client.ok("POST", "/v3/videos", avatar_video(client.handle), key(long_key)) == created


def test_duplicate_in_flight_gets_409(client: V3Client) -> None:
    handle = client.handle
    handle.set_faults(create_delay=1.5)
    results: list[tuple[int, Any]] = []
    # Read the counter before the first request starts: it may reach the delay before we look.
    before = handle.stats()["faults"]["slow_create"]
    try:
        first = threading.Thread(
            target=lambda: results.append(
                client.call("POST", "/v3/lipsyncs", lipsync_body(handle), key("slow"))
            )
        )
        first.start()
        deadline = time.monotonic() + 10
        while handle.stats()["faults"]["slow_create"] == before:  # until the first one waits inside
            assert time.monotonic() < deadline
            time.sleep(0.02)
        status, error = client.error("POST", "/v3/lipsyncs", lipsync_body(handle), key("slow"))
        assert (status, error["code"], error["param"]) == (409, "request_in_progress", "Idempotency-Key")
        first.join(timeout=30)
    finally:
        handle.set_faults(create_delay=0)
    assert results[0][0] == 200
    assert client.call("POST", "/v3/lipsyncs", lipsync_body(handle), key("slow")) == results[0]
    stats = handle.stats()
    assert stats["request_in_progress"]["lipsync"] >= 1
    assert stats["idempotent_replays"]["lipsync"] >= 1


def test_lost_reply_then_retry_replays(client: V3Client) -> None:
    handle = client.handle
    before = handle.stats()
    handle.set_faults(lost_replies=1)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        handle.v3("POST", "/v3/videos", avatar_video(handle), key("lost-1"))
    middle = handle.stats()
    assert middle["jobs_created"]["video"] - before["jobs_created"]["video"] == 1, "the job exists"
    assert middle["faults"]["lost_reply"] - before["faults"]["lost_reply"] == 1
    assert middle["requests"]["POST /v3/videos"].get("lost", 0) >= 1
    assert handle.faults()["lost_replies"] == 0
    status, body = client.call("POST", "/v3/videos", avatar_video(handle), key("lost-1"))
    assert status == 200
    after = handle.stats()
    assert after["jobs_created"]["video"] == middle["jobs_created"]["video"], "exactly one job"
    assert client.ok("GET", f"/v3/videos/{body['data']['video_id']}")["id"] == body["data"]["video_id"]


def test_lost_reply_rate_on_v1_submissions(client: V3Client) -> None:
    handle = client.handle
    handle.set_faults(lost_reply_rate=1.0)
    try:
        before = handle.stats()
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
            handle.v3("POST", EXECUTIONS, faceswap_body(handle))
    finally:
        handle.set_faults(lost_reply_rate=0.0)
    after = handle.stats()
    assert after["jobs_created"]["workflow_execution"] - before["jobs_created"]["workflow_execution"] == 1
    assert sum(after["submissions"].values()) - sum(before["submissions"].values()) == 1


def test_slow_v1_submission(client: V3Client) -> None:
    handle = client.handle
    handle.set_faults(create_delay=0.5)
    try:
        started = time.monotonic()
        status, payload = handle.v3("POST", EXECUTIONS, faceswap_body(handle))
        assert time.monotonic() - started >= 0.5
    finally:
        handle.set_faults(create_delay=0)
    assert status == 200
    assert wait_final(handle, payload["data"]["execution_id"])["status"] == "completed"


def test_keys_survive_a_restart(make_data_dir: Callable[[], Path]) -> None:
    with run_emulator(make_data_dir(), render="stub") as emulator:
        client = V3Client(emulator)
        first = client.call(
            "POST", "/v3/video-translations", translation_body(emulator, ["es", "ja"]), key("persist")
        )
        status, asset = client.upload(PNG, "a.png", key("persist"))
        emulator.restart()
        assert (
            client.call("POST", "/v3/video-translations", translation_body(emulator, ["de"]), key("persist"))
            == first
        )
        assert client.upload(PNG, "a.png", key("persist")) == (status, asset)
        stats = emulator.stats()
        assert stats["jobs_created"]["video_translation"] == 0, "counters restart, answers do not"
        assert stats["idempotent_replays"]["video_translation"] == 1
        assert stats["idempotent_replays"]["asset"] == 1
        for job_id in first[1]["data"]["video_translation_ids"]:
            assert client.ok("GET", f"/v3/video-translations/{job_id}")["id"] == job_id
