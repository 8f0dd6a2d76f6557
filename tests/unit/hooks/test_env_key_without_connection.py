"""
HeyGen's own guide says only "set HEYGEN_API_KEY": with no Airflow connection at all, both the sync and
the deferrable path reach the host with that key (the host made a loopback server via HEYGEN_API_URL).
"""

from __future__ import annotations

import pytest

from airflow_heygen.api import API_KEY_HEADER
from airflow_heygen.hooks.heygen import HeyGenHook
from airflow_heygen.models import ExecutionStatus
from tests.support.fake_heygen import FakeHeyGen
from tests.unit.dag_runs import run_test_dag

ENV_KEY = "env-only-key-7d1e0c"


@pytest.fixture
def env_only(fake: FakeHeyGen, monkeypatch: pytest.MonkeyPatch) -> FakeHeyGen:
    """No ``heygen_default`` connection; the key and the host only in the environment."""
    monkeypatch.delenv("AIRFLOW_CONN_HEYGEN_DEFAULT", raising=False)
    monkeypatch.setenv("HEYGEN_API_KEY", ENV_KEY)
    monkeypatch.setenv("HEYGEN_API_URL", fake.base_url)
    fake.api_key = ENV_KEY
    return fake


def test_the_sync_hook_reads_an_execution_with_the_env_key(env_only: FakeHeyGen) -> None:
    execution = HeyGenHook().get_execution(env_only.add_execution())

    assert execution.status is ExecutionStatus.COMPLETED
    assert [r.headers[API_KEY_HEADER] for r in env_only.requests] == [ENV_KEY]


def test_test_connection_works_with_the_env_key(env_only: FakeHeyGen) -> None:
    ok, message = HeyGenHook().test_connection()

    assert ok, message
    assert env_only.base_url in message
    assert "balance 42.5" in message, "reports what is left on the account"
    assert env_only.requests[-1].path == "/v3/users/me"
    assert env_only.requests[-1].headers[API_KEY_HEADER] == ENV_KEY


@pytest.mark.usefixtures("airflow_db")
@pytest.mark.parametrize("dag_id", ["heygen_chain_sync", "heygen_chain_deferrable"])
def test_a_pipeline_runs_with_only_the_env_key(env_only: FakeHeyGen, dag_id: str) -> None:
    run = run_test_dag(dag_id)

    assert run.state == "success"
    assert env_only.submissions == 2
    methods = {r.method for r in env_only.requests}
    assert methods == {"POST", "GET"}
    assert {r.headers[API_KEY_HEADER] for r in env_only.requests} == {ENV_KEY}
    if dag_id.endswith("deferrable"):
        assert any("aiohttp" in r.headers["User-Agent"] for r in env_only.requests), "the trigger polled"
