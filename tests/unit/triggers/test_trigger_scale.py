"""
What keeps many HeyGen triggers cheap in one triggerer: the event loop's shared aiohttp session,
single-attempt requests, shared connection lookups, and the learned first wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import airflow.providers.common.compat.connection as compat_connection
import pytest

from airflow_heygen.exceptions import HeyGenAuthError
from airflow_heygen.hooks import heygen_async as hooks
from airflow_heygen.hooks.heygen import HeyGenAsyncHook, shared_client_session
from airflow_heygen.triggers import first_wait as triggers
from airflow_heygen.triggers.heygen import CompletionTimes, HeyGenExecutionTrigger, completion_times
from tests.conftest import TEST_KEY, heygen_connection_uri
from tests.support.fake_heygen import FakeHeyGen, Reply


async def run_to_end(trigger: HeyGenExecutionTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


def trigger_for(execution_id: str, poll_interval: float = 0.01, **kwargs: Any) -> HeyGenExecutionTrigger:
    return HeyGenExecutionTrigger(execution_id=execution_id, poll_interval=poll_interval, **kwargs)


async def test_one_session_per_loop_closed_when_the_last_user_leaves() -> None:
    async with shared_client_session() as first, shared_client_session() as second:
        assert first is second
        assert not first.closed
    assert first.closed
    assert asyncio.get_running_loop() not in hooks._LOOP_SESSIONS
    async with shared_client_session() as third:
        assert third is not first, "a new user after the close gets a fresh session"


async def test_sequential_triggers_reuse_one_tcp_connection(heygen_conn: FakeHeyGen) -> None:
    async with shared_client_session():  # as other triggers would, keeps the pool open in between
        for _ in range(5):
            (event,) = await run_to_end(
                trigger_for(heygen_conn.add_execution(polls=2), deadline=time.time() + 10)
            )
            assert event["status"] == "success"

    assert heygen_conn.count("GET") == 15
    assert heygen_conn.connections == 1, "five triggers, fifteen polls, one keep-alive connection"


async def test_concurrent_triggers_share_the_pool_and_release_it(
    heygen_conn: FakeHeyGen, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 21 polls 20 ms apart: every trigger has started before the first one ends.
    ids = [heygen_conn.add_execution(polls=20) for _ in range(20)]
    clients: list[aiohttp.ClientSession] = []
    shared = hooks.shared_client_session

    @asynccontextmanager
    async def recording() -> AsyncIterator[aiohttp.ClientSession]:
        async with shared() as client:
            clients.append(client)
            yield client

    monkeypatch.setattr(hooks, "shared_client_session", recording)

    results = await asyncio.gather(
        *(run_to_end(trigger_for(i, 0.02, deadline=time.time() + 30)) for i in ids)
    )

    assert [event["status"] for (event,) in results] == ["success"] * 20
    assert len(clients) == 20
    assert all(client is clients[0] for client in clients), "one aiohttp session for all 20 triggers"
    assert clients[0].closed, "closed after the last trigger"
    assert asyncio.get_running_loop() not in hooks._LOOP_SESSIONS
    assert heygen_conn.count("GET") == 420
    assert heygen_conn.connections <= 20, "never a connection per poll"


async def test_a_cancelled_trigger_releases_the_session(heygen_conn: FakeHeyGen) -> None:
    task = asyncio.ensure_future(run_to_end(trigger_for(heygen_conn.add_execution(polls=10_000), 0.05)))
    await asyncio.sleep(0.3)
    client = hooks._LOOP_SESSIONS[asyncio.get_running_loop()].client

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert client.closed
    assert asyncio.get_running_loop() not in hooks._LOOP_SESSIONS


async def test_a_session_request_is_one_attempt_and_the_hook_retries_around_it(
    heygen_conn: FakeHeyGen,
) -> None:
    heygen_conn.replies.extend([Reply(503, {"error": {"message": "busy"}}), Reply(503, b"")])
    execution_id = heygen_conn.add_execution(polls=0)
    hook = HeyGenAsyncHook()
    async with hook.session() as http:
        answer = await http.request("GET", f"v1/workflows/executions/{execution_id}")
        assert answer.status == 503, "one request, its answer as it came"
        assert heygen_conn.count("GET") == 1
        execution = await hook.get_execution(http, execution_id)

    assert execution.status.value == "completed"
    assert heygen_conn.count("GET") == 3, "the second 503 retried once by the hook's policy, then success"


def test_completion_times_need_enough_samples_then_give_a_low_quantile() -> None:
    times = CompletionTimes()
    for seconds in range(1, triggers.MIN_COMPLETIONS):
        times.record("FaceswapNode", float(seconds))
    assert times.early("FaceswapNode") is None
    for seconds in range(triggers.MIN_COMPLETIONS, 101):
        times.record("FaceswapNode", float(seconds))

    assert times.early("FaceswapNode") == 6.0, "the 5 % quantile of 1..100"
    assert times.early("AvatarInferenceNode") is None, "learned per workflow type"
    for _ in range(triggers.REMEMBERED_COMPLETIONS):
        times.record("FaceswapNode", 50.0)
    assert times.early("FaceswapNode") == 50.0, "only recent completions count"


async def test_learned_first_wait_skips_the_polls_that_would_find_it_running(
    heygen_conn: FakeHeyGen,
) -> None:
    for _ in range(triggers.MIN_COMPLETIONS):
        completion_times().record("FaceswapNode", 0.6)
    execution_id = heygen_conn.add_execution("FaceswapNode", polls=2)
    started = time.monotonic()

    (event,) = await run_to_end(trigger_for(execution_id, deadline=time.time() + 10))

    assert event["status"] == "success"
    assert time.monotonic() - started >= 0.6, "second poll no earlier than the learned 0.6 s"
    assert heygen_conn.count("GET") == 3


async def test_without_learning_polls_keep_to_the_interval(
    heygen_conn: FakeHeyGen, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(HeyGenExecutionTrigger, "learn_first_wait", False)
    for _ in range(triggers.MIN_COMPLETIONS):
        completion_times().record("FaceswapNode", 5.0)
    started = time.monotonic()

    (event,) = await run_to_end(
        trigger_for(heygen_conn.add_execution("FaceswapNode", polls=2), deadline=time.time() + 10)
    )

    assert event["status"] == "success"
    assert time.monotonic() - started < 2.0


async def test_learned_wait_still_polls_at_the_deadline(heygen_conn: FakeHeyGen) -> None:
    for _ in range(triggers.MIN_COMPLETIONS):
        completion_times().record("FaceswapNode", 100.0)
    started = time.monotonic()

    (event,) = await run_to_end(
        trigger_for(heygen_conn.add_execution("FaceswapNode", polls=10_000), deadline=time.time() + 0.4)
    )

    assert event["status"] == "timeout"
    assert 0.4 <= time.monotonic() - started < 2.0
    assert heygen_conn.count("GET") == 2, "at once and at the deadline"


async def test_only_waited_for_completions_are_learned(heygen_conn: FakeHeyGen) -> None:
    await run_to_end(trigger_for(heygen_conn.add_execution("FaceswapNode", polls=0)))
    await run_to_end(trigger_for(heygen_conn.add_execution("FaceswapNode", polls=2, status="failed")))
    for _ in range(triggers.MIN_COMPLETIONS - 1):
        await run_to_end(
            trigger_for(heygen_conn.add_execution("FaceswapNode", polls=1), deadline=time.time() + 10)
        )
    assert completion_times().early("FaceswapNode") is None, "completed at once or failed: not learned"

    await run_to_end(
        trigger_for(heygen_conn.add_execution("FaceswapNode", polls=1), deadline=time.time() + 10)
    )

    early = completion_times().early("FaceswapNode")
    assert early is not None
    assert 0.005 < early < 1.0


async def test_hooks_started_together_share_one_connection_lookup(
    heygen_conn: FakeHeyGen, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []
    look_up = compat_connection.get_async_connection

    async def counting(conn_id: str, hook: Any = None) -> Any:
        lookups.append(conn_id)
        return await look_up(conn_id, hook=hook)

    monkeypatch.setattr(compat_connection, "get_async_connection", counting)

    settings = await asyncio.gather(*(HeyGenAsyncHook().settings() for _ in range(10)))

    assert lookups == ["heygen_default"]
    assert all(each is settings[0] for each in settings)
    monkeypatch.setattr(hooks, "SHARED_LOOKUP_SECONDS", 0.0)
    await asyncio.sleep(0.01)
    await HeyGenAsyncHook().settings()
    assert len(lookups) == 2, "a hook started later looks the connection up again"


async def test_a_failed_lookup_is_not_shared(fake: FakeHeyGen, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri(fake.base_url, api_key=""))
    with pytest.raises(HeyGenAuthError):
        await HeyGenAsyncHook().settings()

    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri(fake.base_url))
    assert (await HeyGenAsyncHook().settings()).api_key == TEST_KEY


async def test_a_learned_type_is_first_polled_near_its_expected_end(heygen_conn: FakeHeyGen) -> None:
    for _ in range(triggers.MIN_COMPLETIONS):
        completion_times().record("FaceswapNode", 0.5)
    execution_id = heygen_conn.add_execution("FaceswapNode", polls=0)
    task = asyncio.ensure_future(
        run_to_end(trigger_for(execution_id, workflow_type="FaceswapNode", deadline=time.time() + 10))
    )
    await asyncio.sleep(0.3)
    assert heygen_conn.count("GET") == 0, "no poll before the learned 0.5 s"

    (event,) = await task

    assert event["status"] == "success"
    assert heygen_conn.count("GET") == 1, "one request for the whole wait"
    assert len(completion_times()._seconds["FaceswapNode"]) == triggers.MIN_COMPLETIONS + 1, (
        "done at that first poll is still a duration (at most that long): learned"
    )


async def test_a_learned_first_poll_never_passes_the_deadline(heygen_conn: FakeHeyGen) -> None:
    for _ in range(triggers.MIN_COMPLETIONS):
        completion_times().record("FaceswapNode", 100.0)
    started = time.monotonic()

    (event,) = await run_to_end(
        trigger_for(
            heygen_conn.add_execution("FaceswapNode", polls=10_000),
            workflow_type="FaceswapNode",
            deadline=time.time() + 0.3,
        )
    )

    assert event["status"] == "timeout"
    assert 0.3 <= time.monotonic() - started < 2.0
    assert heygen_conn.count("GET") == 1, "polled once, at the deadline"
