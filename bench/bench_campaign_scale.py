"""
One campaign of 10,000 face swaps in one task, run with ``dag.test()`` in this process (a private
``AIRFLOW_HOME`` with sqlite) against the emulator in stub mode holding the plan's concurrency at 10.
Prints the wall time, the jobs the emulator counted, the manifest's rows and this process's peak RSS
(the task, its trigger and ``dag.test()`` all run in it). Benchmarks print figures; nothing here asserts.
Usage::

    .venv/bin/python bench/bench_campaign_scale.py [--items 10000] [--render 0.05] [--no-publish]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, cpu_seconds, emulator, heygen_connection, machine_facts, mib, peak_rss_bytes

DAG_ID = "heygen_campaign_faceswap"


def airflow_home(home: Path) -> None:
    """Point Airflow at a private home with a migrated sqlite database and the test DAGs (before import)."""
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "tests" / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)


def write_items(path: Path, count: int, face_url: str) -> None:
    """The items CSV: ``customer_id``, ``face_url``."""
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["customer_id", "face_url"])
        writer.writerows([f"c{n:05d}", face_url] for n in range(count))


def run(items: int, render: float, publish: bool, temp: Path) -> dict[str, Any]:
    """Run the campaign and return its figures."""
    airflow_home(temp / "airflow")
    with emulator(temp / "emulator", plan_concurrency=10, latency=render) as handle:
        os.environ["AIRFLOW_CONN_HEYGEN_DEFAULT"] = heygen_connection(handle.base_url)
        write_items(temp / "faces.csv", items, handle.sample_url("face.jpg"))
        conf = {
            "items": str(temp / "faces.csv"),
            "publish_to": f"file://{temp}/videos" if publish else "",
            "manifest": f"file://{temp}/manifest.jsonl",
            "max_failed": 0,
        }
        from tests.unit.dag_runs import run_test_dag

        rss_before, cpu_before = peak_rss_bytes(), cpu_seconds()
        started = time.monotonic()
        dag_run = run_test_dag(DAG_ID, conf)
        wall = time.monotonic() - started
        cpu = cpu_seconds() - cpu_before
        stats = handle.stats()
    rows = [json.loads(line) for line in (temp / "manifest.jsonl").read_text().splitlines() if line.strip()]
    (ti,) = dag_run.get_task_instances()
    return {
        "items": items,
        "render_s": render,
        "state": dag_run.state,
        "try_number": ti.try_number,
        "wall_s": wall,
        "cpu_s": cpu,
        "floor_s": items * render / 10,
        "jobs_created": stats["jobs_created"]["workflow_execution"],
        "max_in_flight": stats["max_in_flight"],
        "refused": stats["faults"]["concurrency_limited"],
        "status_reads": sum(
            stats["requests"].get("GET /v1/workflows/executions/{execution_id}", {}).values()
        ),
        "manifest_rows": len(rows),
        "completed": sum(row["status"] == "completed" for row in rows),
        "unique_jobs": len({row["job_id"] for row in rows}),
        "published": len(list((temp / "videos").iterdir())) if publish else None,
        "peak_rss_before": rss_before,
        "peak_rss": peak_rss_bytes(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000, help="campaign size (default 10,000)")
    parser.add_argument("--render", type=float, default=0.05, help="seconds per render (default 0.05)")
    parser.add_argument("--no-publish", action="store_true", help="keep HeyGen's URLs, publish nothing")
    args = parser.parse_args()
    facts = machine_facts()
    print(f"machine: {facts['cpu']}, load {facts['load average at start']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-campaign-scale-") as temp:
        figures = run(args.items, args.render, not args.no_publish, Path(temp))
    print(
        f"{figures['items']:,} items, render {figures['render_s']} s, plan concurrency 10: "
        f"{figures['state']} (try {figures['try_number']}) in {figures['wall_s']:.1f} s wall "
        f"(floor {figures['floor_s']:.0f} s), "
        f"{figures['cpu_s']:.1f} CPU s in this process"
    )
    print(
        f"emulator: {figures['jobs_created']:,} jobs created, max {figures['max_in_flight']} in flight, "
        f"{figures['refused']} creates refused, {figures['status_reads']:,} status reads"
    )
    print(
        f"manifest: {figures['manifest_rows']:,} rows, {figures['completed']:,} completed, "
        f"{figures['unique_jobs']:,} distinct job ids; published: {figures['published']}"
    )
    print(
        f"peak RSS of this process: {mib(figures['peak_rss'])} "
        f"({mib(figures['peak_rss_before'])} before the run, Airflow and the DAGs imported)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
