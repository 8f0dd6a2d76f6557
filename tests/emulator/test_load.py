"""The API stays responsive with 1,000 executions in flight and many clients polling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from airflow_heygen.emulator.testing import run_emulator
from tests.emulator.conftest import EXECUTIONS, faceswap_body

IN_FLIGHT = 1000
POLLERS = 200


async def _submit_many(base_url: str, body: dict[str, object], count: int) -> list[str]:
    headers = {"X-Api-Key": "load-test"}
    connector = aiohttp.TCPConnector(limit=50)
    async with aiohttp.ClientSession(base_url, headers=headers, connector=connector) as session:

        async def one() -> str:
            async with session.post(EXECUTIONS, json=body) as response:
                assert response.status == 200
                return str((await response.json())["data"]["execution_id"])

        return list(await asyncio.gather(*(one() for _ in range(count))))


async def _poll_concurrently(base_url: str, ids: list[str]) -> list[float]:
    headers = {"X-Api-Key": "load-test"}
    connector = aiohttp.TCPConnector(limit=POLLERS)
    async with aiohttp.ClientSession(base_url, headers=headers, connector=connector) as session:

        async def one(execution_id: str) -> float:
            started = time.perf_counter()
            async with session.get(f"{EXECUTIONS}/{execution_id}") as response:
                assert response.status == 200
                assert (await response.json())["data"]["status"] in ("submitted", "running")
            return time.perf_counter() - started

        return list(await asyncio.gather(*(one(i) for i in ids)))


def test_responsive_with_1000_in_flight(make_data_dir: Callable[[], Path]) -> None:
    # All 1,000 are in flight at once: the plan's concurrency must not refuse them.
    with run_emulator(
        make_data_dir(), render="stub", latency=120, workers=2, plan_concurrency=IN_FLIGHT
    ) as emulator:
        started = time.perf_counter()
        ids = asyncio.run(_submit_many(emulator.base_url, faceswap_body(emulator), IN_FLIGHT))
        submit_seconds = time.perf_counter() - started
        assert len(set(ids)) == IN_FLIGHT
        started = time.perf_counter()
        latencies = sorted(asyncio.run(_poll_concurrently(emulator.base_url, ids[:POLLERS])))
        poll_seconds = time.perf_counter() - started
        health = emulator.healthz()
        stats = emulator.stats()
    assert health["executions"] == IN_FLIGHT
    assert sum(stats["executions"].get(s, 0) for s in ("submitted", "running")) == IN_FLIGHT
    assert submit_seconds < 20, submit_seconds
    assert poll_seconds < 5, poll_seconds
    assert latencies[int(0.95 * len(latencies))] < 2.0, latencies[-10:]
