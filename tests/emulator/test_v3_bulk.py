"""Bulk statuses of v3 jobs and assets: not_found entries, batch ids, the 100-id cap, stats."""

from __future__ import annotations

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle
from tests.emulator.v3_contract import V3Client, avatar_video, lipsync_body, translation_body, wait_v3

BULK = [
    ("videos", "video_ids", "video"),
    ("lipsyncs", "lipsync_ids", "lipsync"),
    ("video-translations", "video_translation_ids", "video_translation"),
]


@pytest.fixture
def client(v3_stub: EmulatorHandle) -> V3Client:
    return V3Client(v3_stub)


def _create(client: V3Client, resource: str) -> str:
    handle = client.handle
    if resource == "videos":
        return str(client.ok("POST", "/v3/videos", avatar_video(handle))["video_id"])
    if resource == "lipsyncs":
        return str(client.ok("POST", "/v3/lipsyncs", lipsync_body(handle))["lipsync_id"])
    return str(
        client.ok("POST", "/v3/video-translations", translation_body(handle, ["es"]))[
            "video_translation_ids"
        ][0]
    )


@pytest.mark.parametrize(("resource", "ids_param", "kind"), BULK)
def test_statuses_with_unknown_ids(client: V3Client, resource: str, ids_param: str, kind: str) -> None:
    known = _create(client, resource)
    wait_v3(client, resource, known)
    other = _create(client, "videos" if resource != "videos" else "lipsyncs")
    before = client.handle.stats()["bulk_statuses"][kind]
    entries = client.ok("GET", f"/v3/{resource}/statuses?{ids_param}={known},missing-1,{other},{known}")
    assert [(e["video_id"], e["status"]) for e in entries] == [
        (known, "completed"),
        ("missing-1", "not_found"),
        (other, "not_found"),  # an id of another resource is not one of these
    ]
    after = client.handle.stats()["bulk_statuses"][kind]
    assert after["requests"] == before["requests"] + 1
    assert after["ids_per_request"][-1] == 3


def test_bulk_status_vocabulary(client: V3Client) -> None:
    handle = client.handle
    handle.set_faults(latency=30)
    try:
        pending = _create(client, "lipsyncs")
        single = client.ok("GET", f"/v3/lipsyncs/{pending}")["status"]
        bulk = client.ok("GET", f"/v3/lipsyncs/statuses?lipsync_ids={pending}")[0]["status"]
        video = _create(client, "videos")
        video_single = client.ok("GET", f"/v3/videos/{video}")["status"]
    finally:
        handle.set_faults(latency=0)
    # Single reads say pending/running (lipsyncs) or pending/processing (videos); bulk says queued/processing.
    assert (single, bulk) in (("pending", "queued"), ("running", "processing"))
    assert video_single in ("pending", "processing")


def test_batch_ids_expand_to_their_items(client: V3Client) -> None:
    handle = client.handle
    batch = client.ok("POST", "/v3/videos/batches", {"videos": [avatar_video(handle)] * 3})
    entries = client.ok("GET", f"/v3/videos/statuses?batch_ids={batch['batch_id']},nobatch")
    assert [e["item_index"] for e in entries[:3]] == [0, 1, 2]
    assert all(e["batch_id"] == batch["batch_id"] for e in entries[:3])
    assert entries[3] == {
        "video_id": None,
        "status": "not_found",
        "error": None,
        "batch_id": "nobatch",
        "item_index": None,
    }


@pytest.mark.parametrize(("resource", "ids_param", "kind"), [*BULK, ("assets", "asset_ids", "asset")])
def test_more_than_100_ids_are_rejected(client: V3Client, resource: str, ids_param: str, kind: str) -> None:
    ids = ",".join(f"id{n}" for n in range(101))
    status, error = client.error("GET", f"/v3/{resource}/statuses?{ids_param}={ids}")
    assert (status, error["code"], error["param"]) == (400, "invalid_parameter", ids_param)
    status, error = client.error("GET", f"/v3/{resource}/statuses")
    assert (status, error["param"]) == (400, ids_param)
    exactly = ",".join(f"id{n}" for n in range(100))
    entries = client.ok("GET", f"/v3/{resource}/statuses?{ids_param}={exactly}")
    assert len(entries) == 100
    assert {entry["status"] for entry in entries} == {"not_found"}
    assert client.handle.stats()["bulk_statuses"][kind]["ids_per_request"][-1] == 100


def test_failed_jobs_carry_their_error(client: V3Client) -> None:
    client.handle.set_faults(fail_rate=1.0)
    try:
        video = _create(client, "videos")
    finally:
        client.handle.set_faults(fail_rate=0.0)
    wait_v3(client, "videos", video)
    entry = client.ok("GET", f"/v3/videos/statuses?video_ids={video}")[0]
    assert entry["status"] == "failed"
    assert entry["error"]["code"] == "internal_error"
    assert "injected" in entry["error"]["message"]
