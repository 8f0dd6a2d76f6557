"""
One DAG-parse measurement in a fresh interpreter: CPU seconds and resident memory after
``import airflow.sdk``, then after loading a DAG file the way a DAG processor does (as a module from
its path). Prints one JSON line. Only the standard library is imported before measuring.

Usage: ``python bench/_parse_child.py DAG_FILE [--marker]``; ``--marker`` prints ``=== DAG ===`` to
stderr between the two steps, to split ``python -X importtime`` output.
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import sys

# The OpenLineage client and our facets load only when the listener asks for lineage, never at parse time.
HEAVY = (
    "requests",
    "aiohttp",
    "numpy",
    "cv2",
    "av",
    "tenacity",
    "fsspec",
    "airflow_heygen.publishing",
    "openlineage",
    "airflow_heygen.lineage.facets",
)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> None:
    dag_file = sys.argv[1]
    cpu_start = _cpu()
    import airflow.sdk  # noqa: F401

    cpu_sdk, rss_sdk = _cpu(), _rss()
    modules_sdk = set(sys.modules)
    if "--marker" in sys.argv:
        print("=== DAG ===", file=sys.stderr, flush=True)
    spec = importlib.util.spec_from_file_location("bench_dag_under_test", dag_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cpu_dag, rss_dag = _cpu(), _rss()
    new_modules = set(sys.modules) - modules_sdk
    print(
        json.dumps(
            {
                "interpreter_cpu": cpu_start,
                "sdk_cpu": cpu_sdk - cpu_start,
                "sdk_rss": rss_sdk,
                "dag_cpu": cpu_dag - cpu_sdk,
                "dag_rss": rss_dag - rss_sdk,
                "new_modules": len(new_modules),
                "heavy": sorted(name for name in HEAVY if name in sys.modules),
                "heavy_new": sorted(name for name in HEAVY if name in new_modules),
            }
        )
    )


if __name__ == "__main__":
    main()
