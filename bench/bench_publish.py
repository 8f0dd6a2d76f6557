"""
Item 4, publishing: peak memory and throughput of ``HeyGenPublishVideoOperator`` copying a 1 GiB video
from the emulator to ``file://``, against ``curl -o`` of the same URL. Source and destinations live in
``/dev/shm`` so that disk speed does not decide; runs alternate (ours, curl, ours, ...) and the median
is kept. Our side runs the operator's ``execute()`` in a fresh child process, sampling its resident
memory every 20 ms. CPU seconds (user + system, all threads) are recorded for both sides too: on a
shared machine they move much less with other load than wall time does. Usage::

    .venv/bin/python bench/bench_publish.py [--size-mib 1024] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ChildProcess, emulator, heygen_connection, rss_bytes, sampling_profile

READY = "READY"
VIDEO_NAME = "bench-publish.mp4"


class _OutletEvents(dict):  # type: ignore[type-arg]
    """Enough of Airflow's ``outlet_events`` for the operator to announce its asset."""

    def __missing__(self, key: object) -> Any:
        class Accessor:
            extra: dict[str, Any] = {}

            def add(self, asset: object, extra: dict[str, Any] | None = None) -> None:
                pass

        self[key] = Accessor()
        return self[key]


def child_main(args: argparse.Namespace) -> None:
    """Build the operator, say ``READY``, read a destination per line and publish to it; print JSON."""
    from airflow_heygen.operators.heygen import HeyGenPublishVideoOperator
    from airflow_heygen.publishing import VideoPublisher  # noqa: F401 - what execute() imports

    print(READY, flush=True)
    destination = sys.stdin.readline().strip()
    operator = HeyGenPublishVideoOperator(
        task_id="publish", video_url=args.url, destination=destination, overwrite=True
    )
    baseline = rss_bytes()
    peak = baseline
    running = True

    def sample() -> None:
        nonlocal peak
        while running:
            peak = max(peak, rss_bytes())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with sampling_profile(args.profile) if args.profile else contextlib.nullcontext():
        started, cpu_started = time.perf_counter(), time.process_time()
        result = operator.execute({"outlet_events": _OutletEvents()})  # type: ignore[arg-type]
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    running = False
    sampler.join()
    peak = max(peak, rss_bytes())
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "baseline_rss": baseline,
                "peak_rss": peak,
                "result": result,
            }
        )
    )


def _write_video(path: Path, size_mib: int) -> str:
    """A ``size_mib`` MiB file of incompressible bytes; returns its sha256."""
    block = os.urandom(16 * 2**20)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for index in range(size_mib // 16):
            chunk = block[index % 7 :] + block[: index % 7]  # blocks differ, cheaply
            out.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


def _sha256_speed(path: Path, mib: int = 256) -> float:
    """MiB/s of hashlib's sha256 alone over ``mib`` MiB of ``path``, in 1 MiB updates, as the copy does."""
    with path.open("rb") as source:
        chunks = [source.read(2**20) for _ in range(mib)]
    digest = hashlib.sha256()
    started = time.perf_counter()
    for chunk in chunks:
        digest.update(chunk)
    return mib / (time.perf_counter() - started)


def _ours(url: str, base_url: str, destination: Path, profile: Path | None = None) -> dict[str, Any]:
    env = {"AIRFLOW_CONN_HEYGEN_DEFAULT": heygen_connection(base_url)}
    command = [
        "bench/bench_publish.py",
        "child",
        "--url",
        url,
        *(["--profile", str(profile)] if profile else []),
    ]
    with ChildProcess(command, env) as child:
        child.wait_for(READY)
        child.send(f"file://{destination}")
        return dict(child.result(timeout=600))


def _peak_rss(pid: int) -> int | None:
    """``VmHWM`` (peak resident memory) of a running process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _curl(url: str, destination: Path) -> dict[str, Any]:
    """``curl -o``: wall time, and its peak memory sampled from ``/proc`` while it runs (``wait4``'s
    ``ru_maxrss`` would count the forked Python parent's pages before ``exec``); its CPU seconds from
    the growth of this process's ``RUSAGE_CHILDREN`` (the emulator, still running, is not in it)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(["curl", "-sS", "--fail", "-o", str(destination), url])
    peak = 0
    while process.poll() is None:
        peak = max(peak, _peak_rss(process.pid) or 0)
        time.sleep(0.005)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"curl exited with {process.returncode}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss": peak}


def run(size_mib: int = 1024, repeat: int = 3, profile: Path | None = None) -> dict[str, Any]:
    """
    Publish a ``size_mib`` MiB video ``repeat`` times with each tool, alternating.

    :param size_mib: size of the video (a multiple of 16).
    :param repeat: runs per tool.
    :param profile: also profile one more run of ours with py-spy, writing collapsed stacks here.
    """
    with tempfile.TemporaryDirectory(prefix="bench-publish-", dir="/dev/shm") as temp:
        data_dir = Path(temp) / "emulator"
        (data_dir / "media").mkdir(parents=True)
        sha256 = _write_video(data_dir / "media" / VIDEO_NAME, size_mib)
        size = size_mib * 2**20
        ours: list[dict[str, Any]] = []
        curl: list[dict[str, Any]] = []
        with emulator(data_dir) as handle:
            url = handle.url(f"/media/{VIDEO_NAME}")
            for index in range(repeat):
                destination = Path(temp) / f"ours-{index}.mp4"
                mine = _ours(url, handle.base_url, destination)
                if mine["result"]["sha256"] != sha256 or mine["result"]["bytes"] != size:
                    raise RuntimeError(f"the published copy differs from the source: {mine['result']}")
                destination.unlink()
                ours.append(mine)
                destination = Path(temp) / f"curl-{index}.mp4"
                curl.append(_curl(url, destination))
                if destination.stat().st_size != size:
                    raise RuntimeError("curl's copy has the wrong size")
                destination.unlink()
                mine_s, curl_s = ours[-1]["seconds"], curl[-1]["seconds"]
                mine_cpu, curl_cpu = ours[-1]["cpu_seconds"], curl[-1]["cpu_seconds"]
                print(
                    f"  publishing run {index + 1}: ours {mine_s:.2f}s (cpu {mine_cpu:.2f}s), "
                    f"curl {curl_s:.2f}s (cpu {curl_cpu:.2f}s), load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            sha256_mib_s = _sha256_speed(data_dir / "media" / VIDEO_NAME)
            if profile is not None:
                destination = Path(temp) / "profiled.mp4"
                _ours(url, handle.base_url, destination, profile)
                destination.unlink()
    ours_seconds = statistics.median(row["seconds"] for row in ours)
    curl_seconds = statistics.median(row["seconds"] for row in curl)
    return {
        "size": size,
        "repeat": repeat,
        "ours_seconds": ours_seconds,
        "curl_seconds": curl_seconds,
        "ours_mib_s": size / 2**20 / ours_seconds,
        "curl_mib_s": size / 2**20 / curl_seconds,
        "ours_rss_growth": statistics.median(row["peak_rss"] - row["baseline_rss"] for row in ours),
        "ours_peak_rss": statistics.median(row["peak_rss"] for row in ours),
        "ours_baseline_rss": statistics.median(row["baseline_rss"] for row in ours),
        "curl_peak_rss": statistics.median(row["peak_rss"] for row in curl),
        "ratio_of_medians": curl_seconds / ours_seconds,
        "ratio_per_run": [
            theirs["seconds"] / mine["seconds"] for mine, theirs in zip(ours, curl, strict=True)
        ],
        "ours_cpu_seconds": statistics.median(row["cpu_seconds"] for row in ours),
        "curl_cpu_seconds": statistics.median(row["cpu_seconds"] for row in curl),
        "all_seconds": {"ours": [row["seconds"] for row in ours], "curl": [row["seconds"] for row in curl]},
        "sha256_mib_s": sha256_mib_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("child")
    child.add_argument("--url", required=True)
    child.add_argument("--profile", help="write a py-spy profile (collapsed stacks) of the copy here")
    parser.add_argument("--size-mib", type=int, default=1024, help="video size in MiB (default 1024)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool (default 3)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--profile", type=Path, help="profile one more run of ours with py-spy")
    args = parser.parse_args()
    if args.command == "child":
        child_main(args)
        return
    results = run(args.size_mib, args.repeat, args.profile)
    print(json.dumps(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
