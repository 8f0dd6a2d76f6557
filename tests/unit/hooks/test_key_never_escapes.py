"""
The key is masked in triggerer logs too, and scrubbed from whatever a server (or a proxy echoing
request headers) sends back, before it becomes a log line, an exception or a trigger event.
"""

from __future__ import annotations

import pytest

from airflow_heygen.exceptions import HeyGenError
from airflow_heygen.hooks.heygen import HeyGenAsyncHook, HeyGenHook
from airflow_heygen.triggers.heygen import HeyGenExecutionTrigger
from tests.conftest import TEST_KEY
from tests.support.fake_heygen import FakeHeyGen, Reply

ENV_KEY = "env-key-for-the-triggerer-9c2b"


async def test_an_env_key_resolved_in_the_triggerer_is_masked(
    fake: FakeHeyGen, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk._shared.secrets_masker.secrets_masker import redact

    monkeypatch.delenv("AIRFLOW_CONN_HEYGEN_DEFAULT", raising=False)
    monkeypatch.setenv("HEYGEN_API_KEY", ENV_KEY)
    monkeypatch.setenv("HEYGEN_API_URL", fake.base_url)
    assert ENV_KEY in str(redact(f"before: {ENV_KEY}")), "control: not masked before the hook ran"

    settings = await HeyGenAsyncHook("heygen_missing_in_triggerer").settings()

    assert settings.api_key == ENV_KEY
    assert ENV_KEY not in str(redact(f"after: {ENV_KEY}"))


def echo(status: int) -> Reply:
    """What a gateway that echoes the request's headers into its error page would answer."""
    page = f"<html>{status} upstream error; request headers: X-Api-Key: {TEST_KEY}; Accept: */*</html>"
    return Reply(status, page.encode(), {"Content-Type": "text/html"})


def test_an_echoed_key_is_scrubbed_from_sync_errors(heygen_conn: FakeHeyGen) -> None:
    heygen_conn.replies.append(echo(400))
    with pytest.raises(HeyGenError) as refused:
        HeyGenHook().get_execution("x")
    heygen_conn.replies.extend([echo(502)] * 4)
    with pytest.raises(HeyGenError) as unavailable:
        HeyGenHook().get_execution("x")

    for err in (refused.value, unavailable.value):
        assert "request headers: X-Api-Key: ***" in str(err), "the echo is kept, the key is not"
        assert TEST_KEY not in str(err)


async def test_an_echoed_key_is_scrubbed_from_trigger_events(heygen_conn: FakeHeyGen) -> None:
    heygen_conn.replies.extend([echo(503)] * 4)
    trigger = HeyGenExecutionTrigger("x", poll_interval=0.01)

    (event,) = [e.payload async for e in trigger.run()]

    assert event["status"] == "error"
    assert "X-Api-Key: ***" in event["message"]
    assert TEST_KEY not in repr(event)
