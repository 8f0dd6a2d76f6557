"""
Run every benchmark once and write ``BENCHMARKS.md`` (``make bench``). Benchmarks print figures; they
are not tests and gate nothing. Each item compares us with a peer within this one run, because a shared
machine's absolute figures drift from minute to minute.

Usage::

    .venv/bin/python bench/run_all.py [--only scale,polling,parse,publish,render,bulk] [--quick]
        [--json results.json] [--from-json results.json] [--output BENCHMARKS.md]

``--quick`` shrinks every item (N = 100 and 1,000 only, a 64 MiB video, few frames) to check the
harness; ``--from-json`` rewrites the Markdown from an earlier run's saved figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import (
    bench_bulk_poller,
    bench_dag_parse,
    bench_exec_lateness,
    bench_polling,
    bench_publish,
    bench_triggerer,
)
from bench._common import BENCH, PYTHON, ROOT, machine_facts, summarise_profile
from bench.report import write_report

ITEMS = ("scale", "polling", "parse", "publish", "render", "bulk")


def _scale(quick: bool, profile_dir: Path) -> dict[str, Any]:
    contenders = list(bench_triggerer.CONTENDERS)
    # Small sizes are quick and noisy: three alternating rounds, the median kept. N = 10,000 once.
    results = bench_triggerer.run([(100, 1.0), (1000, 1.0)], contenders, repeat=1 if quick else 3)
    if not quick:
        results += bench_triggerer.run([(10_000, 10.0)], contenders)
    results = bench_triggerer.median_runs(results)
    # Profiles come from separate runs: sampling perturbs what it measures, a little.
    print("  profiling the HeyGen trigger and the floor at N=1000 ...", flush=True)
    bench_triggerer.run([(1000, 1.0)], ["heygen", "floor"], profile_dir=profile_dir)
    profiles = {
        name: summarise_profile(profile_dir / f"{name}-1000.folded", top=40) for name in ("heygen", "floor")
    }
    return {"runs": results, "profiles": profiles}


def _bulk(quick: bool) -> dict[str, Any]:
    """Item 6: the bulk poller's contenders and storm, then where item 1's late polls come from."""
    sizes = [(1000, 1.0)] if quick else [(1000, 1.0), (10_000, 10.0)]
    runs = bench_bulk_poller.run(sizes, list(bench_bulk_poller.CONTENDERS), storm_n=1000 if quick else 10_000)
    n = 1000 if quick else 10_000
    lateness = bench_exec_lateness.run(n, 1.0 if quick else 10.0, [False, True])
    return {"runs": runs, "lateness": lateness}


def _publish(quick: bool, profile_dir: Path) -> dict[str, Any]:
    try:
        from airflow_heygen.operators.heygen import HeyGenPublishVideoOperator  # noqa: F401
    except ImportError:
        return {"missing": "HeyGenPublishVideoOperator has not landed in airflow_heygen.operators.heygen"}
    profile = profile_dir / "publish.folded"
    results = bench_publish.run(64 if quick else 1024, 3, profile)
    results["profile"] = summarise_profile(profile, top=40)
    return results


def _render(quick: bool) -> dict[str, Any]:
    script = BENCH / "bench_emulator_render.py"
    if not script.is_file():
        return {"missing": "bench/bench_emulator_render.py is not there"}
    args = [PYTHON, str(script), *(["--frames", "30", "--audio-seconds", "3"] if quick else [])]
    started = time.time()
    run = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=3600, check=False)
    return {
        "command": " ".join(["python", *args[1:]]).replace(str(ROOT) + "/", ""),
        "returncode": run.returncode,
        "stdout": run.stdout,
        "stderr_tail": run.stderr[-2000:],
        "seconds": time.time() - started,
    }


def _warm_bytecode() -> None:
    """Compile what the children import into the bytecode cache once, as a deployment has it."""
    subprocess.run(
        [
            PYTHON,
            "-c",
            "import airflow.sdk, aiohttp, requests, tenacity; "
            "import airflow.providers.http.triggers.http, airflow.providers.http.operators.http; "
            "import airflow_heygen.triggers.heygen, airflow_heygen.operators.heygen; "
            "import airflow_heygen.emulator.app",
        ],
        cwd=ROOT,
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(ITEMS), help=f"items to run, of {', '.join(ITEMS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    parser.add_argument("--json", type=Path, help="also save the raw figures here")
    parser.add_argument("--from-json", type=Path, help="only rewrite the Markdown from saved figures")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    if args.from_json:
        write_report(json.loads(args.from_json.read_text()), args.output)
        print(f"wrote {args.output}")
        return
    items = [item.strip() for item in args.only.split(",") if item.strip()]
    figures: dict[str, Any] = {"machine": machine_facts(), "quick": args.quick, "items": items}
    started = time.time()
    print("warming the bytecode cache ...", flush=True)
    _warm_bytecode()
    with tempfile.TemporaryDirectory(prefix="bench-profiles-") as temp:
        profile_dir = Path(temp)
        if "scale" in items:
            print("1. triggerer scale", flush=True)
            figures["scale"] = _scale(args.quick, profile_dir)
        if "polling" in items:
            print("2. polling efficiency", flush=True)
            count, span = (40, 15.0) if args.quick else (120, 40.0)
            figures["polling"] = {
                "count": count,
                "span": span,
                "runs": bench_polling.run(count, span, list(bench_polling.CONTENDERS)),
            }
        if "parse" in items:
            print("3. DAG-parse cost", flush=True)
            figures["parse"] = bench_dag_parse.run(2 if args.quick else 5)
        if "publish" in items:
            print("4. publishing", flush=True)
            figures["publish"] = _publish(args.quick, profile_dir)
        if "render" in items:
            print("5. emulator rendering (bench/bench_emulator_render.py)", flush=True)
            figures["render"] = _render(args.quick)
        if "bulk" in items:
            print("6. the bulk poller", flush=True)
            figures["bulk"] = _bulk(args.quick)
    figures["machine"]["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    figures["machine"]["duration"] = f"{(time.time() - started) / 60:.1f} min"
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    write_report(figures, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
