"""
Campaign scale: one ``HeyGenCampaignOperator`` task making 10,000 face swaps (ten in flight, the
emulator holding the plan's concurrency at 10, stub renders) under ``dag.test()`` in one process, no
Airflow services. Prints the wall time, the jobs the emulator counted (and its own most in flight), the
manifest's rows, the task's steps, and the peak RSS of the process that ran the DAG. Usage::

    .venv/bin/python bench/bench_campaign_scale.py [--items 10000] [--latency 0.05] [--publish]

The DAG runs in a child process with a private ``AIRFLOW_HOME`` (sqlite, migrated first), so its peak
RSS is the campaign's alone.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import BENCH, PYTHON, ROOT, emulator, heygen_connection, table

DAG_FILE = BENCH / "dags" / "bench_campaign_dag.py"
DAG_ID = "bench_campaign_scale"
RSS_TARGET = 512 * 2**20
POLL_INTERVAL = 0.2  # the DAG's
# The emulator's counters of each kind: jobs, create route, status read route, one job's read route.
REQUESTS = {
    "faceswap": {
        "jobs": "workflow_execution",
        "create": "POST /v1/workflows/executions",
        "status": "GET /v1/workflows/executions/{execution_id}",
        "job_read": "GET /v1/workflows/executions/{execution_id}",
    },
    "video": {
        "jobs": "video",
        "create": "POST /v3/videos/batches",
        "status": "GET /v3/videos/statuses",
        "job_read": "GET /v3/videos/{video_id}",
    },
}


def child_main(args: argparse.Namespace) -> None:
    """Run the campaign DAG with ``dag.test()`` here; print one JSON document."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_campaign_dag", DAG_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from airflow.sdk import DAG

    (dag,) = [value for value in vars(module).values() if isinstance(value, DAG)]
    from airflow_heygen.operators.campaign import HeyGenCampaignOperator

    # Count the task's steps (its start and every resume) and the time they take, around the real one.
    steps: list[float] = []
    real_step = HeyGenCampaignOperator._step

    def counted_step(self: Any, *step_args: Any, **step_kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return real_step(self, *step_args, **step_kwargs)
        finally:
            steps.append(time.perf_counter() - began)

    HeyGenCampaignOperator._step = counted_step  # type: ignore[method-assign]
    conf = {"items": args.items_file, "publish_to": args.publish_to, "manifest": args.manifest}
    started, cpu = time.time(), resource.getrusage(resource.RUSAGE_SELF)
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        run = profiler.runcall(dag.test, run_conf=conf)
        profiler.dump_stats(args.profile)
    else:
        run = dag.test(run_conf=conf)
    wall = time.time() - started
    used = resource.getrusage(resource.RUSAGE_SELF)
    (ti,) = run.get_task_instances()
    summary = ti.xcom_pull(task_ids="campaign") if run.state == "success" else None
    print(
        json.dumps(
            {
                "state": str(run.state),
                "summary": summary,
                "wall_seconds": wall,
                "cpu_seconds": used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime,
                "peak_rss": used.ru_maxrss * 1024,
                "steps": len(steps),
                "try_number": ti.try_number,
                "step_seconds": sum(steps),
            }
        )
    )


def run(
    items: int,
    latency: float,
    publish: bool,
    profile: Path | None = None,
    in_flight: int = 10,
    kind: str = "faceswap",
) -> dict[str, Any]:
    """
    Run one campaign of ``items`` face swaps; return its figures.

    :param items: how many.
    :param latency: seconds per render.
    :param publish: publish every video to a ``file://`` folder too.
    :param profile: write a cProfile of the DAG's process here (it slows the run).
    :param in_flight: the campaign's ``max_in_flight`` and the emulator's plan concurrency.
    :param kind: ``faceswap`` (workflows) or ``video`` (v3, batch creates and bulk status reads).
    """
    with tempfile.TemporaryDirectory(prefix="bench-campaign-scale-") as temp:
        work = Path(temp)
        home = work / "airflow"
        home.mkdir()
        env = {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FILE.parent),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            # The step's own log lines only: thousands of resumes would otherwise log every request.
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            "BENCH_CAMPAIGN_IN_FLIGHT": str(in_flight),
            "BENCH_CAMPAIGN_KIND": kind,
        }
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | env
        subprocess.run(
            [PYTHON, "-m", "airflow", "db", "migrate"], env=child_env, check=True, capture_output=True
        )
        # The emulator's default balance ($1,000) pays for about 6,600 face swaps: the campaign then
        # stops on HeyGen's 402 (as it should). The benchmark's account has enough for every item.
        with emulator(
            work / "emulator", plan_concurrency=in_flight, latency=str(latency), balance_usd=1_000_000.0
        ) as handle:
            items_file = work / "faces.csv"
            with items_file.open("w", newline="") as stream:
                writer = csv.writer(stream)
                writer.writerow(["customer_id", "face_url"])  # the video kind names customer_id only
                writer.writerows([f"c{n:05d}", handle.sample_url("face.jpg")] for n in range(items))
            manifest = work / "manifest.jsonl"
            publish_to = f"file://{work / 'videos'}/" if publish else ""
            child_env["AIRFLOW_CONN_HEYGEN_DEFAULT"] = heygen_connection(handle.base_url)
            command = [
                PYTHON,
                str(Path(__file__).resolve()),
                "child",
                "--items-file",
                str(items_file),
                "--manifest",
                f"file://{manifest}",
                "--publish-to",
                publish_to,
                *(["--profile", str(profile)] if profile else []),
            ]
            done = subprocess.run(
                command, env=child_env, cwd=ROOT, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(
                    f"the campaign's process exited with {done.returncode}:\n{done.stderr[-4000:]}"
                )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            if result["state"] != "success" or result.get("try_number", 1) > 1:
                # What failed a try: the task's errors are in the process's log (WARNING and above).
                errors = [line for line in done.stderr.splitlines() if "Error" in line or "Traceback" in line]
                print("\n".join(errors[-40:]) or done.stderr[-4000:], file=sys.stderr)
            stats = handle.stats()
            rows = (
                [json.loads(line) for line in manifest.read_text().splitlines()] if manifest.exists() else []
            )
            requests = stats["requests"]
            counted = REQUESTS[kind]

            def total(route: str) -> int:
                return sum(requests.get(route, {}).values())

            # Seconds items spent waiting at HeyGen, by the manifest's times: the status reads' basis.
            waited = sum(
                datetime.fromisoformat(row["finished_at"]).timestamp()
                - datetime.fromisoformat(row["submitted_at"]).timestamp()
                for row in rows
                if row.get("finished_at") and row.get("submitted_at")
            )
            result.update(
                kind=kind,
                job_reads=total(counted["job_read"]),
                waited_intervals=waited / POLL_INTERVAL,
                items=items,
                latency=latency,
                publish=publish,
                in_flight=in_flight,
                jobs=stats["jobs_created"][counted["jobs"]],
                emulator_max_in_flight=stats.get("max_in_flight"),
                refused_429=stats["faults"].get("concurrency_limited", 0),
                creates=total(counted["create"]),
                status_reads=total(counted["status"]),
                manifest_rows=len(rows),
                completed_rows=sum(row["status"] == "completed" for row in rows),
                unique_job_ids=len({row["job_id"] for row in rows if row["job_id"]}),
                published=len(list((work / "videos").glob("*.mp4"))) if publish else None,
            )
            return result


def report(result: dict[str, Any]) -> str:
    """The figures as a Markdown table."""
    rss = result["peak_rss"]
    rows = [
        ("items", f"{result['items']:,}"),
        ("run state", f"{result['state']} (try {result.get('try_number')})"),
        ("wall time", f"{result['wall_seconds']:.1f} s"),
        ("CPU of the DAG's process", f"{result['cpu_seconds']:.1f} s"),
        ("task steps (start and resumes)", f"{result['steps']:,} ({result['step_seconds']:.1f} s in them)"),
        ("jobs counted by the emulator", f"{result['jobs']:,}"),
        ("max_in_flight (and the plan's concurrency)", result["in_flight"]),
        ("most in flight at the emulator", result["emulator_max_in_flight"]),
        ("creates refused (429)", result["refused_429"]),
        ("kind", result["kind"]),
        ("creates per item (v3 target <= 0.011)", f"{result['creates'] / result['items']:.4f}"),
        ("status reads per item", f"{result['status_reads'] / result['items']:.3f}"),
        (
            "status reads per waiting item per poll interval (v3 target <= 0.013)",
            f"{result['status_reads'] / max(1.0, result['waited_intervals']):.4f}",
        ),
        ("single job reads per item (v3: a video's URL)", f"{result['job_reads'] / result['items']:.3f}"),
        (
            "manifest rows (completed, unique job ids)",
            f"{result['manifest_rows']:,} ({result['completed_rows']:,}, {result['unique_job_ids']:,})",
        ),
        ("published videos", "not published" if result["published"] is None else f"{result['published']:,}"),
        (
            "peak RSS of the process",
            f"{rss / 2**20:.1f} MiB (target < 512 MiB: {'met' if rss < RSS_TARGET else 'missed'})",
        ),
    ]
    return table(["figure", "value"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("child")
    child.add_argument("--items-file", required=True)
    child.add_argument("--manifest", required=True)
    child.add_argument("--publish-to", default="")
    child.add_argument("--profile", default="")
    parser.add_argument("--items", type=int, default=10_000, help="items (default 10,000)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per render (default 0.05)")
    parser.add_argument("--in-flight", type=int, default=10, help="max_in_flight and plan concurrency (10)")
    parser.add_argument("--kind", choices=sorted(REQUESTS), default="faceswap", help="faceswap or video (v3)")
    parser.add_argument("--publish", action="store_true", help="also publish each video to a file:// folder")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the DAG's process here")
    args = parser.parse_args()
    if args.command == "child":
        child_main(args)
        return
    result = run(args.items, args.latency, args.publish, args.profile, args.in_flight, args.kind)
    print(report(result))
    print(json.dumps(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
