"""
Where the late polls of ``HeyGenExecutionTrigger`` at N = 10,000 and 10 s polling come from (item 1's
"p99 longest gap" goal). The same run as item 1's N = 10,000 heygen column, twice: the emulator and the
waiting process free to share both cores, then pinned to one core each (``os.sched_setaffinity``).

On top of item 1's figures it records, per poll, when the trigger called ``get_execution`` and when
the answer came back (client clock), and the emulator's own event-loop lateness (ten samples a second,
``bench/_loop_probe``). A gap the emulator logged between two polls of one execution longer than
1.2 intervals is then split into: the trigger *sent* the poll late (its call started more than 1.2
intervals after the previous one: its loop woke late, or the previous answer took that long), or the
trigger sent it on time and the request waited before the emulator answered it (in the shared
pool's queue, on the wire, or in a busy emulator). Usage::

    .venv/bin/python bench/bench_exec_lateness.py [--n 10000] [--interval 10] [--out results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import bench_triggerer
from bench._common import (
    ChildProcess,
    emulator,
    heygen_connection,
    http_connection,
    process_cpu_seconds,
    raise_nofile,
    read_loop_lags,
)
from bench.bench_triggerer import HTTP_CONN_ID, LATE_GAP, READY, _percentile


def child_main(args: argparse.Namespace) -> None:
    """``bench_triggerer``'s heygen child, with every ``get_execution`` call timed."""
    raise_nofile()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    bench_triggerer._preimport()
    from airflow_heygen.hooks.heygen_async import HeyGenAsyncHook

    calls: dict[str, list[tuple[float, float]]] = defaultdict(list)
    original = HeyGenAsyncHook.get_execution

    async def timed(self: Any, http: Any, execution_id: str, *rest: Any, **kwargs: Any) -> Any:
        began = time.time()
        try:
            return await original(self, http, execution_id, *rest, **kwargs)
        finally:
            calls[execution_id].append((round(began, 3), round(time.time(), 3)))

    HeyGenAsyncHook.get_execution = timed  # type: ignore[method-assign]
    print(READY, flush=True)
    ids = json.loads(Path(sys.stdin.readline().strip()).read_text())
    result = asyncio.run(bench_triggerer._child("heygen", ids, args.base_url, args.interval, args.window))
    result["calls"] = calls
    print(json.dumps(result))


def measure(
    handle: Any, data_dir: Path, n: int, interval: float, pinned: bool, offset: int
) -> tuple[dict[str, Any], int]:
    """One round: submit, wait in a fresh child, split the late gaps."""
    latency = 6 * interval
    window = latency + 3 * interval + 30
    cpus = sorted(os.sched_getaffinity(0))
    for thread in os.listdir(f"/proc/{handle.pid}/task"):  # every thread of the emulator
        os.sched_setaffinity(int(thread), {cpus[0]} if pinned else set(cpus))
    command = [
        *("bench/bench_exec_lateness.py", "child", "--base-url", handle.base_url),
        *("--interval", str(interval), "--window", str(window)),
        *(("--cpu", str(cpus[-1])) if pinned else ()),
    ]
    env = {
        "AIRFLOW_CONN_HEYGEN_DEFAULT": heygen_connection(handle.base_url),
        f"AIRFLOW_CONN_{HTTP_CONN_ID.upper()}": http_connection(handle.base_url),
    }
    with ChildProcess(command, env) as child_process:
        child_process.wait_for(READY)
        ids = bench_triggerer.submit(handle, n)
        ids_file = data_dir / f"ids-{n}-{pinned}.json"
        ids_file.write_text(json.dumps(ids))
        _, offset = bench_triggerer._read_new_polls(data_dir / "requests.jsonl", offset)
        server_cpu_before = process_cpu_seconds(handle.pid)
        child_process.send(str(ids_file))
        child = child_process.result(timeout=window + 300)
    server_cpu = process_cpu_seconds(handle.pid) - server_cpu_before
    logged, offset = bench_triggerer._read_new_polls(data_dir / "requests.jsonl", offset)
    started, ended = child["started"], child["ended"]
    late_limit = LATE_GAP * interval
    worst_server, worst_client = [], []
    late = sent_late = slow_answer = waited_for_answer = 0
    transit: list[float] = []  # client call start -> emulator logged it
    answer_times: list[float] = []  # client call start -> answer back
    late_seconds: dict[str, list[int]] = {"sent late": [], "answered late": []}
    for execution_id in ids:
        server = sorted(logged.get(execution_id, []))
        client = child["calls"].get(execution_id, [])
        worst_server.append(max((b - a for a, b in itertools.pairwise(server)), default=0.0))
        worst_client.append(max((b[0] - a[0] for a, b in itertools.pairwise(client)), default=0.0))
        for began, back in client:
            answer_times.append(back - began)
        for (began, _back), seen in zip(client, server, strict=False):
            transit.append(seen - began)
        for index in range(1, min(len(server), len(client))):
            if server[index] - server[index - 1] <= late_limit:
                continue
            late += 1
            previous_began, previous_back = client[index - 1]
            when = int(server[index - 1] - started)
            if client[index][0] - previous_began > late_limit:
                sent_late += 1
                late_seconds["sent late"].append(when)
                # The call began as soon as it was due, unless its loop woke late; it was due one
                # interval after the previous began, or at once if that answer took longer.
                if previous_back - previous_began > interval:
                    slow_answer += 1
            else:
                waited_for_answer += 1
                late_seconds["answered late"].append(when)
    emulator_lags = read_loop_lags(data_dir / "loop-lag.txt", started, ended)
    emulator_by_second: dict[int, float] = {}
    for when, lag in emulator_lags:
        second = int(when - started)
        emulator_by_second[second] = max(emulator_by_second.get(second, 0.0), 1000 * lag)
    return {
        "pinned": pinned,
        "n": n,
        "interval": interval,
        "run_seconds": ended - started,
        "client_cpu_seconds": child["cpu_seconds"],
        "server_cpu_seconds": server_cpu,
        "polls_logged": sum(len(v) for v in logged.values()),
        "worst_gap_p99_s (emulator log)": _percentile(worst_server, 0.99),
        "worst_gap_p99_s (client call starts)": _percentile(worst_client, 0.99),
        "late_gaps": late,
        "late_gaps_sent_late": sent_late,
        "late_gaps_sent_late_after_slow_answer": slow_answer,
        "late_gaps_sent_on_time_answered_late": waited_for_answer,
        "transit_p50_s": _percentile(transit, 0.5),
        "transit_p99_s": _percentile(transit, 0.99),
        "transit_max_s": max(transit, default=None),
        "answer_p50_s": _percentile(answer_times, 0.5),
        "answer_p99_s": _percentile(answer_times, 0.99),
        "answer_max_s": max(answer_times, default=None),
        "client_loop_lag_p99_ms": child["loop_lag_p99_ms"],
        "client_loop_lag_max_ms": child["loop_lag_max_ms"],
        "emulator_loop_lag_p99_ms": 1000 * (_percentile([lag for _, lag in emulator_lags], 0.99) or 0.0),
        "emulator_loop_lag_max_ms": 1000 * max((lag for _, lag in emulator_lags), default=0.0),
        "late_gap_seconds": {k: sorted(set(v)) for k, v in late_seconds.items()},
        "client_loop_lag_by_second": child["loop_lag_by_second"],
        "emulator_loop_lag_by_second": {str(k): round(v, 1) for k, v in sorted(emulator_by_second.items())},
        "tcp_connects": child["tcp_connects"],
        "peak_rss": child["peak_rss"],
    }, offset


def run(n: int, interval: float, rounds: list[bool]) -> list[dict[str, Any]]:
    """Rounds of ``n`` waits on one emulator: ``True`` pinned, ``False`` free."""
    raise_nofile()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-lateness-", dir="/dev/shm") as temp:
        data_dir = Path(temp)
        options = {
            "latency": 6 * interval,
            "keepalive_timeout": 75.0,
            "request_log": data_dir / "requests.jsonl",
            "workers": 4,
        }
        with emulator(data_dir, loop_lag_file=data_dir / "loop-lag.txt", **options) as handle:
            offset = 0
            for pinned in rounds:
                print(f"  lateness: N={n} interval={interval}s pinned={pinned} ...", flush=True)
                result, offset = measure(handle, data_dir, n, interval, pinned, offset)
                results.append(result)
                brief = {k: v for k, v in result.items() if "by_second" not in k}
                print("   ", json.dumps(brief), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("child")
    child.add_argument("--base-url", required=True)
    child.add_argument("--interval", type=float, required=True)
    child.add_argument("--window", type=float, required=True)
    child.add_argument("--cpu", type=int)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--rounds", default="free,pinned", help="free and/or pinned, in order")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.command == "child":
        child_main(args)
        return
    results = run(args.n, args.interval, [name == "pinned" for name in args.rounds.split(",")])
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
