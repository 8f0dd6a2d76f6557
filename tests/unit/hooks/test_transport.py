"""
Proxies and TLS settings hold in the triggerer exactly as in the worker: a forward proxy and a private
CA, both real servers on 127.0.0.1, see (or refuse) the requests of sync and deferrable tasks alike.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_heygen.exceptions import HeyGenTLSError
from airflow_heygen.hooks.heygen import HeyGenHook
from airflow_heygen.triggers.heygen import HeyGenExecutionTrigger
from tests.conftest import TEST_KEY, heygen_connection_uri
from tests.support.fake_heygen import FakeHeyGen
from tests.support.forward_proxy import ForwardProxy, forward_proxy
from tests.support.tls import LoopbackTLS, make_loopback_tls
from tests.unit.dag_runs import run_test_dag

WORKER, TRIGGERER = "python-requests", "aiohttp"


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with forward_proxy() as running:
        yield running


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def agents(requests: list[Any]) -> set[str]:
    """Which client sent them: the worker's requests or the trigger's aiohttp."""
    seen = {getattr(r, "user_agent", None) or r.headers.get("User-Agent", "") for r in requests}
    return {name for name in (WORKER, TRIGGERER) if any(name in agent for agent in seen)}


@pytest.mark.usefixtures("airflow_db")
@pytest.mark.parametrize("source", ["extra", "environment"])
def test_sync_and_deferrable_tasks_go_through_the_proxy(
    fake: FakeHeyGen, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    extra = {"proxies": {"http": proxy.url}} if source == "extra" else {}
    if source == "environment":
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri(fake.base_url, **extra))

    for dag_id in ("heygen_chain_sync", "heygen_chain_deferrable"):
        assert run_test_dag(dag_id).state == "success"

    assert fake.submissions == 4
    assert len(proxy.passed) == len(fake.requests), "every request to HeyGen passed through the proxy"
    assert {p.target.split("/v1/")[0] for p in proxy.passed} == {fake.base_url}
    assert agents(proxy.passed) == {WORKER, TRIGGERER}, "the worker's and the triggerer's requests"


@pytest.mark.usefixtures("airflow_db")
def test_no_proxy_covering_the_host_bypasses_the_environments_proxy(
    fake: FakeHeyGen, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri(fake.base_url))

    assert run_test_dag("heygen_chain_deferrable").state == "success"

    assert agents(fake.requests) == {WORKER, TRIGGERER}
    assert proxy.passed == [], "NO_PROXY covers 127.0.0.1"


async def test_triggers_of_different_connections_never_share_a_proxied_socket(
    fake: FakeHeyGen, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_HEYGEN_PROXIED", heygen_connection_uri(fake.base_url, proxies={"http": proxy.url})
    )
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DIRECT", heygen_connection_uri(fake.base_url))
    proxied = [fake.add_execution(polls=3) for _ in range(3)]
    direct = [fake.add_execution(polls=3) for _ in range(3)]

    async def wait(execution_id: str, conn_id: str) -> dict[str, Any]:
        trigger = HeyGenExecutionTrigger(execution_id, heygen_conn_id=conn_id, poll_interval=0.02)
        return next(iter([event.payload async for event in trigger.run()]))

    events = await asyncio.gather(
        *(wait(i, "heygen_proxied") for i in proxied), *(wait(i, "heygen_direct") for i in direct)
    )

    assert [event["status"] for event in events] == ["success"] * 6
    through_proxy = {p.target.rsplit("/", 1)[-1] for p in proxy.passed}
    assert through_proxy == set(proxied), "only the proxied connection's polls, all of them"
    assert len(proxy.passed) == 4 * 3


@pytest.fixture
def tls(tmp_path: Path) -> LoopbackTLS:
    return make_loopback_tls(tmp_path / "tls")


@pytest.fixture
def https_fake(tls: LoopbackTLS) -> Iterator[FakeHeyGen]:
    server = FakeHeyGen(api_key=TEST_KEY)
    server.start(ssl_context=tls.server_context())
    yield server
    server.stop()


@pytest.mark.usefixtures("airflow_db")
def test_a_private_ca_in_verify_works_for_sync_and_deferrable_tasks(
    https_fake: FakeHeyGen, tls: LoopbackTLS, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert https_fake.base_url.startswith("https://")
    monkeypatch.setenv(
        "AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri(https_fake.base_url, verify=str(tls.ca_path))
    )

    for dag_id in ("heygen_chain_sync", "heygen_chain_deferrable"):
        assert run_test_dag(dag_id).state == "success"

    assert https_fake.submissions == 4
    assert agents(https_fake.requests) == {WORKER, TRIGGERER}


async def test_an_unknown_ca_fails_clearly_in_both_paths(
    https_fake: FakeHeyGen, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri(https_fake.base_url, verify=True))
    execution_id = https_fake.add_execution()

    with pytest.raises(HeyGenTLSError) as caught:
        await asyncio.to_thread(HeyGenHook().get_execution, execution_id)
    trigger = HeyGenExecutionTrigger(execution_id, poll_interval=0.02)
    (event,) = [e.payload async for e in trigger.run()]

    for message in (str(caught.value), event["message"]):
        assert "TLS verification of https://127.0.0.1" in message
        assert "certificate verify failed" in message.lower() or "certificate" in message
        assert "'verify'" in message, "says which setting fixes it"
    assert event["status"] == "error"
    assert https_fake.requests == [], "no request got past the handshake, and none was retried into it"


def test_transport_extras_are_checked_with_the_field_named(
    fake: FakeHeyGen, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_HEYGEN_DEFAULT",
        json.dumps(
            {"conn_type": "heygen", "host": fake.base_url, "password": TEST_KEY, "extra": {"proxies": "x"}}
        ),
    )
    with pytest.raises(ValueError, match="connection extra proxies"):
        _ = HeyGenHook().settings
