"""
Both hooks say which host they talk to and why: without a connection, where the key and the URL come
from (``HEYGEN_API_URL`` or HeyGen's public API); with one, its URL, once per hook (once per trigger
run at most). The key never appears.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from airflow_heygen.hooks.heygen import HeyGenAsyncHook, HeyGenHook
from airflow_heygen.triggers.heygen import HeyGenExecutionTrigger
from tests.conftest import TEST_KEY
from tests.support.fake_heygen import FakeHeyGen


def logged(capsys: pytest.CaptureFixture[str]) -> str:
    """What the hooks logged so far (structlog writes Airflow's log records to stdout)."""
    captured = capsys.readouterr()
    return captured.out + captured.err


@pytest.fixture
def no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``heygen_default`` connection; the key in ``HEYGEN_API_KEY``."""
    monkeypatch.delenv("AIRFLOW_CONN_HEYGEN_DEFAULT", raising=False)
    monkeypatch.setenv("HEYGEN_API_KEY", TEST_KEY)


@pytest.mark.usefixtures("no_connection")
def test_without_a_connection_the_log_names_heygen_api_url_and_its_host(
    fake: FakeHeyGen, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEYGEN_API_URL", fake.base_url + "/")
    execution_id = fake.add_execution()
    HeyGenHook().get_execution(execution_id)

    text = logged(capsys)
    line = (
        f"No connection 'heygen_default': using the key in HEYGEN_API_KEY and {fake.base_url} "
        "(from HEYGEN_API_URL)"
    )
    assert text.count(line) == 1, text
    assert "public API" not in text
    assert TEST_KEY not in text


@pytest.mark.usefixtures("no_connection")
def test_without_a_connection_or_heygen_api_url_the_log_names_the_public_api(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HEYGEN_API_URL", raising=False)
    settings = HeyGenHook().settings  # resolving sends nothing

    assert settings.base_url == "https://api.heygen.com"
    text = logged(capsys)
    line = (
        "No connection 'heygen_default': using the key in HEYGEN_API_KEY and "
        "HeyGen's public API https://api.heygen.com"
    )
    assert text.count(line) == 1, text
    assert TEST_KEY not in text


def test_with_a_connection_the_sync_hook_logs_its_url_once(
    heygen_conn: FakeHeyGen, capsys: pytest.CaptureFixture[str]
) -> None:
    execution_id = heygen_conn.add_execution(polls=2)
    hook = HeyGenHook()
    for _ in range(3):
        hook.get_execution(execution_id)

    text = logged(capsys)
    assert text.count(f"HeyGen API at {heygen_conn.base_url} (connection 'heygen_default')") == 1, text
    assert "No connection" not in text
    assert TEST_KEY not in text


async def test_with_a_connection_the_async_hook_logs_its_url_once(
    heygen_conn: FakeHeyGen, capsys: pytest.CaptureFixture[str]
) -> None:
    execution_id = heygen_conn.add_execution(polls=2)
    hook = HeyGenAsyncHook()
    for _ in range(3):
        async with hook.session() as http:
            await hook.get_execution(http, execution_id)

    text = logged(capsys)
    assert text.count(f"HeyGen API at {heygen_conn.base_url} (connection 'heygen_default')") == 1, text
    assert TEST_KEY not in text


@pytest.mark.usefixtures("no_connection")
async def test_without_a_connection_the_async_hook_names_heygen_api_url(
    fake: FakeHeyGen, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEYGEN_API_URL", fake.base_url)
    await HeyGenAsyncHook().settings()

    text = logged(capsys)
    line = (
        f"No connection 'heygen_default': using the key in HEYGEN_API_KEY and {fake.base_url} "
        "(from HEYGEN_API_URL)"
    )
    assert text.count(line) == 1, text
    assert TEST_KEY not in text


async def test_a_trigger_run_logs_the_host_once_at_most(
    heygen_conn: FakeHeyGen, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = [heygen_conn.add_execution(polls=3) for _ in range(3)]
    triggers = [
        HeyGenExecutionTrigger(execution_id, poll_interval=0.02, deadline=time.time() + 30)
        for execution_id in ids
    ]

    async def status_of(trigger: HeyGenExecutionTrigger) -> str:
        (event,) = [event.payload async for event in trigger.run()]
        return str(event["status"])

    assert await asyncio.gather(*(status_of(trigger) for trigger in triggers)) == ["success"] * 3

    count = logged(capsys).count(f"HeyGen API at {heygen_conn.base_url} (connection 'heygen_default')")
    # Hooks of one event loop share the connection's lookup: three runs log it once to three times.
    assert 1 <= count <= len(triggers)
