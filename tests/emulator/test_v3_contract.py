"""API v3 contract: every route's answers (and the bodies sent) against HeyGen's own schemas."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from tests.emulator.v3_contract import (
    V3Client,
    avatar_video,
    check_response,
    lipsync_body,
    translation_body,
    url_media,
    wait_v3,
)


@pytest.fixture
def client(v3_stub: EmulatorHandle) -> V3Client:
    return V3Client(v3_stub)


def test_avatar_video_lifecycle(client: V3Client) -> None:
    handle = client.handle
    created = client.ok("POST", "/v3/videos", avatar_video(handle, title="hello"))
    assert created["status"] == "waiting"
    video = wait_v3(client, "videos", created["video_id"])
    assert video["status"] == "completed"
    assert video["title"] == "hello"
    assert video["video_url"] == handle.url(f"/media/{created['video_id']}.mp4")
    assert video["duration"] == pytest.approx(3.0, abs=0.1)
    assert "output_language" not in video
    assert handle.request("GET", f"/media/{created['video_id']}.mp4")[0] == 200
    deleted = client.ok("DELETE", f"/v3/videos/{created['video_id']}")
    assert deleted == {"id": created["video_id"], "deleted": True}
    status, error = client.error("GET", f"/v3/videos/{created['video_id']}")
    assert (status, error["code"], error["param"]) == (404, "video_not_found", "video_id")
    assert handle.request("GET", f"/media/{created['video_id']}.mp4")[0] == 404


@pytest.mark.parametrize(
    "body",
    [
        {"type": "avatar", "avatar_id": "a", "script": "Hello from the emulator", "voice_id": "v1"},
        {"type": "avatar", "avatar_id": "a", "script": "The avatar's own voice"},
        {
            "type": "image",
            "image": {"type": "url", "url": "SAMPLE:face.jpg"},
            "audio_url": "SAMPLE:speech.wav",
        },
        {
            "type": "image",
            "image": {"type": "url", "url": "SAMPLE:face.jpg"},
            "script": "hi",
            "voice_id": "v",
            "aspect_ratio": "16:9",
            "resolution": "720p",
            "voice_settings": {"speed": 1.2},
        },
    ],
)
def test_video_variants_complete(client: V3Client, body: dict[str, Any]) -> None:
    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, str) and value.startswith("SAMPLE:"):
            return client.handle.sample_url(value.removeprefix("SAMPLE:"))
        return value

    created = client.ok("POST", "/v3/videos", resolve(body))
    assert wait_v3(client, "videos", created["video_id"])["status"] == "completed"


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ({}, "type", "type is required"),
        ({"type": "cartoon"}, "type", "type must be one of"),
        ({"type": "studio", "scenes": []}, "type", "type 'studio' is not supported"),
        ({"type": "avatar", "script": "hi"}, "avatar_id", "avatar_id is required"),
        ({"type": "avatar", "avatar_id": ""}, "avatar_id", "avatar_id must not be empty"),
        ({"type": "avatar", "avatar_id": "a"}, "script", "one of script, audio_url or audio_asset_id"),
        (
            {"type": "avatar", "avatar_id": "a", "script": "x", "audio_url": "http://x/a.wav"},
            "audio_url",
            "script and audio_url are mutually exclusive",
        ),
        ({"type": "image", "script": "x", "voice_id": "v"}, "image", "image is required"),
        ({"type": "image", "image": {"type": "url"}, "script": "x"}, "image.url", "image.url is required"),
        (
            {"type": "image", "image": {"type": "file", "url": "x"}, "script": "x"},
            "image.type",
            "image.type must be one of url, asset_id, base64",
        ),
        (
            {"type": "image", "image": {"type": "url", "url": "http://x/f.jpg"}, "script": "x"},
            "voice_id",
            "voice_id is required",
        ),
        (
            {"type": "avatar", "avatar_id": "a", "script": "x", "aspect_ratio": "2:1"},
            "aspect_ratio",
            "aspect_ratio must be one of",
        ),
        (
            {"type": "avatar", "avatar_id": "a", "audio_url": "ftp://x/a"},
            "audio_url",
            "audio_url must be an http",
        ),
        (
            {"type": "image", "image": {"type": "asset_id", "asset_id": "nope"}, "script": "x"},
            "image.asset_id",
            "asset nope not found",
        ),
        ([1], "request body", "request body must be a JSON object"),
    ],
)
def test_video_validation_names_the_param(client: V3Client, body: Any, param: str, message: str) -> None:
    before = client.handle.stats()["jobs_created"]["video"]
    status, error = client.error("POST", "/v3/videos", body)
    assert status == (404 if "not found" in message else 400)
    assert error["code"] == ("asset_not_available" if status == 404 else "invalid_parameter")
    assert error["param"] == param
    assert error["message"].startswith(message), error
    assert client.handle.stats()["jobs_created"]["video"] == before


def test_lipsync_lifecycle_and_validation(client: V3Client) -> None:
    created = client.ok("POST", "/v3/lipsyncs", lipsync_body(client.handle, title="dub", mode="speed"))
    lipsync = wait_v3(client, "lipsyncs", created["lipsync_id"])
    assert lipsync["status"] == "completed"
    assert lipsync["title"] == "dub"
    assert lipsync["video_url"].endswith(f"/media/{created['lipsync_id']}.mp4")
    assert client.ok("DELETE", f"/v3/lipsyncs/{created['lipsync_id']}") == {"id": created["lipsync_id"]}
    status, error = client.error("GET", f"/v3/lipsyncs/{created['lipsync_id']}")
    assert (status, error["code"]) == (404, "lipsync_not_found")
    for body, param in (
        ({"audio": url_media("http://x/a.wav")}, "video"),
        ({"video": url_media("http://x/v.mp4")}, "audio"),
        ({**lipsync_body(client.handle), "mode": "fast"}, "mode"),
        ({**lipsync_body(client.handle), "start_time": 2, "end_time": 1}, "end_time"),
        ({**lipsync_body(client.handle), "enable_caption": "yes"}, "enable_caption"),
    ):
        status, error = client.error("POST", "/v3/lipsyncs", body)
        assert (status, error["code"], error["param"]) == (400, "invalid_parameter", param), body


def test_translation_one_job_per_language(client: V3Client) -> None:
    created = client.ok("POST", "/v3/video-translations", translation_body(client.handle, ["es", "fr-FR"]))
    ids = created["video_translation_ids"]
    assert len(ids) == len(set(ids)) == 2
    for job_id, language in zip(ids, ["es", "fr-FR"], strict=True):
        data = wait_v3(client, "video-translations", job_id)
        assert data["status"] == "completed"
        assert data["output_language"] == language
        status, srt = client.handle.request(
            "GET", data["srt_caption_url"].removeprefix(client.handle.base_url)
        )
        assert status == 200
        assert b"00:00:00,000 -->" in srt
    for body, param in (
        ({"video": url_media("http://x/v.mp4")}, "output_languages"),
        ({"video": url_media("http://x/v.mp4"), "output_languages": []}, "output_languages"),
        ({"video": url_media("http://x/v.mp4"), "output_languages": ["es", "es"]}, "output_languages"),
        ({"video": url_media("http://x/v.mp4"), "output_languages": [""]}, "output_languages[0]"),
        ({"output_languages": ["es"]}, "video"),
        ({**translation_body(client.handle, ["es"]), "fps_mode": "fast"}, "fps_mode"),
    ):
        status, error = client.error("POST", "/v3/video-translations", body)
        assert (status, error["code"], error["param"]) == (400, "invalid_parameter", param), body
    assert client.ok("DELETE", f"/v3/video-translations/{ids[0]}") == {"id": ids[0]}


def test_ids_do_not_cross_resources(client: V3Client) -> None:
    video_id = client.ok("POST", "/v3/videos", avatar_video(client.handle))["video_id"]
    status, error = client.error("GET", f"/v3/lipsyncs/{video_id}")
    assert (status, error["code"], error["param"]) == (404, "lipsync_not_found", "lipsync_id")
    status, error = client.error("DELETE", f"/v3/video-translations/{video_id}")
    assert (status, error["code"]) == (404, "video_translation_not_found")


def test_batches(client: V3Client) -> None:
    handle = client.handle
    body = {"videos": [avatar_video(handle), avatar_video(handle, title="second")], "title": "pair"}
    created = client.ok("POST", "/v3/videos/batches", body)
    assert created["total_items"] == 2
    video_ids = [item["video_id"] for item in created["items"]]
    for video_id in video_ids:
        wait_v3(client, "videos", video_id)
    batch = client.ok("GET", f"/v3/videos/batches/{created['batch_id']}")
    assert batch["status"] == "completed"
    assert batch["counts_by_status"] == {"queued": 0, "processing": 0, "completed": 2, "failed": 0}
    assert [item["item_index"] for item in batch["items"]] == [0, 1]
    first = client.ok("GET", f"/v3/videos/batches/{created['batch_id']}?limit=1")
    assert first["has_more"] is True
    second = client.ok("GET", f"/v3/videos/batches/{created['batch_id']}?limit=1&token={first['next_token']}")
    assert (second["has_more"], second["next_token"]) == (False, None)
    assert [first["items"][0]["video_id"], second["items"][0]["video_id"]] == video_ids

    lipsyncs = client.ok("POST", "/v3/lipsyncs/batches", {"lipsyncs": [lipsync_body(handle)]})
    assert client.ok("GET", f"/v3/lipsyncs/batches/{lipsyncs['batch_id']}")["total_items"] == 1
    translations = client.ok(
        "POST",
        "/v3/video-translations/batches",
        {"video_translations": [translation_body(handle, ["es", "de"]), translation_body(handle, ["it"])]},
    )
    assert [item["item_index"] for item in translations["items"]] == [0, 0, 1]

    status, error = client.error(
        "POST", "/v3/videos/batches", {"videos": [avatar_video(handle), {"type": "avatar"}]}
    )
    assert (status, error["param"]) == (400, "videos[1].avatar_id")
    status, error = client.error("POST", "/v3/videos/batches", {"videos": [avatar_video(handle)] * 101})
    assert (status, error["param"]) == (400, "videos")
    status, error = client.error("GET", f"/v3/lipsyncs/batches/{created['batch_id']}")
    assert (status, error["code"]) == (404, "batch_not_found")


def test_users_me(client: V3Client) -> None:
    me = client.ok("GET", "/v3/users/me")
    assert me["billing_type"] == "wallet"
    assert me["wallet"]["remaining_balance"] > 0


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": ""}, {"Authorization": "Bearer k"}])
def test_v3_needs_the_key(v3_stub: EmulatorHandle, headers: dict[str, str]) -> None:
    for method, path in (("GET", "/v3/users/me"), ("POST", "/v3/videos"), ("GET", "/v3/videos/statuses")):
        status, body = v3_stub.request(
            method, path, avatar_video(v3_stub) if method == "POST" else None, headers
        )
        assert status == 401
        check_response(method, path, status, body)
        assert body["error"]["code"] == "unauthorized"


def test_unknown_v3_paths_answer_the_envelope(client: V3Client) -> None:
    status, body = client.handle.v3("GET", "/v3/avatars")
    assert status == 404
    assert body["error"]["code"] == "not_found"
    status, body = client.handle.v3("PUT", "/v3/videos")
    assert status == 405
    assert body["error"]["code"] == "method_not_allowed"


def test_faults_use_the_v3_envelope(make_data_dir: Callable[[], Path]) -> None:
    with run_emulator(make_data_dir(), render="stub", seed=3, retry_after=4) as emulator:
        client = V3Client(emulator)
        emulator.set_faults(rate_limit_rate=1.0)
        status, error = client.error("GET", "/v3/videos?limit=1")
        assert (status, error["code"]) == (429, "rate_limit_exceeded")
        emulator.set_faults(rate_limit_rate=0.0, error_rate=1.0)
        status, error = client.error("POST", "/v3/videos", avatar_video(emulator))
        assert (status, error["code"]) == (503, "service_unavailable")
        emulator.set_faults(error_rate=0.0, insufficient_credit_rate=1.0)
        for path, body in (("/v3/videos", avatar_video(emulator)), ("/v3/lipsyncs", lipsync_body(emulator))):
            status, error = client.error("POST", path, body)
            assert (status, error["code"]) == (402, "insufficient_credit")
        status, payload = emulator.v3(
            "POST",
            "/v1/workflows/executions",
            {
                "workflow_type": "FaceswapNode",
                "input": {
                    "source_image_url": emulator.sample_url("face.jpg"),
                    "target_video_url": emulator.sample_url("target.mp4"),
                },
            },
        )
        assert (status, payload["error"]["code"]) == (402, "insufficient_credit")
        stats = emulator.stats()
        assert stats["faults"]["insufficient_credit"] == 3
        assert stats["faults"]["rate_limited"] == 1
        assert stats["faults"]["server_error"] == 1
        assert stats["jobs_created"] == {kind: 0 for kind in stats["jobs_created"]}
        emulator.set_faults(insufficient_credit_rate=0.0, fail_rate=1.0)
        video = wait_v3(client, "videos", client.ok("POST", "/v3/videos", avatar_video(emulator))["video_id"])
        assert video["status"] == "failed"
        assert video["failure_code"] == "internal_error"
        assert "injected" in video["failure_message"]
        assert video["video_url"] is None


def test_list_filters_and_pages(make_data_dir: Callable[[], Path]) -> None:
    with run_emulator(make_data_dir(), render="stub") as emulator:
        client = V3Client(emulator)
        made = [
            client.ok("POST", "/v3/videos", avatar_video(emulator, title=f"clip {n}"))["video_id"]
            for n in range(5)
        ]
        client.ok("POST", "/v3/lipsyncs", lipsync_body(emulator))
        seen: list[str] = []
        token = None
        while True:
            query = "/v3/videos?limit=2" + (f"&token={token}" if token else "")
            status, page = client.call("GET", query)
            assert status == 200
            seen += [video["id"] for video in page["data"]]
            assert len(page["data"]) <= 2
            if not page["has_more"]:
                assert page["next_token"] is None
                break
            token = page["next_token"]
        assert seen == made[::-1], "newest first, each once"
        titled = client.ok("GET", "/v3/videos?title=clip%203")
        assert [video["id"] for video in titled] == [made[3]]
        assert len(client.ok("GET", "/v3/lipsyncs")) == 1
        assert client.ok("GET", "/v3/video-translations") == []
        for query, param in (
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=x", "limit"),
            ("token=%%%", "token"),
        ):
            status, error = client.error("GET", f"/v3/videos?{query}")
            assert (status, error["param"]) == (400, param)
