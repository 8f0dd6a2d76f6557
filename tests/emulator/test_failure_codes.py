"""
Failed jobs carry HeyGen's machine-readable failure codes (stub rendering): inputs that cannot be
downloaded, ``fail_next`` over every kind of job, ``fail_rate`` with ``fail_code``, and the seeded
draws that ``fail_next`` leaves as they were.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle
from tests.emulator.conftest import avatar_body, faceswap_body, submit_ok, wait_final
from tests.emulator.v3_contract import (
    V3Client,
    avatar_video,
    lipsync_body,
    translation_body,
    url_media,
    wait_v3,
)

UNREACHABLE = "http://127.0.0.1:9/face.jpg"  # the discard port: nothing listens on loopback


@pytest.fixture
def client(v3_stub: EmulatorHandle) -> Iterator[V3Client]:
    """The module's stub emulator, without faults before and after each test."""
    quiet = {"fail_rate": 0.0, "fail_code": "internal_error", "fail_next": [], "latency": 0}
    v3_stub.set_faults(**quiet)
    yield V3Client(v3_stub)
    v3_stub.set_faults(**quiet)


def _v1(handle: EmulatorHandle, body: dict[str, Any]) -> dict[str, Any]:
    return wait_final(handle, submit_ok(handle, body))


def _video(client: V3Client, **extra: Any) -> dict[str, Any]:
    video_id = client.ok("POST", "/v3/videos", avatar_video(client.handle, **extra))["video_id"]
    return wait_v3(client, "videos", video_id)


# --- inputs that cannot be downloaded fail with download_failed, in stub mode too


def test_a_404_source_url_fails_a_face_swap_with_download_failed(client: V3Client) -> None:
    handle = client.handle
    missing = handle.url("/samples/missing.jpg?X-Amz-Signature=secret")
    data = _v1(handle, faceswap_body(handle, source=missing))
    assert data["status"] == "failed"
    assert data["error"]["code"] == "download_failed"
    message = data["error"]["message"]
    assert message.startswith("input.source_image_url could not be fetched: HTTP 404 from ")
    assert handle.url("/samples/missing.jpg") in message
    assert "secret" not in message  # the query string (a signature, maybe) is never shown


def test_an_unreachable_url_fails_with_download_failed(client: V3Client) -> None:
    data = _v1(client.handle, avatar_body(client.handle, audio=UNREACHABLE))
    assert data["error"]["code"] == "download_failed"
    assert data["error"]["message"].startswith("input.audio_list[0].audio_url is unreachable: ")
    assert UNREACHABLE in data["error"]["message"]


def test_v3_inputs_that_cannot_be_downloaded(client: V3Client) -> None:
    handle = client.handle
    video = _video(client, audio_url=handle.url("/samples/missing.wav"))
    assert (video["status"], video["failure_code"]) == ("failed", "download_failed")
    assert video["failure_message"].startswith("audio_url could not be fetched: HTTP 404")
    body = lipsync_body(handle, video=url_media(UNREACHABLE))
    lipsync_id = client.ok("POST", "/v3/lipsyncs", body)["lipsync_id"]
    lipsync = wait_v3(client, "lipsyncs", lipsync_id)
    assert lipsync["failure_code"] == "download_failed"
    assert lipsync["failure_message"].startswith("video is unreachable: ")
    entry = client.ok("GET", f"/v3/lipsyncs/statuses?lipsync_ids={lipsync_id}")[0]
    assert entry["error"] == {"code": "download_failed", "message": lipsync["failure_message"]}


def test_reachable_inputs_still_complete(client: V3Client) -> None:
    handle = client.handle
    assert _v1(handle, faceswap_body(handle))["status"] == "completed"
    assert _video(client)["status"] == "completed"


def test_reserved_example_names_are_placeholders_and_invalid_ones_fail(client: V3Client) -> None:
    # RFC 2606/6761 names never resolve: stub mode takes them as media a test does not provide.
    handle = client.handle
    body = faceswap_body(
        handle, source="https://media.example.test/face.jpg", target="https://example.com/target.mp4"
    )
    assert _v1(handle, body)["status"] == "completed"
    data = _v1(handle, faceswap_body(handle, source="https://media.invalid/face.jpg"))
    assert data["error"]["code"] == "download_failed"
    assert data["error"]["message"].startswith("input.source_image_url is unreachable: ")


# --- fail_next: each next accepted job takes the first entry


def test_fail_next_is_shown_and_popped_in_acceptance_order(client: V3Client) -> None:
    handle = client.handle
    answer = handle.set_faults(fail_next=["no_face_detected", None, "internal_error"])
    assert answer["fail_next"] == ["no_face_detected", None, "internal_error"]
    first = submit_ok(handle, faceswap_body(handle))
    assert handle.faults()["fail_next"] == [None, "internal_error"]
    second = submit_ok(handle, faceswap_body(handle))
    third = submit_ok(handle, avatar_body(handle))
    assert handle.faults()["fail_next"] == []
    fourth = submit_ok(handle, faceswap_body(handle))  # beyond the list: normal behaviour
    assert wait_final(handle, first)["error"] == {
        "code": "no_face_detected",
        "message": "No face detected in the source image",
    }
    assert wait_final(handle, second)["status"] == "completed"
    assert wait_final(handle, third)["error"] == {
        "code": "internal_error",
        "message": "Avatar video failed: the render node crashed (injected fault)",
    }
    assert wait_final(handle, fourth)["status"] == "completed"


@pytest.mark.parametrize(
    "bad", ["internal_error", [1], ["Internal"], ["no-face"], [""], [["x"]], {"a": 1}, [True]]
)
def test_fail_next_is_validated(client: V3Client, bad: Any) -> None:
    handle = client.handle
    handle.set_faults(fail_next=["invalid_media"])
    status, payload = handle.request("POST", "/_admin/faults", {"fail_next": bad})
    assert status == 400, bad
    assert payload["error"]["code"] == "invalid_parameter"
    assert "fail_next" in payload["error"]["message"]
    assert handle.faults()["fail_next"] == ["invalid_media"]  # nothing changed


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("download_failed", "Video failed: an input file could not be downloaded (injected fault)"),
        ("invalid_media", "Video failed: an input file is not a decodable image, video or audio"),
        ("no_face_detected", "No face detected in the source image"),
        ("multiple_faces_detected", "Multiple faces detected in the source image"),
        ("internal_error", "Video failed: the render node crashed (injected fault)"),
        ("quota_exceeded", "Video failed: quota_exceeded (injected fault)"),
    ],
)
def test_fail_next_code_reaches_video_reads(client: V3Client, code: str, message: str) -> None:
    handle = client.handle
    handle.set_faults(fail_next=[code])
    video = _video(client)
    assert (video["status"], video["failure_code"]) == ("failed", code)
    assert video["failure_message"].startswith(message)
    entry = client.ok("GET", f"/v3/videos/statuses?video_ids={video['id']}")[0]
    assert entry["error"] == {"code": code, "message": video["failure_message"]}


def test_fail_next_over_a_lipsync(client: V3Client) -> None:
    handle = client.handle
    handle.set_faults(fail_next=["multiple_faces_detected"])
    lipsync_id = client.ok("POST", "/v3/lipsyncs", lipsync_body(handle))["lipsync_id"]
    lipsync = wait_v3(client, "lipsyncs", lipsync_id)
    assert (lipsync["status"], lipsync["failure_code"]) == ("failed", "multiple_faces_detected")
    assert lipsync["failure_message"].startswith("Multiple faces detected")


def test_fail_next_over_a_two_language_translation(client: V3Client) -> None:
    handle = client.handle
    handle.set_faults(fail_next=[None, "internal_error"])
    ids = client.ok("POST", "/v3/video-translations", translation_body(handle, ["es", "fr"]))[
        "video_translation_ids"
    ]
    spanish, french = (wait_v3(client, "video-translations", job_id) for job_id in ids)
    outcome = [(job["output_language"], job["status"], job["failure_code"]) for job in (spanish, french)]
    assert outcome == [("es", "completed", None), ("fr", "failed", "internal_error")]
    assert french["failure_message"] == "Video translation failed: the render node crashed (injected fault)"
    entries = client.ok("GET", f"/v3/video-translations/statuses?video_translation_ids={','.join(ids)}")
    assert [entry["error"] for entry in entries] == [
        None,
        {"code": "internal_error", "message": french["failure_message"]},
    ]


def test_stats_count_failed_jobs_of_every_kind(client: V3Client) -> None:
    handle = client.handle
    before = handle.stats()
    handle.set_faults(fail_next=["internal_error"] * 3)
    failed_video = _video(client)
    lipsync_id = client.ok("POST", "/v3/lipsyncs", lipsync_body(handle))["lipsync_id"]
    execution = _v1(handle, faceswap_body(handle))
    wait_v3(client, "lipsyncs", lipsync_id)
    assert failed_video["status"] == execution["status"] == "failed"
    after = handle.stats()
    for kind in ("video", "lipsync", "workflow_execution"):
        assert after["jobs_created"][kind] - before["jobs_created"][kind] == 1, kind
    assert after["faults"]["failed_job"] - before["faults"]["failed_job"] == 3
    for kind in ("video", "lipsync"):  # state: jobs by kind and status
        assert after["jobs"][kind]["failed"] - before["jobs"][kind].get("failed", 0) == 1, kind
    assert after["executions"]["failed"] - before["executions"].get("failed", 0) == 1


# --- fail_rate fails with fail_code, and fail_next leaves the seeded draws as they were


def test_fail_rate_failures_carry_fail_code(client: V3Client) -> None:
    handle = client.handle
    assert handle.faults()["fail_code"] == "internal_error"
    handle.set_faults(fail_rate=1.0, fail_code="invalid_media")
    data = _v1(handle, faceswap_body(handle))
    assert data["error"]["code"] == "invalid_media"
    assert data["error"]["message"].startswith("Face swap failed: an input file is not a decodable")
    for bad in ("Bad", "", 3, None):
        status, payload = handle.request("POST", "/_admin/faults", {"fail_code": bad})
        assert (status, payload["error"]["code"]) == (400, "invalid_parameter"), bad
    assert handle.faults()["fail_code"] == "invalid_media"


def _outcomes(handle: EmulatorHandle, count: int) -> list[str | None]:
    ids = [submit_ok(handle, faceswap_body(handle)) for _ in range(count)]
    # A completed execution's error is null, as HeyGen's WorkflowExecutionDetailResponse has it.
    return [(wait_final(handle, execution_id)["error"] or {}).get("code") for execution_id in ids]


def test_fail_next_does_not_change_the_seeded_draws(client: V3Client) -> None:
    handle = client.handle
    handle.set_faults(seed=3, fail_rate=0.5)
    drawn = _outcomes(handle, 8)
    assert None in drawn and "internal_error" in drawn  # both outcomes occur under this seed
    handle.set_faults(seed=3, fail_next=["no_face_detected", None])
    forced = _outcomes(handle, 8)
    assert forced == ["no_face_detected", *drawn[1:]]
