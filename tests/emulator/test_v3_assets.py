"""v3 assets: upload, read, serve, delete, bulk statuses, type and size limits, use as media."""

from __future__ import annotations

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle
from tests.emulator.conftest import submit_ok, wait_final
from tests.emulator.v3_contract import V3Client, wait_v3

PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)


@pytest.fixture
def client(v3_stub: EmulatorHandle) -> V3Client:
    return V3Client(v3_stub)


def _sample(handle: EmulatorHandle, name: str) -> bytes:
    return (handle.data_dir / "samples" / name).read_bytes()


@pytest.mark.parametrize(
    ("filename", "content", "mime", "category"),
    [
        ("a.png", PNG, "image/png", "image"),
        ("face.jpg", None, "image/jpeg", "image"),
        ("clip.mp4", None, "video/mp4", "video"),
        ("a.webm", b"\x1a\x45\xdf\xa3" + bytes(40), "video/webm", "video"),
        ("a.mp3", b"ID3\x04" + bytes(40), "audio/mpeg", "audio"),
        ("speech.wav", None, "audio/wav", "audio"),
        ("a.pdf", b"%PDF-1.7\n" + bytes(40), "application/pdf", "document"),
        ("a.srt", b"1\n00:00:00,000 --> 00:00:01,000\nhi\n", "application/x-subrip", "subtitle"),
    ],
)
def test_upload_roundtrip(
    client: V3Client, filename: str, content: bytes | None, mime: str, category: str
) -> None:
    handle = client.handle
    samples = {"face.jpg": "face.jpg", "clip.mp4": "target.mp4", "speech.wav": "speech.wav"}
    data = content if content is not None else _sample(handle, samples[filename])
    status, answer = client.upload(data, filename)
    assert status == 200, answer
    created = answer["data"]
    assert created["mime_type"] == mime
    assert created["size_bytes"] == len(data)
    assert created["url"].startswith(handle.base_url + "/uploads/")
    status, served = handle.request("GET", created["url"].removeprefix(handle.base_url))
    assert status == 200
    assert served == data
    asset = client.ok("GET", f"/v3/assets/{created['asset_id']}")
    assert (asset["id"], asset["name"], asset["type"], asset["url"]) == (
        created["asset_id"],
        filename,
        category,
        created["url"],
    )
    entries = client.ok("GET", f"/v3/assets/statuses?asset_ids={created['asset_id']},nope")
    assert [e["status"] for e in entries] == ["completed", "not_found"]
    assert client.ok("DELETE", f"/v3/assets/{created['asset_id']}") == {"id": created["asset_id"]}
    status, error = client.error("GET", f"/v3/assets/{created['asset_id']}")
    assert (status, error["code"]) == (404, "asset_not_available")
    assert handle.request("GET", created["url"].removeprefix(handle.base_url))[0] == 404


@pytest.mark.parametrize(
    ("filename", "content"),
    [("a.txt", b"hello"), ("a.gif", b"GIF89a" + bytes(20)), ("a.srt", b"\0\1\2"), ("a.png", b"")],
)
def test_other_types_are_rejected(client: V3Client, filename: str, content: bytes) -> None:
    before = client.handle.stats()["jobs_created"]["asset"]
    status, answer = client.upload(content, filename)
    assert status == 400
    assert (answer["error"]["code"], answer["error"]["param"]) == ("invalid_parameter", "file")
    assert client.handle.stats()["jobs_created"]["asset"] == before
    assert not list((client.handle.data_dir / "uploads").glob(".*"))


def test_larger_than_32_mb_is_rejected(client: V3Client) -> None:
    status, answer = client.upload(PNG + bytes(32 * 1024 * 1024), "big.png")
    assert status == 400
    assert answer["error"]["param"] == "file"
    assert "32 MB" in answer["error"]["message"]
    status, answer = client.upload(PNG + bytes(32 * 1024 * 1024 - len(PNG)), "max.png")
    assert status == 200, "exactly 32 MiB is accepted"
    client.ok("DELETE", f"/v3/assets/{answer['data']['asset_id']}")


def test_json_instead_of_multipart(client: V3Client) -> None:
    status, body = client.handle.v3("POST", "/v3/assets", {"file": "x"})
    assert status == 400
    assert body["error"]["param"] == "file"


def test_assets_as_media_inputs(client: V3Client) -> None:
    handle = client.handle
    audio = client.upload(_sample(handle, "speech.wav"), "speech.wav")[1]["data"]
    video = client.upload(_sample(handle, "target.mp4"), "clip.mp4")[1]["data"]
    face = client.upload(_sample(handle, "face.jpg"), "face.jpg")[1]["data"]
    made = [
        (
            "videos",
            client.ok(
                "POST",
                "/v3/videos",
                {"type": "avatar", "avatar_id": "a", "audio_asset_id": audio["asset_id"]},
            )["video_id"],
        ),
        (
            "videos",
            client.ok(
                "POST",
                "/v3/videos",
                {
                    "type": "image",
                    "image": {"type": "asset_id", "asset_id": face["asset_id"]},
                    "audio_url": audio["url"],
                },
            )["video_id"],
        ),
        (
            "lipsyncs",
            client.ok(
                "POST",
                "/v3/lipsyncs",
                {
                    "video": {"type": "asset_id", "asset_id": video["asset_id"]},
                    "audio": {"type": "url", "url": audio["url"]},
                },
            )["lipsync_id"],
        ),
    ]
    for resource, job_id in made:
        assert wait_v3(client, resource, job_id)["status"] == "completed"
    status, error = client.error(
        "POST", "/v3/videos", {"type": "avatar", "avatar_id": "a", "audio_asset_id": "nope"}
    )
    assert (status, error["code"], error["param"]) == (404, "asset_not_available", "audio_asset_id")
    body = {
        "workflow_type": "FaceswapNode",
        "input": {"source_image_url": face["url"], "target_video_url": video["url"]},
    }
    assert wait_final(handle, submit_ok(handle, body))["status"] == "completed"
