"""
A campaign against the mapped batch on the production topology (``tests/system/topology.py``: PostgreSQL,
CeleryExecutor with Redis, two schedulers, two triggerers, two Celery workers, one DAG processor, one API
server, S3 by moto), both in one run of the topology, one after the other:

* **mapped**: ``heygen_topology_batch``, 100 deferrable face swaps (the ``heygen`` pool of 10 slots bounds
  them) and 100 mapped publishes to S3;
* **campaign**: ``heygen_topology_campaign``, one ``HeyGenCampaignOperator`` task making N face swaps
  (``max_in_flight`` 10) and publishing each to S3, with its items and manifest in S3.

Both poll every 2 s; the emulator renders each job in ``--render`` seconds and holds the plan's
concurrency at 10. Airflow's CPU is the sum over every Airflow process (workers and their task processes,
triggerers, schedulers, API server, DAG processor), net of what the idle topology burns over the same
wall time (measured first, and again at the end). HeyGen's requests are the emulator's own counts.
Benchmarks print figures; nothing here asserts. Usage::

    .venv/bin/python bench/bench_campaign_topology.py [--items 1000] [--render 10] [--idle 30] [--json out]

``--items`` takes several sizes (``--items 100 1000``); each runs after the mapped batch.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine_facts, mib, process_cpu_seconds, rss_bytes, table

MAPPED_DAG = "heygen_topology_batch"
CAMPAIGN_DAG = "heygen_topology_campaign"
POLL_INTERVAL = 2.0
IN_FLIGHT = 10
STATUS = "GET /v1/workflows/executions/{execution_id}"
CREATE = "POST /v1/workflows/executions"


def ensure_pool(topo: Any, slots: int = IN_FLIGHT) -> None:
    """The ``heygen`` pool the mapped batch runs in: ``slots`` slots, deferred tasks counted."""
    from tests.dags.heygen_topology_dags import HEYGEN_POOL

    pool = {"name": HEYGEN_POOL, "slots": slots, "include_deferred": True, "description": "HeyGen jobs"}
    try:
        topo.services.api("POST", "/api/v2/pools", json_body=pool)
    except Exception:  # it exists: set its slots
        topo.services.api("PATCH", f"/api/v2/pools/{HEYGEN_POOL}", json_body=pool)


def idle_burn(topo: Any, seconds: float) -> dict[str, float]:
    """CPU seconds per second each Airflow component burns with nothing to run."""
    before, started = topo.services.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    after, wall = topo.services.cpu_seconds(), time.monotonic() - started
    return {name: (after[name] - before.get(name, 0.0)) / wall for name in after}


@contextlib.contextmanager
def task_rss_sampler(topo: Any, dag_id: str, run_id: str) -> Iterator[dict[str, int]]:
    """
    Sample, every second, the resident memory of the process running the run's (only) task instance and
    of its children; yields ``{"peak": bytes, "samples": n}``, filled in as it runs.
    """
    from tests.system.harness import _process_tree

    found = {"peak": 0, "samples": 0}
    stop = threading.Event()

    def sample() -> None:
        ti_id: str | None = None
        while not stop.wait(1.0):
            with contextlib.suppress(Exception):
                if ti_id is None:  # from the database: the API server's CPU is the workload's alone
                    rows = topo.services.query(
                        "SELECT id FROM task_instance WHERE dag_id = ? AND run_id = ?", (dag_id, run_id)
                    )
                    ti_id = str(rows[0][0]) if len(rows) == 1 else None
                    continue
                pid = topo.services.task_pid(ti_id)
                if pid is None:
                    continue  # deferred: no process holds the task
                total = 0
                for member in _process_tree(pid):
                    with contextlib.suppress(OSError):
                        total += rss_bytes(member)
                found["peak"] = max(found["peak"], total)
                found["samples"] += 1

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join()


def quiet_wait(topo: Any, dag_id: str, run_id: str, timeout: float, interval: float = 2.0) -> str:
    """
    Wait for a run's end reading its state from the database, not the REST API: an observer polling the
    API server (as the topology tests' ``wait`` does, every second, task instances and all) adds its own
    API server CPU to the workload's (measured: about a third of a 100-item campaign's). Returns the state.
    """
    from tests.reliability.support import wait_until

    def ended_state() -> str | None:
        sql = "SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?"
        rows = topo.services.query(sql, (dag_id, run_id))
        return str(rows[0][0]) if rows and rows[0][0] in ("success", "failed") else None

    try:
        return str(wait_until(f"run {run_id} of {dag_id} to end", ended_state, timeout, interval))
    except TimeoutError as err:
        raise AssertionError(f"{err}{topo.services.log_tails(25)}") from err


def resumes(topo: Any, dag_id: str, run_id: str) -> int:
    """How many times the run's tasks deferred (the audit log's ``deferred`` events)."""
    rows = topo.services.query(
        "SELECT count(*) FROM log WHERE dag_id = ? AND run_id = ? AND event = 'deferred'", (dag_id, run_id)
    )
    return int(rows[0][0])


def measure(
    topo: Any, label: str, videos: int, render: float, start: Callable[[], tuple[str, str]]
) -> dict[str, Any]:
    """
    Run one workload to its end on a quiet emulator and return its figures.

    :param topo: the topology.
    :param label: its name in the tables.
    :param videos: how many videos it makes.
    :param render: seconds each render takes.
    :param start: triggers the run; returns (DAG id, run id).
    """
    from tests.system.campaign_runs import campaign_emulator

    with campaign_emulator(topo.emulator, render):
        cpu_before, emulator_before = topo.services.cpu_seconds(), process_cpu_seconds(topo.emulator.pid)
        started = time.monotonic()
        dag_id, run_id = start()
        with (
            task_rss_sampler(topo, dag_id, run_id)
            if dag_id != MAPPED_DAG
            else contextlib.nullcontext({"peak": 0, "samples": 0}) as rss
        ):
            state = quiet_wait(topo, dag_id, run_id, timeout=max(1800.0, videos * render))
        wall = time.monotonic() - started
        cpu_after = topo.services.cpu_seconds()
        stats = topo.emulator.stats()
        emulator_cpu = process_cpu_seconds(topo.emulator.pid) - emulator_before
    used = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
    return {
        "label": label,
        "dag_id": dag_id,
        "run_id": run_id,
        "state": state,
        "videos": videos,
        "wall_s": wall,
        "cpu_s": used,
        "emulator_cpu_s": emulator_cpu,
        "jobs_created": stats["jobs_created"]["workflow_execution"],
        "creates": sum(stats["requests"].get(CREATE, {}).values()),
        "status_reads": sum(stats["requests"].get(STATUS, {}).values()),
        "max_in_flight": stats["max_in_flight"],
        "refused": stats["faults"]["concurrency_limited"],
        "resumes": resumes(topo, dag_id, run_id),
        "task_rss_peak": rss["peak"] or None,
        "task_rss_samples": rss["samples"],
    }


def run_mapped(topo: Any, render: float) -> dict[str, Any]:
    """The mapped batch of 100 face swaps and 100 publishes."""
    from tests.dags.heygen_topology_dags import BATCH_SIZE

    ensure_pool(topo)
    result = measure(topo, "mapped 100", BATCH_SIZE, render, lambda: (MAPPED_DAG, topo.trigger(MAPPED_DAG)))
    result["published"] = len(topo.s3.objects("batch/"))
    return result


def run_campaign(topo: Any, items: int, render: float, dag_id: str = CAMPAIGN_DAG) -> dict[str, Any]:
    """A campaign of ``items`` face swaps, each published to S3, by the campaign DAG ``dag_id``."""
    from tests.system.campaign_runs import manifest, upload_campaign

    campaign = upload_campaign(topo.s3, f"bench-{items}-{int(time.time())}", items)
    label = f"campaign {items}" + dag_id.removeprefix(CAMPAIGN_DAG).replace("_", " ")
    result = measure(topo, label, items, render, lambda: (dag_id, topo.trigger(dag_id, campaign.conf())))
    rows = manifest(topo.s3, campaign) if result["state"] == "success" else []
    # Each item waited from its create until the task saw it end: its share of the status reads.
    waited = sum(
        (
            datetime.fromisoformat(row["finished_at"]) - datetime.fromisoformat(row["submitted_at"])
        ).total_seconds()
        for row in rows
        if row.get("finished_at") and row.get("submitted_at")
    )
    result.update(
        published=len(topo.s3.objects(campaign.videos)),
        manifest_rows=len(rows),
        completed=sum(row["status"] == "completed" for row in rows),
        unique_jobs=len({row["job_id"] for row in rows}),
        item_intervals=waited / POLL_INTERVAL,
        floor_s=items * render / IN_FLIGHT,
    )
    return result


def net_cpu(result: dict[str, Any], idle: dict[str, float]) -> dict[str, float]:
    """Each component's CPU seconds during a run, less what it burns idle over the same wall time."""
    return {name: used - idle.get(name, 0.0) * result["wall_s"] for name, used in result["cpu_s"].items()}


def kinds(by_name: dict[str, float]) -> dict[str, float]:
    """Instances' figures summed by kind (``celery-worker-1`` and ``-2`` into ``celery-worker``)."""
    summed: dict[str, float] = {}
    for name, value in by_name.items():
        kind = name.rstrip("0123456789").rstrip("-") or name
        summed[kind] = summed.get(kind, 0.0) + value
    return summed


def unsteady_idle(first: dict[str, float], last: dict[str, float]) -> list[tuple[str, float, float]]:
    """
    The processes whose two idle readings disagree: by more than 3x and 0.005 CPU s per s.

    :param first: each process's idle burn read before the runs, CPU s per s.
    :param last: the same read after them.
    """
    unsteady = []
    for name, before in first.items():
        after = last.get(name, before)
        low, high = sorted((before, after))
        if high - low > 0.005 and high > 3 * low:
            unsteady.append((name, before, after))
    return unsteady


def report(figures: dict[str, Any]) -> None:
    """Print the figures as Markdown tables."""
    idle = figures["idle_per_s"]
    runs = [figures["mapped"], *figures["campaigns"]]
    per_video = {r["label"]: sum(net_cpu(r, idle).values()) / r["videos"] for r in runs}
    print(f"\nidle topology: {sum(idle.values()):.3f} CPU s per s (Airflow processes, mean of two readings)")
    unsteady = unsteady_idle(figures["idle_first_per_s"], figures.get("idle_last_per_s", {}))
    for name, first, last in unsteady:
        print(f"  the idle readings of {name} disagree ({first:.4f} and {last:.4f} CPU s per s): one caught")
        print("  more than idling, and every net figure below is off by the difference times the wall time")
    rows = []
    for r in runs:
        net = sum(net_cpu(r, idle).values())
        rows.append(
            [
                r["label"],
                r["state"],
                f"{r['wall_s']:.0f}",
                f"{sum(r['cpu_s'].values()):.1f}",
                f"{net:.1f}",
                f"{per_video[r['label']]:.3f}",
                f"{per_video[r['label']] / per_video['mapped 100']:.3f}",
                r["resumes"],
                f"{r['creates'] / r['videos']:.2f}",
                r["jobs_created"],
                r["max_in_flight"],
                r["published"],
                mib(r["task_rss_peak"]) if r["task_rss_peak"] else "n/a",
            ]
        )
    header = [
        "run",
        "state",
        "wall s",
        "Airflow CPU s",
        "net of idle",
        "net CPU s / video",
        "vs mapped",
        "deferrals",
        "creates / item",
        "jobs (emulator)",
        "max in flight (emulator)",
        "in S3",
        "task peak RSS",
    ]
    print(table(header, rows))
    print("\nnet CPU seconds by component (less idle burn over the run's wall time)")
    component_kinds = sorted(kinds(net_cpu(runs[0], idle)))
    print(
        table(
            ["run", *component_kinds, "emulator (not Airflow)"],
            [
                [
                    r["label"],
                    *[f"{kinds(net_cpu(r, idle)).get(k, 0.0):.1f}" for k in component_kinds],
                    f"{r['emulator_cpu_s']:.1f}",
                ]
                for r in runs
            ],
        )
    )
    print("\ncampaigns: wall time against the concurrency floor, and HeyGen requests")
    rows = []
    for r in figures["campaigns"]:
        reads = r["status_reads"] / r["item_intervals"] if r["item_intervals"] else None
        rows.append(
            [
                r["label"],
                f"{r['wall_s']:.0f}",
                f"{r['floor_s']:.0f}",
                f"{r['wall_s'] / r['floor_s']:.2f}x",
                f"{r['creates'] / r['videos']:.3f}",
                r["status_reads"],
                "n/a" if reads is None else f"{reads:.2f}",
                f"{r['manifest_rows']} rows, {r['completed']} completed, {r['unique_jobs']} job ids",
            ]
        )
    print(
        table(
            [
                "run",
                "wall s",
                "floor s (items x render / 10)",
                "wall / floor",
                "creates / item",
                "status reads",
                "reads / waiting item / interval",
                "manifest",
            ],
            rows,
        )
    )
    mapped = figures["mapped"]
    print(
        f"\nmapped 100: {mapped['status_reads']} status reads, "
        f"{mapped['creates'] / 100:.2f} creates per item, "
        f"{mapped['resumes']} deferrals"
    )
    for r in figures["campaigns"]:
        target = 1 / 20 if r["videos"] >= 1000 else 1 / 5
        ratio = per_video[r["label"]] / per_video["mapped 100"]
        verdict = ("met" if ratio <= target else "not met") if not unsteady else "no verdict: unsteady idle"
        print(
            f"{r['label']}: CPU per video {ratio:.3f}x the mapped batch's (target <= {target:.2f}x: "
            f"{verdict}); wall {r['wall_s'] / r['floor_s']:.2f}x the floor "
            f"(target <= 1.2x: {'met' if r['wall_s'] / r['floor_s'] <= 1.2 else 'not met'})"
        )


def save(figures: dict[str, Any], path: Path | None) -> None:
    """Write the figures so far (a later phase's failure keeps the earlier ones)."""
    if path is not None:
        path.write_text(json.dumps(figures, indent=1, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, nargs="+", default=[1000], help="campaign sizes (default 1000)")
    parser.add_argument("--render", type=float, default=10.0, help="seconds per render (default 10)")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle burn measured (default 30)")
    parser.add_argument(
        "--dags",
        nargs="+",
        default=[CAMPAIGN_DAG],
        help=f"campaign DAGs run at each size (default {CAMPAIGN_DAG}; its _wide variant wakes on all ended)",
    )
    parser.add_argument("--skip-mapped", action="store_true", help="campaigns only (no ratio then)")
    parser.add_argument("--json", type=Path, help="also save the raw figures here")
    args = parser.parse_args()

    from tests.dags.heygen_topology_dags import BATCH_SIZE
    from tests.system.topology import run_topology

    figures: dict[str, Any] = {"machine": machine_facts(), "render": args.render, "campaigns": []}
    print(f"machine: {figures['machine']['cpu']}, load {figures['machine']['load average at start']}")
    with tempfile.TemporaryDirectory(prefix="bench-campaign-topology-") as temp:
        started = time.time()
        with run_topology(Path(temp)) as topo:
            for dag_id in (MAPPED_DAG, *args.dags):
                topo.services.wait_for_dag(dag_id, timeout=240)
            print(f"topology up in {time.time() - started:.0f} s; measuring idle burn ...", flush=True)
            time.sleep(10)  # the first parses and the start-up's stragglers settle
            idle_first = idle_burn(topo, args.idle)
            figures["idle_first_per_s"] = idle_first
            if not args.skip_mapped:
                print(f"mapped batch of {BATCH_SIZE} ...", flush=True)
                figures["mapped"] = run_mapped(topo, args.render)
                print(f"  {figures['mapped']['wall_s']:.0f} s", flush=True)
            save(figures, args.json)
            for items in args.items:
                for dag_id in args.dags:
                    print(f"campaign of {items} ({dag_id}) ...", flush=True)
                    figures["campaigns"].append(run_campaign(topo, items, args.render, dag_id))
                    print(f"  {figures['campaigns'][-1]['wall_s']:.0f} s", flush=True)
                    save(figures, args.json)
            idle_last = idle_burn(topo, args.idle)
    figures["idle_first_per_s"], figures["idle_last_per_s"] = idle_first, idle_last
    figures["idle_per_s"] = {name: (idle_first[name] + idle_last.get(name, 0.0)) / 2 for name in idle_first}
    figures["machine"]["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=str))
    if "mapped" in figures:
        report(figures)
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
