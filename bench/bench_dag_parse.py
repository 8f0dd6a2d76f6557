"""
Item 3, DAG-parse cost: CPU seconds and resident memory that loading a DAG file adds on top of
``import airflow.sdk``, for the same three-task DAG written with the HeyGen operators
(``bench/dags/bench_heygen_dag.py``) and with the HTTP provider's ``HttpOperator``
(``bench/dags/bench_http_dag.py``). Each measurement is a fresh interpreter; the variants alternate and
the median is kept. ``python -X importtime`` shows which modules each DAG file pulls in. Usage::

    .venv/bin/python bench/bench_dag_parse.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import BENCH, PYTHON, ROOT

DAGS = {"heygen": BENCH / "dags" / "bench_heygen_dag.py", "http": BENCH / "dags" / "bench_http_dag.py"}
CHILD = BENCH / "_parse_child.py"


def _measure(dag: Path) -> dict[str, Any]:
    out = subprocess.run([PYTHON, str(CHILD), str(dag)], cwd=ROOT, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _importtime(dag: Path, top: int) -> list[tuple[str, float]]:
    """The modules the DAG file imports beyond ``airflow.sdk``, heaviest first (cumulative seconds)."""
    run = subprocess.run(
        [PYTHON, "-X", "importtime", str(CHILD), str(dag), "--marker"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = run.stderr.split("=== DAG ===", 1)[1].splitlines()
    rows = []
    for line in lines:
        if not line.startswith("import time:"):
            continue
        _self_us, cumulative_us, name = (part.strip() for part in line[len("import time:") :].split("|"))
        depth = (len(line.split("|")[2]) - len(line.split("|")[2].lstrip())) // 2
        if depth <= 1:  # imported by the DAG file itself, not by another new module
            rows.append((name, int(cumulative_us) / 1e6))
    return sorted(rows, key=lambda row: -row[1])[:top]


def run(repeat: int = 5) -> dict[str, Any]:
    """
    Measure both DAG files ``repeat`` times each, alternating, and return medians and import lists.

    :param repeat: measurements per DAG file.
    """
    for dag in DAGS.values():  # fills the bytecode cache, as a deployment's is
        _measure(dag)
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in DAGS}
    for _ in range(repeat):
        for name, dag in DAGS.items():
            samples[name].append(_measure(dag))
    results: dict[str, Any] = {}
    for name, rows in samples.items():
        results[name] = {
            "sdk_cpu": statistics.median(row["sdk_cpu"] for row in rows),
            "sdk_rss": statistics.median(row["sdk_rss"] for row in rows),
            "dag_cpu": statistics.median(row["dag_cpu"] for row in rows),
            "dag_rss": statistics.median(row["dag_rss"] for row in rows),
            "new_modules": rows[0]["new_modules"],
            "heavy_new": rows[0]["heavy_new"],
            "heavy_loaded": rows[0]["heavy"],
            "imports": _importtime(DAGS[name], 8),
        }
        print(f"  DAG parse {name}: {json.dumps(results[name])}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="measurements per DAG file (default 5)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    results = run(args.repeat)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
