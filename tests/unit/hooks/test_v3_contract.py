"""
The provider speaks HeyGen's v3 schemas: every request body it sent (as the emulator logged it) and
every answer it parsed (captured where the hooks read bodies, sync and async) validate against the
operation's schema in ``operations.json``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

import airflow_heygen.hooks.heygen as sync_module
import airflow_heygen.hooks.heygen_async as async_module
from airflow_heygen.emulator.testing import EmulatorHandle
from airflow_heygen.hooks.heygen import HeyGenHook
from airflow_heygen.hooks.heygen_async import HeyGenAsyncHook
from airflow_heygen.hooks.jobs_async import get_job_async
from airflow_heygen.operators.v3 import (
    HeyGenLipsyncOperator,
    HeyGenVideoOperator,
    HeyGenVideoTranslationOperator,
)
from tests.emulator.v3_contract import check_request, check_response, operations
from tests.support.v3_emulator import request_log

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, int, bytes]]]:
    """(method, path, status, body) of every answer the hooks read."""
    operations()  # skips when the schemas are absent
    seen: list[tuple[str, str, int, bytes]] = []
    read_sync, read_async = sync_module.read_body, async_module.read_body_async

    def capture_sync(response: Any, deadline: float) -> tuple[bytes, bool]:
        body, truncated = read_sync(response, deadline)
        seen.append(
            (response.request.method, urlsplit(response.request.url).path, response.status_code, body)
        )
        return body, truncated

    async def capture_async(response: Any) -> tuple[bytes, bool]:
        body, truncated = await read_async(response)
        seen.append((response.method, response.url.path, response.status, body))
        return body, truncated

    monkeypatch.setattr(sync_module, "read_body", capture_sync)
    monkeypatch.setattr(async_module, "read_body_async", capture_async)
    yield seen


def test_every_request_and_answer_matches_the_schemas(
    emulator: EmulatorHandle, answers: list[tuple[str, str, int, bytes]]
) -> None:
    logged_before = len(request_log(emulator))
    samples = emulator.url("/samples")
    hook = HeyGenHook(heygen_conn_id="heygen_default")
    bodies = {
        "video": HeyGenVideoOperator(
            task_id="v", avatar_id="Angela", script="Hello there", voice_id="v1", title="t"
        ).request_body(),
        "lipsync": HeyGenLipsyncOperator(
            task_id="l",
            video_url=f"{samples}/target.mp4",
            audio_url=f"{samples}/speech.wav",
            mode="precision",
        ).request_body(),
        "video_translation": HeyGenVideoTranslationOperator(
            task_id="t", video_url=f"{samples}/target.mp4", output_languages=["es", "de"]
        ).request_body(),
    }
    created: list[tuple[str, str]] = []
    for kind, body in bodies.items():
        for job_id in hook.create_job(kind, body, f"contract:{kind}:{emulator.port}"):
            created.append((kind, job_id))
            assert hook.wait_for_job(kind, job_id, poll_interval=0.05, timeout=60).video_url
    asset = hook.upload_asset("face.png", PNG, "image/png", f"contract:asset:{emulator.port}")
    hook.get_job("asset", asset["asset_id"])
    assert hook.get_job("video", "no-such-video").status.value == "not_found"
    assert "balance" in hook.account_summary()

    async def read_async() -> None:
        async_hook = HeyGenAsyncHook("heygen_default")
        async with async_hook.session() as http:
            for kind, job_id in created:
                assert (await get_job_async(async_hook, http, kind, job_id)).status.value == "completed"

    asyncio.run(read_async())
    for kind, job_id in created:
        hook.delete_job(kind, job_id)
    hook.close()

    v3_answers = [answer for answer in answers if answer[1].startswith("/v3/")]
    assert {method for method, *_ in v3_answers} == {"GET", "POST", "DELETE"}
    for method, path, status, body in v3_answers:
        check_response(method, path, status, json.loads(body))
    sent = [entry for entry in request_log(emulator)[logged_before:] if entry["path"].startswith("/v3/")]
    assert sum(entry["method"] == "POST" for entry in sent) == 4
    for entry in sent:
        if entry["method"] == "POST" and entry["path"] != "/v3/assets":
            check_request("POST", entry["path"], entry["body"])
