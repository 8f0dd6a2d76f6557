"""
Item 1, triggerer scale: N waiters in one event loop (as a triggerer runs them) against the emulator in
stub mode, jobs finishing after a set time. Contenders, same N and same poll interval:

* ``heygen``: ``HeyGenExecutionTrigger.run()``;
* ``http_event``: the HTTP provider's ``HttpEventTrigger`` with an async response check on the JSON
  status (``bench/peer_checks.py``);
* ``http_sensor``: ``HttpSensorTrigger``, which can only wait for a non-404: it polls the status
  endpoint of an id that stays unknown (404) for the whole window, so it delivers no events;
* ``floor``: a bare poller holding one aiohttp session per waiter (GET + JSON parse, nothing else).

Each contender runs in a fresh child process (``child`` sub-command), so its CPU time and memory are
its own; the emulator counts the polls (``/_admin/stats``) and logs their times (request log), from
which the parent derives schedule keeping and completion-to-event lag. Usage::

    .venv/bin/python bench/bench_triggerer.py [--sizes 100:1,1000:1,10000:10] [--contenders ...]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    API_KEY,
    EXECUTIONS,
    ChildProcess,
    cpu_seconds,
    emulator,
    heygen_connection,
    http_connection,
    process_cpu_seconds,
    raise_nofile,
    rss_bytes,
    sampling_profile,
)

CONTENDERS = ("heygen", "http_event", "http_sensor", "floor")
TERMINAL = ("completed", "failed")
SENSOR_SUFFIX = "-never"  # HttpSensorTrigger polls a status URL that stays 404
STATUS_ROUTE = "GET /v1/workflows/executions/{execution_id}"
HTTP_CONN_ID = "emulator_http"
READY = "READY"
LATE_GAP = 1.2  # a gap between two polls longer than this many intervals is a late poll

Waiter = Callable[[str], Awaitable[str]]


# --------------------------------------------------------------------------------------------- child


def http_sensor_waiter(resource: str, interval: float) -> Waiter:
    """The HTTP provider's ``HttpSensorTrigger`` on ``<resource>/<id>``: the peer (waits for a non-404)."""
    from airflow.providers.http.triggers.http import HttpSensorTrigger

    async def http_sensor(job_id: str) -> str:
        trigger = HttpSensorTrigger(
            endpoint=f"{resource}/{job_id}{SENSOR_SUFFIX}",
            http_conn_id=HTTP_CONN_ID,
            method="GET",
            poke_interval=interval,
        )
        async for _event in trigger.run():
            return "non-404"
        return "no event"

    return http_sensor


def floor_waiter(url_prefix: str, interval: float) -> Waiter:
    """The bare aiohttp floor: one GET of ``<url_prefix>/<id>`` per interval until a terminal status."""
    import aiohttp

    async def floor(job_id: str) -> str:
        async with aiohttp.ClientSession(headers={"X-Api-Key": API_KEY}) as session:
            while True:
                async with session.get(f"{url_prefix}/{job_id}") as response:
                    status = (await response.json())["data"]["status"]
                if status in TERMINAL:
                    return str(status)
                await asyncio.sleep(interval)

    return floor


def _waiter_factory(contender: str, base_url: str, interval: float, deadline: float) -> Waiter:
    """A coroutine function that waits for one execution id the contender's way and returns its status."""
    if contender in ("heygen", "heygen_fixed"):
        from airflow_heygen.triggers.heygen import HeyGenExecutionTrigger

        # heygen_fixed: polls every interval, without the learned first wait.
        HeyGenExecutionTrigger.learn_first_wait = contender == "heygen"

        async def heygen(execution_id: str) -> str:
            trigger = HeyGenExecutionTrigger(
                execution_id, poll_interval=interval, deadline=deadline, workflow_type="FaceswapNode"
            )
            async for event in trigger.run():
                return str(event.payload["status"])
            return "no event"

        return heygen
    if contender == "http_event":
        from airflow.providers.http.triggers.http import HttpEventTrigger

        async def http_event(execution_id: str) -> str:
            trigger = HttpEventTrigger(
                response_check_path="bench.peer_checks.execution_finished",
                http_conn_id=HTTP_CONN_ID,
                method="GET",
                endpoint=f"{EXECUTIONS[1:]}/{execution_id}",
                poll_interval=interval,
            )
            async for event in trigger.run():
                return str(event.payload["status"])
            return "no event"

        return http_event
    if contender == "http_sensor":
        return http_sensor_waiter(EXECUTIONS[1:], interval)
    if contender == "floor":
        return floor_waiter(f"{base_url}{EXECUTIONS}", interval)
    raise ValueError(f"unknown contender {contender!r}")


def _log_like_the_trigger_runner() -> None:
    """
    Log as a triggerer's trigger runner does: JSON lines over an unbuffered binary channel (Airflow's
    ``_configure_logs_over_json_channel``; here to ``/dev/null``), not the console renderer, whose cost
    in a benchmark would be a terminal's, not a triggerer's.
    """
    from airflow.sdk.log import configure_logging, reset_logging

    reset_logging()
    # Open for the child's lifetime, as the trigger runner's channel is.
    channel = open(os.devnull, "wb", buffering=0)  # noqa: SIM115
    configure_logging(json_output=True, output=channel, sending_to_supervisor=True)


def _preimport() -> None:
    """Log as a triggerer; import what any contender imports lazily, so memory growth is the waiters' own."""
    _log_like_the_trigger_runner()
    import aiohttp  # noqa: F401
    import asgiref.sync  # noqa: F401
    import requests  # noqa: F401
    import tenacity  # noqa: F401
    from airflow.providers.common.compat.connection import get_async_connection  # noqa: F401
    from airflow.providers.http.triggers.http import HttpEventTrigger  # noqa: F401

    from airflow_heygen.triggers.heygen import HeyGenExecutionTrigger  # noqa: F401
    from bench import peer_checks  # noqa: F401


async def _child(
    contender: str,
    ids: list[str],
    base_url: str,
    interval: float,
    window: float,
    factory: Callable[[str, str, float, float], Waiter] | None = None,
) -> dict[str, Any]:
    """
    Wait for ``ids`` the contender's way in this event loop and return the figures.

    :param factory: makes the waiter of a contender (``_waiter_factory`` unless given): the other
        benchmarks (``bench_bulk_poller.py``) reuse this loop with contenders of their own.
    """
    import airflow.providers.common.compat.connection as compat_connection

    # A triggerer has long loaded its secrets backends: pay that one-off cost before measuring.
    for conn_id in ("heygen_default", HTTP_CONN_ID):
        await compat_connection.get_async_connection(conn_id)
    counters = {"tcp_connects": 0, "connection_lookups": 0}
    loop = asyncio.get_running_loop()
    create_connection = loop.create_connection

    async def counting_create_connection(*args: Any, **kwargs: Any) -> Any:
        counters["tcp_connects"] += 1
        return await create_connection(*args, **kwargs)

    loop.create_connection = counting_create_connection  # type: ignore[method-assign]
    get_async_connection = compat_connection.get_async_connection

    async def counting_get_async_connection(*args: Any, **kwargs: Any) -> Any:
        counters["connection_lookups"] += 1
        return await get_async_connection(*args, **kwargs)

    compat_connection.get_async_connection = counting_get_async_connection  # type: ignore[assignment]

    started = time.time()
    wait = (factory or _waiter_factory)(contender, base_url, interval, started + window)
    events: dict[str, tuple[float, str]] = {}
    starts: dict[str, float] = {}

    async def one(execution_id: str, offset: float) -> None:
        # Waiters arrive spread over the first interval, as deferred tasks reach a triggerer.
        await asyncio.sleep(offset)
        starts[execution_id] = time.time()
        status = await wait(execution_id)
        events[execution_id] = (time.time(), status)

    peak_rss = 0
    loop_lags: list[float] = []
    loop_lag_by_second: dict[int, float] = {}  # seconds into the run -> worst lateness (ms) in it

    async def sample_rss_and_loop_lag() -> None:
        # Every 0.25 s: memory, and how late the event loop woke us (it is late when starved of CPU).
        nonlocal peak_rss
        while True:
            peak_rss = max(peak_rss, rss_bytes())
            woken = loop.time() + 0.25
            await asyncio.sleep(0.25)
            lag = loop.time() - woken
            loop_lags.append(lag)
            second = int(time.time() - started)
            loop_lag_by_second[second] = max(loop_lag_by_second.get(second, 0.0), 1000 * lag)

    gc.collect()
    baseline_rss = rss_bytes()
    cpu_before = cpu_seconds()
    started = time.time()
    sampler = asyncio.ensure_future(sample_rss_and_loop_lag())
    # Arrival offsets are random (but the same for every contender), so that the phase between a
    # waiter's polls and its job's completion is too, and lags spread over the whole interval.
    offsets = random.Random(7)
    tasks = [asyncio.ensure_future(one(execution_id, interval * offsets.random())) for execution_id in ids]
    _done, pending = await asyncio.wait(tasks, timeout=window)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    peak_rss = max(peak_rss, rss_bytes())
    sampler.cancel()
    ended = time.time()
    cpu = cpu_seconds() - cpu_before
    errors = [
        repr(task.exception()) for task in tasks if task.done() and not task.cancelled() and task.exception()
    ]
    return {
        "contender": contender,
        "n": len(ids),
        "started": started,
        "ended": ended,
        "cpu_seconds": cpu,
        "baseline_rss": baseline_rss,
        "peak_rss": peak_rss,
        "events": events,
        "starts": starts,
        "loop_lag_p99_ms": 1000 * (_percentile(loop_lags, 0.99) or 0.0),
        "loop_lag_max_ms": 1000 * max(loop_lags, default=0.0),
        "loop_lag_by_second": {str(k): round(v, 1) for k, v in sorted(loop_lag_by_second.items())},
        "still_waiting": len(pending),
        "errors": errors[:5],
        "error_count": len(errors),
        **counters,
    }


def child_main(args: argparse.Namespace) -> None:
    """
    Import everything, say ``READY``, read the path of the ids file from stdin, run the contender and
    print its figures as one JSON line: the jobs are submitted while the child waits, so they start
    their set time just before the waiters start.
    """
    raise_nofile()
    _preimport()
    print(READY, flush=True)
    ids = json.loads(Path(sys.stdin.readline().strip()).read_text())
    coroutine = _child(args.contender, ids, args.base_url, args.interval, args.window)
    if args.profile is None:
        result = asyncio.run(coroutine)
    else:
        with sampling_profile(args.profile):
            result = asyncio.run(coroutine)
    print(json.dumps(result))


# -------------------------------------------------------------------------------------------- parent


async def _submit(base_url: str, count: int, sample_url: str) -> list[str]:
    import aiohttp

    body = {
        "workflow_type": "FaceswapNode",
        "input": {"source_image_url": sample_url + "face.jpg", "target_video_url": sample_url + "target.mp4"},
    }
    connector = aiohttp.TCPConnector(limit=32)
    async with aiohttp.ClientSession(
        base_url, headers={"X-Api-Key": API_KEY}, connector=connector
    ) as session:

        async def one() -> str:
            async with session.post(EXECUTIONS, json=body) as response:
                response.raise_for_status()
                return str((await response.json())["data"]["execution_id"])

        return list(await asyncio.gather(*(one() for _ in range(count))))


def submit(handle: Any, count: int) -> list[str]:
    """Submit ``count`` face swaps to the emulator and return their execution ids."""
    return asyncio.run(_submit(handle.base_url, count, handle.url("/samples/")))


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def _read_new_polls(log_path: Path, offset: int) -> tuple[dict[str, list[float]], int]:
    """GET times per execution id from the emulator's request log, from ``offset`` on."""
    polls: dict[str, list[float]] = defaultdict(list)
    with log_path.open("rb") as log:
        log.seek(offset)
        for line in log:
            entry = json.loads(line)
            if entry["method"] == "GET" and entry["path"].startswith(EXECUTIONS + "/"):
                execution_id = entry["path"].rsplit("/", 1)[1].removesuffix(SENSOR_SUFFIX)
                polls[execution_id].append(entry["time"])
        return polls, log.tell()


def _completion_times(data_dir: Path, ids: list[str]) -> dict[str, float]:
    done = {}
    for execution_id in ids:
        record = json.loads((data_dir / "executions" / f"{execution_id}.json").read_text())
        if record["status"] in TERMINAL:
            done[execution_id] = record["updated_at"]
    return done


def measure(
    handle: Any,
    data_dir: Path,
    contender: str,
    n: int,
    interval: float,
    latency: float,
    log_offset: int,
    profile: Path | None = None,
) -> tuple[dict[str, Any], int]:
    """Start a child, submit ``n`` jobs, let the child wait for them, and derive the figures."""
    # The sensor never ends by itself: it runs for as long as the jobs do, plus one interval.
    window = latency + interval if contender == "http_sensor" else latency + 3 * interval + 30
    command = [
        *("bench/bench_triggerer.py", "child", "--contender", contender, "--base-url", handle.base_url),
        *("--interval", str(interval), "--window", str(window)),
        *(("--profile", str(profile)) if profile else ()),
    ]
    env = {
        "AIRFLOW_CONN_HEYGEN_DEFAULT": heygen_connection(handle.base_url),
        f"AIRFLOW_CONN_{HTTP_CONN_ID.upper()}": http_connection(handle.base_url),
    }
    with ChildProcess(command, env) as child_process:
        child_process.wait_for(READY)
        ids = submit(handle, n)
        submitted = time.time()
        ids_file = data_dir / f"ids-{contender}-{n}.json"
        ids_file.write_text(json.dumps(ids))
        _, log_offset = _read_new_polls(data_dir / "requests.jsonl", log_offset)
        handle.reset_stats()
        server_cpu_before = process_cpu_seconds(handle.pid)
        child_process.send(str(ids_file))
        child = child_process.result(timeout=window + 300)
    server_cpu = process_cpu_seconds(handle.pid) - server_cpu_before
    stats = handle.stats()
    polls_by_status = stats["requests"].get(STATUS_ROUTE, {})
    polls = sum(polls_by_status.values())
    poll_times, log_offset = _read_new_polls(data_dir / "requests.jsonl", log_offset)
    completed = _completion_times(data_dir, ids)
    events = child["events"]
    lags = [events[i][0] - completed[i] for i in ids if i in events and i in completed]
    due = made = 0
    worst_gaps = []
    all_gaps: list[tuple[float, float]] = []  # (gap, when it began, seconds into the run)
    for execution_id in ids:
        start = child["starts"].get(execution_id, child["ended"])
        end = events[execution_id][0] if execution_id in events else child["ended"]
        due += 1 + math.floor(max(0.0, end - start) / interval)
        times = sorted(poll_times.get(execution_id, []))
        made += len(times)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        all_gaps += [(b - a, a - child["started"]) for a, b in itertools.pairwise(times)]
        worst_gaps.append(max([times[0] - start, *gaps]) if times else end - start)
    delivered = sum(1 for i in ids if i in events and events[i][1] != "no event")
    late = [when for gap, when in all_gaps if gap > LATE_GAP * interval]
    return {
        "contender": contender,
        "n": n,
        "interval": interval,
        "latency": latency,
        "start_delay": child["started"] - submitted,
        "cpu_seconds": child["cpu_seconds"],
        "polls": polls,
        "poll_statuses": polls_by_status,
        "cpu_per_poll_ms": 1000 * child["cpu_seconds"] / polls if polls else None,
        "server_cpu_per_poll_ms": 1000 * server_cpu / polls if polls else None,
        "baseline_rss": child["baseline_rss"],
        "peak_rss": child["peak_rss"],
        "rss_per_waiter": (child["peak_rss"] - child["baseline_rss"]) / n,
        "tcp_connects": child["tcp_connects"],
        "connection_lookups": child["connection_lookups"],
        "delivered": delivered,
        "completed_jobs": len(completed),
        "still_waiting": child["still_waiting"],
        "errors": child["errors"],
        "error_count": child["error_count"],
        "polls_due": due,
        "polls_made_logged": made,
        "schedule_kept": made / due if due else None,
        "worst_gap_p99_s": _percentile(worst_gaps, 0.99),
        "late_gap_share": len(late) / len(all_gaps) if all_gaps else None,
        "late_gap_seconds": sorted({int(when) for when in late}),
        "lag_p50_s": statistics.median(lags) if lags else None,
        "lag_p95_s": _percentile(lags, 0.95),
        "lag_max_s": max(lags) if lags else None,
        "run_seconds": child["ended"] - child["started"],
        "loop_lag_p99_ms": child["loop_lag_p99_ms"],
        "loop_lag_max_ms": child["loop_lag_max_ms"],
    }, log_offset


def run(
    sizes: list[tuple[int, float]],
    contenders: list[str],
    keepalive: float = 75.0,
    profile_dir: Path | None = None,
    repeat: int = 1,
) -> list[dict[str, Any]]:
    """
    Run every contender at every (N, interval); one emulator per size.

    :param sizes: (N, poll interval) pairs.
    :param contenders: which contenders to run.
    :param keepalive: the emulator's keep-alive timeout for idle connections, in seconds.
    :param profile_dir: write a py-spy profile (collapsed stacks) of each child here.
    :param repeat: rounds of all contenders per size (alternating, so that load spikes hit them alike).
    """
    raise_nofile()
    results = []
    for n, interval in sizes:
        latency = 10 * interval if n < 10_000 else 6 * interval
        with tempfile.TemporaryDirectory(prefix="bench-trigger-", dir="/dev/shm") as temp:
            data_dir = Path(temp)
            options = {
                "latency": latency,
                "keepalive_timeout": keepalive,
                "request_log": data_dir / "requests.jsonl",
                "workers": 4,
            }
            with emulator(data_dir, **options) as handle:
                offset = 0
                for contender in [name for _ in range(repeat) for name in contenders]:
                    print(f"  triggerer scale: {contender} N={n} interval={interval}s ...", flush=True)
                    profile = profile_dir / f"{contender}-{n}.folded" if profile_dir else None
                    result, offset = measure(
                        handle, data_dir, contender, n, interval, latency, offset, profile
                    )
                    result["keepalive"] = keepalive
                    results.append(result)
                    print(
                        "   ",
                        json.dumps({k: v for k, v in result.items() if k != "poll_statuses"}),
                        flush=True,
                    )
    return results


def median_runs(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """
    One run per (N, contender): the one with the median CPU per poll, carrying every run's figure
    in ``cpu_per_poll_runs``.

    :param results: what :func:`run` returned, possibly several rounds.
    """
    groups: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        groups[(result["n"], result["contender"])].append(result)
    picked = []
    for runs in groups.values():
        ordered = sorted(runs, key=lambda r: r["cpu_per_poll_ms"] or 0.0)
        median = dict(ordered[(len(ordered) - 1) // 2])
        median["cpu_per_poll_runs"] = [r["cpu_per_poll_ms"] for r in runs]
        picked.append(median)
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("child")
    child.add_argument("--contender", choices=CONTENDERS, required=True)
    child.add_argument("--base-url", required=True)
    child.add_argument("--interval", type=float, required=True)
    child.add_argument("--window", type=float, required=True)
    child.add_argument("--profile", help="write a py-spy profile (collapsed stacks) of the waiting here")
    parser.add_argument("--sizes", default="100:1,1000:1,10000:10", help="N:interval pairs")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--profile-dir", type=Path, help="profile each child with py-spy")
    args = parser.parse_args()
    if args.command == "child":
        child_main(args)
        return
    sizes = [(int(n), float(i)) for n, i in (pair.split(":") for pair in args.sizes.split(","))]
    results = run(sizes, args.contenders.split(","), profile_dir=args.profile_dir)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
