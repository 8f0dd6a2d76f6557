"""
Item 6, the bulk poller: N ``HeyGenJobTrigger`` waits for v3 videos in one event loop (as a triggerer
runs them) against the emulator in stub mode, the jobs finishing at spread times. Contenders, same N,
same poll interval, same arrival offsets, each in a fresh child process:

* ``bulk``: ``HeyGenJobTrigger`` reading through the shared bulk poller (``GET /v3/videos/statuses``
  of at most 100 ids; a completed video read once singly for its URL);
* ``single``: the same trigger with ``bulk_polling = False`` (one ``GET /v3/videos/{id}`` per poll);
* ``http_sensor``: ``HttpSensorTrigger`` polling the single-video endpoint; it can only wait for a
  non-404, so it polls the URL of an id that stays unknown for as long as the jobs run (no events);
* ``floor``: a bare poller, one aiohttp session per waiter, one GET + JSON parse per interval;
* ``idle``: no waiter at all; the jobs are created and complete as in the other runs. The emulator's
  CPU meanwhile (completing and storing jobs, its own timers) is not the cost of waiting, so the
  emulator CPU goal compares each contender's emulator CPU less this baseline;
* ``bulk_wide`` (optional): the 0.1 s-window experiment; 0.1 s is now the provider's default,
  so it equals ``bulk``.

Plus a storm: ``bulk`` while 20 % of the emulator's answers are 503 and 10 % 429 (``Retry-After: 1``).

The measurement loop is ``bench_triggerer._child``; the emulator's request log says when each job was
read (a bulk answer reads every id in it), its job records when each job completed, and
``/proc/<pid>/stat`` its CPU time. Usage::

    .venv/bin/python bench/bench_bulk_poller.py [--sizes 1000:1,10000:10] [--contenders ...] [--storm]
        [--out results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import bench_triggerer
from bench._common import (
    API_KEY,
    ChildProcess,
    emulator,
    heygen_connection,
    http_connection,
    process_cpu_seconds,
    raise_nofile,
    read_loop_lags,
    sampling_profile,
)
from bench.bench_triggerer import HTTP_CONN_ID, READY, SENSOR_SUFFIX, Waiter, _percentile

CONTENDERS = ("idle", "bulk", "single", "http_sensor", "floor")
VIDEOS = "/v3/videos"
STATUSES = VIDEOS + "/statuses"
TERMINAL = ("completed", "failed")
LATE_GAP = 1.2  # a job is read on schedule when it never goes longer than this many intervals unread
STORM = {"error_rate": 0.2, "rate_limit_rate": 0.1}
BATCH = 100  # videos per POST /v3/videos/batches


# --------------------------------------------------------------------------------------------- child


def waiter_factory(contender: str, base_url: str, interval: float, deadline: float) -> Waiter:
    """A coroutine function that waits for one video the contender's way and returns what it got."""
    if contender in ("bulk", "single", "storm", "bulk_wide"):
        from airflow_heygen.triggers import bulk
        from airflow_heygen.triggers.jobs import HeyGenJobTrigger

        HeyGenJobTrigger.bulk_polling = contender != "single"
        if contender == "bulk_wide":  # the experiment that made 0.1 s the provider's window (was 0.05 s)
            bulk.COALESCE_SECONDS = 0.1

        async def job_trigger(video_id: str) -> str:
            trigger = HeyGenJobTrigger("video", video_id, poll_interval=interval, deadline=deadline)
            # Every event, not just the first: a second one would be a bug ("+" joins them).
            statuses = [str(event.payload["status"]) async for event in trigger.run()]
            return "+".join(statuses) or "no event"

        return job_trigger
    if contender == "http_sensor":
        return bench_triggerer.http_sensor_waiter(VIDEOS[1:], interval)
    if contender == "floor":
        return bench_triggerer.floor_waiter(f"{base_url}{VIDEOS}", interval)
    raise ValueError(f"unknown contender {contender!r}")


def child_main(args: argparse.Namespace) -> None:
    """Import everything, say ``READY``, read the ids file's path, wait, print the figures as JSON."""
    raise_nofile()
    bench_triggerer._preimport()
    import airflow_heygen.triggers.bulk
    import airflow_heygen.triggers.jobs  # noqa: F401

    print(READY, flush=True)
    ids = json.loads(Path(sys.stdin.readline().strip()).read_text())
    coroutine = bench_triggerer._child(
        args.contender, ids, args.base_url, args.interval, args.window, factory=waiter_factory
    )
    # HEYGEN_BENCH_PROFILE=<prefix>: a py-spy profile of each contender to <prefix>.<contender>.folded.
    profile = os.environ.get("HEYGEN_BENCH_PROFILE")
    with sampling_profile(f"{profile}.{args.contender}.folded") if profile else contextlib.nullcontext():
        result = asyncio.run(coroutine)
    print(json.dumps(result))


# -------------------------------------------------------------------------------------------- parent


async def _create_videos(base_url: str, sample_url: str, count: int) -> list[str]:
    import aiohttp

    video = {"type": "avatar", "avatar_id": "Angela-inblackskirt-20220820", "audio_url": sample_url}
    connector = aiohttp.TCPConnector(limit=4)
    async with aiohttp.ClientSession(base_url, headers={"X-Api-Key": API_KEY}, connector=connector) as http:

        async def batch(size: int) -> list[str]:
            async with http.post(f"{VIDEOS}/batches", json={"videos": [video] * size}) as response:
                response.raise_for_status()
                return [str(item["video_id"]) for item in (await response.json())["data"]["items"]]

        sizes = [min(BATCH, count - start) for start in range(0, count, BATCH)]
        batches = await asyncio.gather(*(batch(size) for size in sizes))
        return [video_id for ids in batches for video_id in ids]


def create_videos(handle: Any, count: int) -> list[str]:
    """Create ``count`` v3 avatar videos in batches of 100 (the emulator's fastest way) and return ids."""
    return asyncio.run(_create_videos(handle.base_url, handle.sample_url("speech.wav"), count))


def _read_log(log_path: Path, offset: int) -> tuple[dict[str, list[float]], dict[str, int], int]:
    """
    From ``offset`` on: when each video was read (a successful single GET, a bulk answer naming it, or
    the sensor's 404 of its unknown id), requests by kind and status, and the new offset.
    """
    reads: dict[str, list[float]] = defaultdict(list)
    requests: dict[str, int] = defaultdict(int)
    with log_path.open("rb") as log:
        log.seek(offset)
        for line in log:
            entry = json.loads(line)
            if entry["method"] != "GET" or not entry["path"].startswith(VIDEOS + "/"):
                continue
            url = urlsplit(entry["path"])
            bulk = url.path == STATUSES
            requests[f"{'bulk' if bulk else 'single'} {entry['status']}"] += 1
            if bulk and entry["status"] == 200:
                for video_id in parse_qs(url.query).get("video_ids", [""])[0].split(","):
                    reads[video_id].append(entry["time"])
            elif not bulk and entry["status"] in (200, 404):
                reads[url.path.rsplit("/", 1)[1].removesuffix(SENSOR_SUFFIX)].append(entry["time"])
        return reads, dict(requests), log.tell()


def _completions(data_dir: Path, ids: list[str]) -> dict[str, float]:
    done = {}
    for video_id in ids:
        record = json.loads((data_dir / "v3" / "jobs" / f"{video_id}.json").read_text())
        if record["status"] in TERMINAL and record.get("completed_at"):
            done[video_id] = float(record["completed_at"])
    return done


def measure_idle(
    handle: Any, data_dir: Path, n: int, interval: float, latest: float, log_offset: int
) -> tuple[dict[str, Any], int]:
    """The emulator's CPU while ``n`` videos run to completion and nobody waits for them."""
    ids = create_videos(handle, n)
    handle.reset_stats()
    server_cpu_before = process_cpu_seconds(handle.pid)
    started = time.time()
    time.sleep(latest + interval)
    server_cpu = process_cpu_seconds(handle.pid) - server_cpu_before
    ended = time.time()
    _, requests, log_offset = _read_log(data_dir / "requests.jsonl", log_offset)
    result = {
        "contender": "idle",
        "n": n,
        "interval": interval,
        "run_seconds": ended - started,
        "server_cpu_seconds": server_cpu,
        "completed_jobs": len(_completions(data_dir, ids)),
        "requests": requests,
    }
    return result, log_offset


def measure(
    handle: Any,
    data_dir: Path,
    contender: str,
    n: int,
    interval: float,
    latest: float,
    log_offset: int,
) -> tuple[dict[str, Any], int]:
    """Start a child, create ``n`` videos, let the child wait for them, and derive the figures."""
    # The sensor never ends by itself: it polls for as long as the jobs run, plus one interval.
    window = latest + interval if contender == "http_sensor" else latest + 3 * interval + 30
    if contender == "storm":
        window += 60  # retries of 429s and 503s back off
    command = [
        *("bench/bench_bulk_poller.py", "child", "--contender", contender, "--base-url", handle.base_url),
        *("--interval", str(interval), "--window", str(window)),
    ]
    env = {
        "AIRFLOW_CONN_HEYGEN_DEFAULT": heygen_connection(handle.base_url),
        f"AIRFLOW_CONN_{HTTP_CONN_ID.upper()}": http_connection(handle.base_url),
    }
    with ChildProcess(command, env) as child_process:
        child_process.wait_for(READY)
        ids = create_videos(handle, n)
        created = time.time()
        ids_file = data_dir / f"ids-{contender}-{n}.json"
        ids_file.write_text(json.dumps(ids))
        _, _, log_offset = _read_log(data_dir / "requests.jsonl", log_offset)
        handle.reset_stats()
        if contender == "storm":
            handle.set_faults(**STORM)
        server_cpu_before = process_cpu_seconds(handle.pid)
        child_process.send(str(ids_file))
        try:
            child = child_process.result(timeout=window + 300)
        finally:
            if contender == "storm":
                handle.set_faults(error_rate=0.0, rate_limit_rate=0.0)
    server_cpu = process_cpu_seconds(handle.pid) - server_cpu_before
    stats = handle.stats()
    reads, requests, log_offset = _read_log(data_dir / "requests.jsonl", log_offset)
    completed = _completions(data_dir, ids)
    events = child["events"]
    started, ended = child["started"], child["ended"]

    job_intervals = 0.0  # the waiting: sum over jobs of (event or end - arrival) / interval
    on_schedule = 0
    worst_gaps = []
    for video_id in ids:
        start = child["starts"].get(video_id, ended)
        end = events[video_id][0] if video_id in events else ended
        job_intervals += max(0.0, end - start) / interval
        times = sorted(t for t in reads.get(video_id, []) if t >= start - 0.01)
        gaps = [b - a for a, b in itertools.pairwise([start, *times])]
        if times and end - times[-1] > interval:  # unread since its last read, and still waiting
            gaps.append(end - times[-1])
        worst = max(gaps) if gaps else end - start
        worst_gaps.append(worst)
        on_schedule += worst <= LATE_GAP * interval
    statuses = defaultdict(int)
    for _when, status in events.values():
        statuses[status] += 1
    lags = [events[i][0] - completed[i] for i in ids if i in events and i in completed]
    early = [
        i for i in ids if i in events and "success" in events[i][1] and events[i][0] < completed.get(i, 1e18)
    ]
    twice = sum(count for status, count in statuses.items() if "+" in status)
    total_requests = sum(requests.values())
    answered = sum(count for key, count in requests.items() if key.endswith((" 200", " 404")))
    bulk_requests = sum(count for key, count in requests.items() if key.startswith("bulk"))
    per_request = contender in ("single", "http_sensor", "floor")
    emulator_lags = [late for _, late in read_loop_lags(data_dir / "loop-lag.txt", started, ended)]
    bulk_stats = stats.get("bulk_statuses", {}).get("video", {})
    result = {
        "contender": contender,
        "n": n,
        "interval": interval,
        "latest_completion": latest,
        "start_delay": started - created,
        "run_seconds": ended - started,
        "job_intervals": job_intervals,
        "cpu_seconds": child["cpu_seconds"],
        "cpu_share_of_a_core": child["cpu_seconds"] / max(ended - started, 1e-9),
        "server_cpu_seconds": server_cpu,
        "requests": requests,
        "requests_total": total_requests,
        "requests_answered": answered,
        "bulk_requests": bulk_requests,
        "single_requests": total_requests - bulk_requests,
        "ids_per_bulk_request": statistics.mean(bulk_stats["ids_per_request"])
        if bulk_stats.get("ids_per_request")
        else None,
        "faults": stats.get("faults"),
        # Per waiting job per interval; a per-request contender's own figure (cost per answered poll)
        # is what one job-interval costs it when it keeps its schedule.
        "cpu_per_job_interval_ms": 1000 * child["cpu_seconds"] / job_intervals if job_intervals else None,
        "cpu_per_answered_request_ms": 1000 * child["cpu_seconds"] / answered if answered else None,
        "requests_per_job_interval": total_requests / job_intervals if job_intervals else None,
        "bulk_requests_per_job_interval": bulk_requests / job_intervals if job_intervals else None,
        "server_cpu_per_job_interval_ms": 1000 * server_cpu / job_intervals if job_intervals else None,
        "server_cpu_per_answered_request_ms": 1000 * server_cpu / answered if answered else None,
        "per_request": per_request,
        "on_schedule_share": on_schedule / n,
        "worst_gap_p99_s": _percentile(worst_gaps, 0.99),
        "events": dict(statuses),
        "delivered": sum(count for status, count in statuses.items() if status != "no event"),
        "completed_jobs": len(completed),
        "early": len(early),
        "twice": twice,
        "failed_triggers": sum(count for status, count in statuses.items() if "error" in status)
        + child["error_count"],
        "timeouts": sum(count for status, count in statuses.items() if "timeout" in status),
        "errors": child["errors"],
        "still_waiting": child["still_waiting"],
        "lag_p50_s": statistics.median(lags) if lags else None,
        "lag_p99_s": _percentile(lags, 0.99),
        "lag_max_s": max(lags) if lags else None,
        "baseline_rss": child["baseline_rss"],
        "peak_rss": child["peak_rss"],
        "tcp_connects": child["tcp_connects"],
        "loop_lag_p99_ms": child["loop_lag_p99_ms"],
        "loop_lag_max_ms": child["loop_lag_max_ms"],
        "emulator_loop_lag_p99_ms": 1000 * (_percentile(emulator_lags, 0.99) or 0.0),
        "emulator_loop_lag_max_ms": 1000 * max(emulator_lags, default=0.0),
    }
    return result, log_offset


def run(
    sizes: list[tuple[int, float]], contenders: list[str], storm_n: int | None = None
) -> list[dict[str, Any]]:
    """
    Run every contender at every (N, interval), one emulator per size, then the storm (``bulk`` under
    503s and 429s) at ``storm_n`` waits of the last size's interval.

    :param sizes: (N, poll interval) pairs.
    :param contenders: which contenders to run.
    :param storm_n: waits of the storm row; None runs no storm.
    """
    raise_nofile()
    plan = [(n, interval, contenders) for n, interval in sizes]
    if storm_n:
        plan.append((storm_n, sizes[-1][1], ["storm"]))
    results = []
    for n, interval, names in plan:
        # Jobs finish 3 to 9 intervals after they are created (1 s) or 2 to 6 (10 s), uniformly spread.
        low, high = (3 * interval, 9 * interval) if interval < 10 else (2 * interval, 6 * interval)
        with tempfile.TemporaryDirectory(prefix="bench-bulk-", dir="/dev/shm") as temp:
            data_dir = Path(temp)
            options = {
                "latency": f"{low:g}-{high:g}",
                "keepalive_timeout": 75.0,
                "request_log": data_dir / "requests.jsonl",
                "workers": 4,
                "seed": 7,
            }
            with emulator(data_dir, loop_lag_file=data_dir / "loop-lag.txt", **options) as handle:
                offset = 0
                for contender in names:
                    print(f"  bulk poller: {contender} N={n} interval={interval}s ...", flush=True)
                    if contender == "idle":
                        result, offset = measure_idle(handle, data_dir, n, interval, high, offset)
                    else:
                        result, offset = measure(handle, data_dir, contender, n, interval, high, offset)
                    results.append(result)
                    print("   ", json.dumps(result), flush=True)
    return results


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def summary(results: list[dict[str, Any]]) -> str:
    """A plain-text table of the main figures, one column per run."""
    keys = [
        "cpu_per_job_interval_ms",
        "cpu_per_answered_request_ms",
        "requests_per_job_interval",
        "bulk_requests_per_job_interval",
        "server_cpu_per_job_interval_ms",
        "server_cpu_per_answered_request_ms",
        "on_schedule_share",
        "worst_gap_p99_s",
        "lag_p99_s",
        "peak_rss",
        "delivered",
        "early",
        "twice",
        "failed_triggers",
        "cpu_share_of_a_core",
        "loop_lag_p99_ms",
        "emulator_loop_lag_p99_ms",
    ]
    header = ["figure", *(f"{r['contender']} N={r['n']}" for r in results)]
    rows = [header] + [[key, *(_fmt(r.get(key)) for r in results)] for key in keys]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("child")
    child.add_argument("--contender", choices=(*CONTENDERS[1:], "storm", "bulk_wide"), required=True)
    child.add_argument("--base-url", required=True)
    child.add_argument("--interval", type=float, required=True)
    child.add_argument("--window", type=float, required=True)
    parser.add_argument("--sizes", default="1000:1,10000:10", help="N:interval pairs")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--storm", type=int, default=0, help="waits of the storm row (0: none)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    if args.command == "child":
        child_main(args)
        return
    sizes = [(int(n), float(i)) for n, i in (pair.split(":") for pair in args.sizes.split(","))]
    results = run(sizes, args.contenders.split(","), storm_n=args.storm or None)
    print(summary(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
