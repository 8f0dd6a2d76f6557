"""The HTTP contract: endpoints, envelopes, auth, media with Range, admin API (stub rendering)."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from tests.emulator.conftest import (
    EXECUTIONS,
    avatar_body,
    faceswap_body,
    status_of,
    submit,
    submit_ok,
    wait_final,
)

ID_PATTERN = re.compile(r"^node-gw-[0-9a-f]{12}$")


def raw_get(
    url: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_healthz(stub_emulator: EmulatorHandle) -> None:
    health = stub_emulator.healthz()
    assert health["status"] == "ok"
    assert health["render"] == "stub"


def test_submit_faceswap_then_complete(stub_emulator: EmulatorHandle) -> None:
    status, payload = submit(stub_emulator, faceswap_body(stub_emulator))
    assert status == 200
    assert set(payload) == {"data"}
    assert payload["data"]["status"] == "submitted"
    assert ID_PATTERN.match(payload["data"]["execution_id"])
    data = wait_final(stub_emulator, payload["data"]["execution_id"])
    assert data["status"] == "completed"
    assert data["workflow_type"] == "FaceswapNode"
    assert isinstance(data["created_at"], float)
    assert data["output"]["video_url"] == stub_emulator.url(f"/media/{data['execution_id']}.mp4")


def test_submit_avatar_output_is_nested(stub_emulator: EmulatorHandle) -> None:
    data = wait_final(stub_emulator, submit_ok(stub_emulator, avatar_body(stub_emulator)))
    assert data["status"] == "completed"
    video = data["output"]["video"]
    assert video["video_url"].startswith(stub_emulator.base_url + "/media/")
    assert video["duration"] == pytest.approx(3.0, abs=0.1)


def test_status_goes_through_running(make_data_dir: Callable[[], Path]) -> None:
    with run_emulator(make_data_dir(), render="stub", latency=1.0) as emulator:
        execution_id = submit_ok(emulator, faceswap_body(emulator))
        seen = set()
        data = {}
        for _ in range(200):
            data = status_of(emulator, execution_id)[1]["data"]
            seen.add(data["status"])
            if data["status"] == "completed":
                break
            time.sleep(0.02)
        assert "running" in seen
        assert data["status"] == "completed"
        assert data["updated_at"] - data["created_at"] >= 1.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"workflow_type": "FaceswapNode", "input": {"target_video_url": "http://x/v.mp4"}},
            "input.source_image_url is required",
        ),
        (
            {"workflow_type": "FaceswapNode", "input": {"source_image_url": "http://x/f.jpg"}},
            "input.target_video_url is required",
        ),
        (
            {
                "workflow_type": "FaceswapNode",
                "input": {"source_image_url": "", "target_video_url": "http://x/v"},
            },
            "input.source_image_url is required",
        ),
        ({"workflow_type": "FaceswapNode"}, "input is required"),
        (
            {
                "workflow_type": "AvatarInferenceNode",
                "input": {"audio_list": [{"audio_url": "http://x/a.wav"}]},
            },
            "input.avatar.avatar_id is required",
        ),
        (
            {
                "workflow_type": "AvatarInferenceNode",
                "input": {"avatar": {"avatar_id": "a"}, "audio_list": []},
            },
            "input.audio_list is required",
        ),
        (
            {
                "workflow_type": "AvatarInferenceNode",
                "input": {"avatar": {"avatar_id": "a"}, "audio_list": [{}]},
            },
            "input.audio_list[0].audio_url is required",
        ),
        ({"workflow_type": "TextToSpeechNode", "input": {}}, "workflow_type must be one of"),
        ({"input": {}}, "workflow_type is required"),
        ([1, 2], "request body must be a JSON object"),
        (
            {
                "workflow_type": "FaceswapNode",
                "input": {"source_image_url": "ftp://x/f.jpg", "target_video_url": "http://x/v"},
            },
            "input.source_image_url must be an http(s) URL",
        ),
        (
            {
                "workflow_type": "FaceswapNode",
                "input": {"source_image_url": "/etc/passwd", "target_video_url": "http://x/v"},
            },
            "input.source_image_url: local files are only accepted under the emulator data dir",
        ),
    ],
)
def test_invalid_submissions(stub_emulator: EmulatorHandle, body: Any, message: str) -> None:
    before = stub_emulator.stats()["submissions"]
    status, payload = submit(stub_emulator, body)
    assert status == 400
    assert payload["data"] is None
    assert payload["error"]["code"] == "invalid_parameter"
    assert payload["error"]["message"].startswith(message)
    assert stub_emulator.stats()["submissions"] == before


def test_non_json_body(stub_emulator: EmulatorHandle) -> None:
    request = urllib.request.Request(
        stub_emulator.url(EXECUTIONS),
        data=b"{not json",
        method="POST",
        headers={"X-Api-Key": "k", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 400
    assert json.loads(info.value.read())["error"]["code"] == "invalid_parameter"


def test_file_inputs_under_data_dir_are_accepted(stub_emulator: EmulatorHandle) -> None:
    samples = stub_emulator.data_dir / "samples"
    body = faceswap_body(
        stub_emulator, source=str(samples / "face.jpg"), target=f"file://{samples / 'target.mp4'}"
    )
    assert wait_final(stub_emulator, submit_ok(stub_emulator, body))["status"] == "completed"


def test_unknown_execution_is_not_found(stub_emulator: EmulatorHandle) -> None:
    status, payload = status_of(stub_emulator, "node-gw-000000000000")
    assert status == 404
    assert payload == {
        "data": {"execution_id": "node-gw-000000000000", "status": "not_found"},
        "error": {
            "code": "not_found",
            "message": "Workflow execution not found.",
            "param": None,
            "doc_url": None,
        },
    }


@pytest.mark.parametrize(
    "headers", [{}, {"X-Api-Key": ""}, {"X-Api-Key": "   "}, {"Authorization": "Bearer k"}]
)
def test_missing_key_is_unauthorized(stub_emulator: EmulatorHandle, headers: dict[str, str]) -> None:
    for method, path, body in (
        ("POST", EXECUTIONS, faceswap_body(stub_emulator)),
        ("GET", f"{EXECUTIONS}/node-gw-000000000000", None),
    ):
        status, payload = stub_emulator.request(method, path, body, headers=headers)
        assert status == 401
        assert payload == {
            "data": None,
            "error": {
                "code": "authentication_failed",
                "message": "Invalid or missing API key",
                "param": None,
                "doc_url": None,
            },
        }


def test_configured_key_only(make_data_dir: Callable[[], Path]) -> None:
    with run_emulator(make_data_dir(), render="stub", api_key="s3cret-key") as emulator:
        wrong = emulator.request("POST", EXECUTIONS, faceswap_body(emulator), headers={"X-Api-Key": "other"})
        assert wrong[0] == 401
        assert submit(emulator, faceswap_body(emulator))[0] == 200
        log_text = emulator.log_path.read_text()
    assert "s3cret-key" not in log_text


def test_public_paths_need_no_key(stub_emulator: EmulatorHandle) -> None:
    for path in ("/healthz", "/samples/face.jpg", "/_admin/stats", "/_admin/faults"):
        assert raw_get(stub_emulator.url(path))[0] == 200, path


def test_media_supports_range_requests(stub_emulator: EmulatorHandle) -> None:
    data = wait_final(stub_emulator, submit_ok(stub_emulator, faceswap_body(stub_emulator)))
    url = data["output"]["video_url"]
    status, headers, full = raw_get(url)
    assert status == 200
    assert headers["Content-Type"] == "video/mp4"
    assert headers["Accept-Ranges"] == "bytes"
    assert int(headers["Content-Length"]) == len(full) > 1000
    assert full[4:8] == b"ftyp"
    status, headers, part = raw_get(url, {"Range": "bytes=100-199"})
    assert status == 206
    assert headers["Content-Range"] == f"bytes 100-199/{len(full)}"
    assert part == full[100:200]
    status, headers, tail = raw_get(url, {"Range": "bytes=-50"})
    assert status == 206
    assert tail == full[-50:]
    status, headers, _ = raw_get(url, method="HEAD")
    assert status == 200
    assert int(headers["Content-Length"]) == len(full)


@pytest.mark.parametrize(
    "path",
    [
        "/media/node-gw-000000000000.mp4",
        "/media/..%2Fexecutions",
        "/samples/nothing.jpg",
        "/samples/..%2Fexecutions",
    ],
)
def test_missing_files_are_404(stub_emulator: EmulatorHandle, path: str) -> None:
    assert raw_get(stub_emulator.url(path))[0] == 404


@pytest.mark.parametrize(
    ("name", "content_type", "magic"),
    [
        ("face.jpg", "image/jpeg", b"\xff\xd8"),
        ("face2.jpg", "image/jpeg", b"\xff\xd8"),
        ("speech.wav", "audio/x-wav", b"RIFF"),
        ("target.mp4", "video/mp4", b"\x00\x00\x00"),
    ],
)
def test_samples_are_served(
    stub_emulator: EmulatorHandle, name: str, content_type: str, magic: bytes
) -> None:
    status, headers, body = raw_get(stub_emulator.sample_url(name))
    assert status == 200
    assert headers["Content-Type"] in (content_type, "audio/wav")
    assert body.startswith(magic)


def test_public_url_option(make_data_dir: Callable[[], Path], tmp_path: Path) -> None:
    log_file = tmp_path / "requests.jsonl"
    with run_emulator(
        make_data_dir(),
        render="stub",
        public_url="https://media.example.test/",
        request_log=log_file,
        api_key="another-secret",
    ) as emulator:
        data = wait_final(emulator, submit_ok(emulator, faceswap_body(emulator)))
        assert data["output"]["video_url"] == f"https://media.example.test/media/{data['execution_id']}.mp4"
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert lines[0]["method"] == "POST"
    assert lines[0]["path"] == EXECUTIONS
    assert lines[0]["body"]["workflow_type"] == "FaceswapNode"
    assert lines[0]["status"] == 200
    assert any(line["path"] == f"{EXECUTIONS}/{data['execution_id']}" for line in lines)
    assert "another-secret" not in log_file.read_text()


def test_admin_faults_roundtrip(stub_emulator: EmulatorHandle) -> None:
    original = stub_emulator.faults()
    assert set(original) == {
        "latency",
        "rate_limit_rate",
        "error_rate",
        "fail_rate",
        "fail_code",
        "fail_next",
        "retry_after",
        "insufficient_credit_rate",
        "lost_reply_rate",
        "create_delay",
        "retire_workflows",
        "plan_concurrency",
        "lost_replies",
        "seed",
        "billing",
        "balance_usd",
        "faceswap_rate_usd_per_s",
    }
    assert original["plan_concurrency"] == 10, "HeyGen's pay-as-you-go plan is the default"
    changed = stub_emulator.set_faults(latency="0-0.1", retry_after=3)
    assert changed["latency"] == "0-0.1"
    assert changed["retry_after"] == 3
    for bad in ({"error_rate": 2}, {"bogus": 1}, {"latency": "soon"}, {"seed": "x"}):
        status, payload = stub_emulator.request("POST", "/_admin/faults", bad)
        assert status == 400, bad
        assert payload["error"]["code"] == "invalid_parameter"
    assert stub_emulator.faults()["retry_after"] == 3
    stub_emulator.set_faults(latency=original["latency"], retry_after=original["retry_after"])


def test_admin_stats_count_and_reset(stub_emulator: EmulatorHandle) -> None:
    stub_emulator.reset_stats()
    submit_ok(stub_emulator, faceswap_body(stub_emulator))
    submit_ok(stub_emulator, avatar_body(stub_emulator))
    status_of(stub_emulator, "node-gw-000000000000")
    stub_emulator.request("GET", f"{EXECUTIONS}/node-gw-000000000000")
    stats = stub_emulator.stats()
    assert stats["submissions"] == {"FaceswapNode": 1, "AvatarInferenceNode": 1}
    assert stats["requests"]["POST /v1/workflows/executions"] == {"200": 2}
    assert stats["requests"]["GET /v1/workflows/executions/{execution_id}"] == {"404": 1, "401": 1}
    assert stats["faults"] == {
        "rate_limited": 0,
        "server_error": 0,
        "failed_job": 0,
        "insufficient_credit": 0,
        "lost_reply": 0,
        "slow_create": 0,
        "workflows_retired": 0,
        "concurrency_limited": 0,
    }
    assert stats["jobs_created"]["workflow_execution"] == 2
    assert sum(stats["executions"].values()) >= 2
    cleared = stub_emulator.reset_stats()
    assert cleared["submissions"] == {}
    assert cleared["requests"] == {}
    assert sum(cleared["executions"].values()) == sum(stats["executions"].values()), "state is not a counter"
