"""
Benchmark of a stub-rendering emulator at campaign scale (prints figures; not a test).

Two campaigns against one emulator with the plan's concurrency (10 by default) and a short render
latency:

* workflows: ``--jobs`` FaceswapNode executions driven through HTTP by as many lanes as the plan has
  slots, each lane submitting, polling until final, and submitting the next (a 429 waits its
  ``Retry-After``);
* v3: ``--jobs`` videos created by batches of 100 (all batches at once: their items wait for slots),
  polled by bulk statuses of up to 100 batch ids, with single reads sampled meanwhile.

For each it prints jobs per second and the p50/p99 latency of each kind of request at the start (first
10 %) and at the end (last 10 %) of the campaign: flat figures mean no request grows with the jobs the
emulator holds. It also prints the output files' disk use (stub outputs are hard links of one sample).

Usage::

    .venv/bin/python bench/emulator_scale.py [--jobs 10000] [--latency 0.05] [--plan-concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import API_KEY, EXECUTIONS, emulator, machine_facts, raise_nofile

BATCH = 100
POLL_SECONDS = 0.02


class Timings:
    """Request latencies per kind, in the order they were sent."""

    def __init__(self) -> None:
        self.samples: defaultdict[str, list[float]] = defaultdict(list)
        self.statuses: defaultdict[str, int] = defaultdict(int)

    async def timed(self, kind: str, call: Callable[[], Awaitable[tuple[int, Any]]]) -> tuple[int, Any]:
        """
        Run one request and record how long it took.

        :param kind: what it is, e.g. ``submit``.
        :param call: sends it and returns status and JSON body.
        """
        started = time.perf_counter()
        status, body = await call()
        self.samples[kind].append(time.perf_counter() - started)
        self.statuses[f"{kind} {status}"] += 1
        return status, body

    def rows(self) -> list[str]:
        """One line per kind: count, and p50/p99 in ms over the first and the last 10 %."""
        lines = []
        for kind, values in self.samples.items():
            tenth = max(len(values) // 10, 1)
            start, end = _percentiles(values[:tenth]), _percentiles(values[-tenth:])
            lines.append(
                f"  {kind:<14} n={len(values):>6}  start p50 {start[0]:6.1f} ms p99 {start[1]:6.1f} ms"
                f"  |  end p50 {end[0]:6.1f} ms p99 {end[1]:6.1f} ms"
            )
        return lines


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    if not ordered:
        return 0.0, 0.0
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return statistics.median(ordered) * 1000, p99 * 1000


async def _json(session: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with session.request(method, path, json=body) as response:
        payload = await response.json() if response.content_type == "application/json" else None
        if response.status == 429:
            # A refusal names its wait: keep it beside the body, as a client would read it.
            payload = {"retry_after": int(response.headers.get("Retry-After", "1")), **(payload or {})}
        return response.status, payload


async def workflows_campaign(base_url: str, sample: str, jobs: int, lanes: int) -> tuple[float, Timings]:
    """
    Run ``jobs`` face swaps over ``lanes`` lanes; return the wall seconds and the timings.

    :param base_url: the emulator.
    :param sample: base URL of its samples.
    :param jobs: executions to run.
    :param lanes: lanes submitting at once (the plan's concurrency keeps every lane busy).
    """
    timings = Timings()
    body = {
        "workflow_type": "FaceswapNode",
        "input": {"source_image_url": f"{sample}/face.jpg", "target_video_url": f"{sample}/target.mp4"},
    }
    left = iter(range(jobs))
    headers = {"X-Api-Key": API_KEY}
    connector = aiohttp.TCPConnector(limit=lanes * 2)
    async with aiohttp.ClientSession(base_url, headers=headers, connector=connector) as session:

        async def lane() -> None:
            for _ in left:
                while True:
                    status, answer = await timings.timed(
                        "submit", lambda: _json(session, "POST", EXECUTIONS, body)
                    )
                    if status != 429:
                        break
                    await asyncio.sleep(answer["retry_after"])
                assert status == 200, answer
                path = f"{EXECUTIONS}/{answer['data']['execution_id']}"
                while True:
                    status, answer = await timings.timed("poll", partial(_json, session, "GET", path))
                    if answer["data"]["status"] in ("completed", "failed"):
                        break
                    await asyncio.sleep(POLL_SECONDS)

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(lanes)))
        return time.perf_counter() - started, timings


async def v3_campaign(base_url: str, sample: str, jobs: int) -> tuple[float, Timings]:
    """
    Create ``jobs`` videos by batches of 100 and poll them to the end; return wall seconds and timings.

    :param base_url: the emulator.
    :param sample: base URL of its samples.
    :param jobs: videos to create (a multiple of 100).
    """
    timings = Timings()
    video = {
        "type": "avatar",
        "avatar_id": "Angela-inblackskirt-20220820",
        "audio_url": f"{sample}/speech.wav",
    }
    headers = {"X-Api-Key": API_KEY}
    connector = aiohttp.TCPConnector(limit=20)
    async with aiohttp.ClientSession(base_url, headers=headers, connector=connector) as session:
        started = time.perf_counter()
        batch_ids: list[str] = []
        video_ids: list[str] = []
        for _ in range(jobs // BATCH):
            status, answer = await timings.timed(
                "batch create",
                lambda: _json(session, "POST", "/v3/videos/batches", {"videos": [video] * BATCH}),
            )
            assert status == 200, answer
            batch_ids.append(answer["data"]["batch_id"])
            video_ids += [item["video_id"] for item in answer["data"]["items"]]
        # Batch items take the plan's slots in order, so batches finish in order: read the oldest
        # unfinished one (100 entries, the same work at the start and at the end) until it is done.
        picker = random.Random(7)
        while batch_ids:
            query = f"/v3/videos/statuses?batch_ids={batch_ids[0]}"
            _, answer = await timings.timed("bulk statuses", partial(_json, session, "GET", query))
            sampled = f"/v3/videos/{picker.choice(video_ids)}"
            await timings.timed("single read", partial(_json, session, "GET", sampled))
            if all(entry["status"] in ("completed", "failed") for entry in answer["data"]):
                batch_ids.pop(0)
            else:
                await asyncio.sleep(0.05)
        return time.perf_counter() - started, timings


def _disk_use(folder: Path) -> tuple[int, int, int]:
    """Files, their apparent bytes, and the bytes they take on disk (hard links counted once)."""
    seen: set[int] = set()
    files = apparent = used = 0
    for path in folder.iterdir():
        info = path.stat()
        files += 1
        apparent += info.st_size
        if info.st_ino not in seen:
            seen.add(info.st_ino)
            used += info.st_blocks * 512
    return files, apparent, used


def _report(title: str, jobs: int, seconds: float, timings: Timings) -> None:
    print(f"{title}: {jobs} jobs in {seconds:.1f} s = {jobs / seconds:.1f} jobs/s")
    print("\n".join(timings.rows()))
    print(f"  answers: {dict(timings.statuses)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs per campaign (default 10000)")
    parser.add_argument("--latency", type=float, default=0.05, help="render seconds per job (default 0.05)")
    parser.add_argument("--plan-concurrency", type=int, default=10, help="the plan's slots (default 10)")
    parser.add_argument("--skip", choices=["workflows", "v3"], help="leave one campaign out")
    args = parser.parse_args()
    raise_nofile()
    print(machine_facts())
    with (
        tempfile.TemporaryDirectory(prefix="emulator-scale-") as tmp,
        emulator(Path(tmp), latency=args.latency, plan_concurrency=args.plan_concurrency) as handle,
    ):
        sample = handle.url("/samples")
        if args.skip != "workflows":
            seconds, timings = asyncio.run(
                workflows_campaign(handle.base_url, sample, args.jobs, args.plan_concurrency)
            )
            _report("workflows executions", args.jobs, seconds, timings)
        if args.skip != "v3":
            jobs = args.jobs // BATCH * BATCH
            seconds, timings = asyncio.run(v3_campaign(handle.base_url, sample, jobs))
            _report(f"v3 videos (batches of {BATCH})", jobs, seconds, timings)
        stats = handle.stats()
        print(
            f"stats: in_flight={stats['in_flight']} max_in_flight={stats['max_in_flight']} "
            f"plan_concurrency={stats['plan_concurrency']} concurrency_limited="
            f"{stats['faults']['concurrency_limited']} executions={stats['executions']} "
            f"videos={stats['jobs']['video']}"
        )
        files, apparent, used = _disk_use(Path(tmp) / "media")
        print(
            f"media: {files} files, {apparent / 1e6:.1f} MB apparent, {used / 1e6:.2f} MB on disk "
            f"(pid {handle.pid}, {os.cpu_count()} cpus)"
        )


if __name__ == "__main__":
    main()
