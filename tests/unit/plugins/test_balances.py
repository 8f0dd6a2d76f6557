"""An account's balance is read from HeyGen at most once a minute per connection, whoever asks."""

from __future__ import annotations

import json

from airflow_heygen.plugins.balances import Balance, BalanceCache, _env_conn_type


def test_a_balance_is_read_at_most_once_per_ttl_per_connection() -> None:
    now = [1000.0]
    reads: list[str] = []

    def read(conn_id: str) -> Balance:
        reads.append(conn_id)
        return Balance(conn_id, f"read {len(reads)}", 5.0, None, now[0])

    cache = BalanceCache(read=read, ttl=60.0, clock=lambda: now[0])
    assert cache.get("a").summary == "read 1"
    now[0] += 59.0
    assert cache.get("a").summary == "read 1", "younger than a minute: not read again"
    assert cache.get("b").summary == "read 2", "each connection has its own"
    now[0] += 1.0
    assert cache.get("a").summary == "read 3"
    assert reads == ["a", "b", "a"]


def test_heygen_connections_in_the_environment_are_recognised() -> None:
    assert _env_conn_type(json.dumps({"conn_type": "heygen", "password": "k"})) == "heygen"
    assert _env_conn_type("heygen://:key@api.heygen.com") == "heygen"
    assert _env_conn_type("aws://") == "aws"
    assert _env_conn_type("{not json") is None
