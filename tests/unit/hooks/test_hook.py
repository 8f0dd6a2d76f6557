"""HeyGenHook against a fake HeyGen server on 127.0.0.1: success, every error class, retries, keys."""

from __future__ import annotations

import json
import time

import pytest

from airflow_heygen.exceptions import (
    HeyGenAuthError,
    HeyGenError,
    HeyGenExecutionError,
    HeyGenRequestError,
    HeyGenUnavailableError,
)
from airflow_heygen.hooks.heygen import HeyGenHook
from airflow_heygen.models import ExecutionStatus
from tests.conftest import TEST_KEY, heygen_connection_uri
from tests.support.fake_heygen import FakeHeyGen, Reply

FACESWAP_INPUT = {
    "source_image_url": "https://example.com/face.jpg",
    "target_video_url": "https://example.com/v.mp4",
}


def test_submit_sends_the_documented_request(heygen_conn: FakeHeyGen) -> None:
    execution_id = HeyGenHook().submit_workflow("FaceswapNode", FACESWAP_INPUT)

    assert execution_id in heygen_conn.executions
    (post,) = heygen_conn.requests
    assert post.method == "POST"
    assert post.path == "/v1/workflows/executions"
    assert post.headers["X-Api-Key"] == TEST_KEY
    assert json.loads(post.body) == {"workflow_type": "FaceswapNode", "input": FACESWAP_INPUT}


@pytest.mark.parametrize(
    ("workflow_type", "expected_shape"),
    [("FaceswapNode", "output.video_url"), ("AvatarInferenceNode", "output.video.video_url")],
)
def test_video_url_found_where_each_workflow_keeps_it(
    heygen_conn: FakeHeyGen, workflow_type: str, expected_shape: str
) -> None:
    execution_id = heygen_conn.add_execution(workflow_type)
    execution = HeyGenHook().get_execution(execution_id)

    assert execution.status is ExecutionStatus.COMPLETED
    assert execution.workflow_type == workflow_type
    assert execution.video_url == heygen_conn.video_url(execution_id)


def test_unknown_execution_reads_as_not_found(heygen_conn: FakeHeyGen) -> None:
    assert HeyGenHook().get_execution("node-gw-missing").status is ExecutionStatus.NOT_FOUND


def test_rejected_key_says_so_without_printing_it(fake: FakeHeyGen, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong_key = "wrong-key-0123456789"
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri(fake.base_url, api_key=wrong_key))

    with pytest.raises(HeyGenAuthError, match="rejected the API key") as caught:
        HeyGenHook().submit_workflow("FaceswapNode", FACESWAP_INPUT)

    assert wrong_key not in str(caught.value)
    assert fake.count("POST") == 1, "an auth failure is not retried"


def test_other_4xx_fails_at_once_with_heygens_message(heygen_conn: FakeHeyGen) -> None:
    heygen_conn.replies.append(
        Reply(400, {"data": None, "error": {"code": "invalid_parameter", "message": "avatar_id not found"}})
    )
    with pytest.raises(HeyGenRequestError, match="avatar_id not found"):
        HeyGenHook().submit_workflow("FaceswapNode", FACESWAP_INPUT)
    assert heygen_conn.count("POST") == 1


def test_429_waits_for_retry_after(heygen_conn: FakeHeyGen) -> None:
    heygen_conn.replies.append(Reply(429, {"error": {"message": "slow down"}}, {"Retry-After": "1"}))
    started = time.monotonic()

    execution_id = HeyGenHook().submit_workflow("FaceswapNode", FACESWAP_INPUT)

    assert time.monotonic() - started >= 1.0, "Retry-After: 1 was not honoured"
    assert heygen_conn.count("POST") == 2
    assert heygen_conn.submissions == 1
    assert execution_id in heygen_conn.executions


@pytest.mark.parametrize(
    "reply",
    [
        Reply(503, {"error": {"message": "busy"}}),
        Reply(502, b"<html><body>Bad gateway</body></html>", {"Content-Type": "text/html"}),
        Reply(200, b"<html>proxy login</html>", {"Content-Type": "text/html"}),
        Reply(200, b""),
        Reply(200, {"data": "not an object"}),
    ],
    ids=["503", "502-html", "200-html", "200-empty", "200-bad-shape"],
)
def test_transient_failures_are_retried(heygen_conn: FakeHeyGen, reply: Reply) -> None:
    execution_id = heygen_conn.add_execution()
    heygen_conn.replies.append(reply)

    assert HeyGenHook().get_execution(execution_id).status is ExecutionStatus.COMPLETED
    assert heygen_conn.count("GET") == 2


def test_retries_are_bounded(heygen_conn: FakeHeyGen) -> None:
    heygen_conn.replies.extend(Reply(503, {"error": {"message": "down for maintenance"}}) for _ in range(10))

    with pytest.raises(HeyGenUnavailableError, match="down for maintenance"):
        HeyGenHook().get_execution("node-gw-x")
    assert heygen_conn.count("GET") == 4, "retry_limit=3 means 4 attempts"


def test_unreachable_server_is_retried_then_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri("http://127.0.0.1:9"))
    with pytest.raises(HeyGenUnavailableError, match="4 attempt"):
        HeyGenHook().submit_workflow("FaceswapNode", FACESWAP_INPUT)


def test_submission_without_answer_is_not_retried(fake: FakeHeyGen, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri(fake.base_url, create_timeout=0.2)
    )
    fake.replies.append(Reply(200, {"data": {"execution_id": "late"}}, delay=0.6, method="POST"))

    with pytest.raises(HeyGenError, match="may have accepted"):
        HeyGenHook().submit_workflow("FaceswapNode", FACESWAP_INPUT)
    assert fake.count("POST") == 1, "a POST that may have landed must not be sent again"


def test_wait_logs_status_changes_not_polls(
    heygen_conn: FakeHeyGen, capsys: pytest.CaptureFixture[str]
) -> None:
    execution_id = heygen_conn.add_execution(polls=4)
    execution = HeyGenHook().wait_for_execution(execution_id, poll_interval=0.01, timeout=10)

    assert execution.status is ExecutionStatus.COMPLETED
    assert heygen_conn.count("GET") == 5
    logged = capsys.readouterr()
    lines = [line for line in (logged.out + logged.err).splitlines() if execution_id in line]
    status_lines = [line for line in lines if f"HeyGen workflow execution {execution_id} is " in line]
    assert len(status_lines) == 2, status_lines
    assert "running" in status_lines[0]
    assert "completed" in status_lines[1]
    done = f"HeyGen workflow execution {execution_id} completed: {heygen_conn.video_url(execution_id)}"
    assert [line for line in lines if done in line] == [lines[-1]], "the video URL is logged once, at the end"


def test_wait_raises_heygens_failure_with_the_execution_id(heygen_conn: FakeHeyGen) -> None:
    execution_id = heygen_conn.add_execution(status="failed")
    with pytest.raises(HeyGenExecutionError, match=f"{execution_id} failed: No face detected"):
        HeyGenHook().wait_for_execution(execution_id, poll_interval=0.01, timeout=10)


def test_wait_times_out_naming_the_id_and_the_sensor(heygen_conn: FakeHeyGen) -> None:
    execution_id = heygen_conn.add_execution(polls=1000)
    started = time.monotonic()
    with pytest.raises(HeyGenExecutionError, match=f"{execution_id}.*HeyGenExecutionSensor"):
        HeyGenHook().wait_for_execution(execution_id, poll_interval=0.1, timeout=0.5)
    assert time.monotonic() - started < 2
    assert heygen_conn.count("GET") >= 5, "the deadline itself gets a last poll"


def test_key_from_environment_when_no_connection(fake: FakeHeyGen, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEYGEN_API_KEY", "env-key-abcdef")
    settings = HeyGenHook("heygen_missing").settings
    assert settings.api_key == "env-key-abcdef"
    assert settings.base_url == "https://api.heygen.com"

    # A connection with a host but no password also takes the key from the environment.
    monkeypatch.setenv("HEYGEN_API_KEY", TEST_KEY)
    monkeypatch.setenv(
        "AIRFLOW_CONN_HEYGEN_DEFAULT", json.dumps({"conn_type": "heygen", "host": fake.base_url})
    )
    assert HeyGenHook().get_execution(fake.add_execution()).status is ExecutionStatus.COMPLETED
    assert fake.requests[-1].headers["X-Api-Key"] == TEST_KEY


def test_keys_are_registered_with_the_secrets_masker(
    heygen_conn: FakeHeyGen, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk._shared.secrets_masker.secrets_masker import redact

    HeyGenHook().get_execution(heygen_conn.add_execution())
    assert TEST_KEY not in str(redact(f"key is {TEST_KEY}"))

    monkeypatch.setenv("HEYGEN_API_KEY", "env-key-never-logged-42")
    _ = HeyGenHook("heygen_missing").settings
    assert "env-key-never-logged-42" not in str(redact("env-key-never-logged-42"))


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(HeyGenAuthError, match="HEYGEN_API_KEY"):
        _ = HeyGenHook("heygen_missing").settings


def test_bad_retry_setting_names_the_field(fake: FakeHeyGen, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri(fake.base_url, retry_limit="many")
    )
    with pytest.raises(ValueError, match="retry_limit"):
        _ = HeyGenHook().settings


def test_connection_test(heygen_conn: FakeHeyGen, fake: FakeHeyGen, monkeypatch: pytest.MonkeyPatch) -> None:
    ok, message = HeyGenHook().test_connection()
    assert ok, message

    monkeypatch.setenv(
        "AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri(fake.base_url, api_key="nope-nope")
    )
    ok, message = HeyGenHook().test_connection()
    assert not ok
    assert "rejected the API key" in message


def test_connection_extras_do_not_leak_into_headers(heygen_conn: FakeHeyGen) -> None:
    HeyGenHook().get_execution(heygen_conn.add_execution())
    sent = {name.lower() for name in heygen_conn.requests[-1].headers}
    assert not sent & {"retry_limit", "retry_min_delay", "retry_max_delay"}
