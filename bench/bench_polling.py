"""
Item 2, polling efficiency: status requests per execution and completion-to-event latency for jobs of
1-3 minutes polled every 10 s, time-compressed 10x (jobs of 6-18 s polled every second). Executions
arrive one after another, as deferred tasks reach a triggerer, and each is waited for by:

* ``heygen``: ``HeyGenExecutionTrigger`` with its learned first wait (the default);
* ``heygen_fixed``: the same trigger polling strictly every interval (``learn_first_wait = False``);
* ``http_event``: the HTTP provider's ``HttpEventTrigger`` with an async response check on the status.

Usage::

    .venv/bin/python bench/bench_polling.py [--count 120] [--span 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    API_KEY,
    EXECUTIONS,
    ChildProcess,
    emulator,
    heygen_connection,
    http_connection,
    raise_nofile,
)
from bench.bench_triggerer import (
    HTTP_CONN_ID,
    READY,
    _completion_times,
    _percentile,
    _preimport,
    _read_new_polls,
    _waiter_factory,
)

CONTENDERS = ("heygen", "heygen_fixed", "http_event")
COMPRESSION = 10  # measured seconds x 10 = real seconds
LATENCY = "6-18"  # 1-3 minutes, compressed
INTERVAL = 1.0  # 10 s, compressed


async def _child(contender: str, base_url: str, count: int, span: float, window: float) -> dict[str, Any]:
    import aiohttp

    started = time.time()
    wait = _waiter_factory(contender, base_url, INTERVAL, deadline=started + span + window)
    events: dict[str, tuple[float, str]] = {}
    starts: dict[str, float] = {}

    async def one(execution_id: str) -> None:
        status = await wait(execution_id)
        events[execution_id] = (time.time(), status)

    body = {
        "workflow_type": "FaceswapNode",
        "input": {
            "source_image_url": f"{base_url}/samples/face.jpg",
            "target_video_url": f"{base_url}/samples/target.mp4",
        },
    }
    tasks = []
    async with aiohttp.ClientSession(base_url, headers={"X-Api-Key": API_KEY}) as submitter:
        for index in range(count):
            await asyncio.sleep(max(0.0, started + span * index / count - time.time()))
            async with submitter.post(EXECUTIONS, json=body) as response:
                execution_id = str((await response.json())["data"]["execution_id"])
            starts[execution_id] = time.time()
            tasks.append(asyncio.ensure_future(one(execution_id)))
        _done, pending = await asyncio.wait(tasks, timeout=window)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return {"events": events, "starts": starts, "still_waiting": len(pending)}


def child_main(args: argparse.Namespace) -> None:
    """Import everything, say ``READY``, wait for a line on stdin, then run and print one JSON line."""
    raise_nofile()
    _preimport()
    print(READY, flush=True)
    sys.stdin.readline()
    print(json.dumps(asyncio.run(_child(args.contender, args.base_url, args.count, args.span, args.window))))


def run(count: int, span: float, contenders: list[str]) -> list[dict[str, Any]]:
    """
    Run every contender on its own stream of ``count`` executions arriving over ``span`` seconds.

    :param count: executions per contender.
    :param span: seconds over which they arrive.
    :param contenders: which contenders to run.
    """
    raise_nofile()
    window = 18 + 10 * INTERVAL + 30
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-polling-", dir="/dev/shm") as temp:
        data_dir = Path(temp)
        log = data_dir / "requests.jsonl"
        with emulator(data_dir, latency=LATENCY, request_log=log, workers=4) as handle:
            offset = 0
            for contender in contenders:
                print(f"  polling efficiency: {contender} ...", flush=True)
                command = [
                    *("bench/bench_polling.py", "child", "--contender", contender),
                    *("--base-url", handle.base_url, "--count", str(count), "--span", str(span)),
                    *("--window", str(window)),
                ]
                env = {
                    "AIRFLOW_CONN_HEYGEN_DEFAULT": heygen_connection(handle.base_url),
                    f"AIRFLOW_CONN_{HTTP_CONN_ID.upper()}": http_connection(handle.base_url),
                }
                with ChildProcess(command, env) as child_process:
                    child_process.wait_for(READY)
                    _, offset = _read_new_polls(log, offset)
                    child_process.send("go")
                    child = child_process.result(timeout=span + window + 300)
                polls, offset = _read_new_polls(log, offset)
                ids = list(child["starts"])
                completed = _completion_times(data_dir, ids)
                events = child["events"]
                # Steady state: executions that arrived once a quarter of the stream had gone by.
                warm = [i for i in ids if child["starts"][i] >= child["starts"][ids[0]] + span / 4]
                results.append(
                    {
                        "contender": contender,
                        **_figures(ids, polls, completed, events, "all"),
                        **_figures(warm, polls, completed, events, "warm"),
                        "still_waiting": child["still_waiting"],
                    }
                )
                print("   ", json.dumps(results[-1]), flush=True)
    return results


def _figures(
    ids: list[str],
    polls: dict[str, list[float]],
    completed: dict[str, float],
    events: dict[str, list[Any]],
    label: str,
) -> dict[str, Any]:
    lags = [events[i][0] - completed[i] for i in ids if i in events and i in completed]
    requests = [len(polls.get(i, [])) for i in ids]
    return {
        f"{label}_executions": len(ids),
        f"{label}_requests_per_execution": statistics.mean(requests) if requests else None,
        f"{label}_lag_p50_s": statistics.median(lags) if lags else None,
        f"{label}_lag_p95_s": _percentile(lags, 0.95),
        f"{label}_lag_max_s": max(lags) if lags else None,
        f"{label}_delivered": len(lags),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("child")
    child.add_argument("--contender", choices=CONTENDERS, required=True)
    child.add_argument("--base-url", required=True)
    child.add_argument("--count", type=int, required=True)
    child.add_argument("--span", type=float, required=True)
    child.add_argument("--window", type=float, required=True)
    parser.add_argument("--count", type=int, default=120, help="executions per contender (default 120)")
    parser.add_argument("--span", type=float, default=40.0, help="seconds over which they arrive")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    if args.command == "child":
        child_main(args)
        return
    results = run(args.count, args.span, args.contenders.split(","))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
