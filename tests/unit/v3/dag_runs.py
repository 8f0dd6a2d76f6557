"""Running the DAGs of ``tests/dags/heygen_v3_test_dags.py`` with ``dag.test()``."""

from __future__ import annotations

from typing import Any

from airflow.models.dagrun import DagRun


def run_v3_dag(dag_id: str, conf: dict[str, Any] | None = None) -> DagRun:
    """Run one DAG of ``tests/dags/heygen_v3_test_dags.py`` to its end, in this process."""
    from airflow.sdk import DAG

    from tests.dags import heygen_v3_test_dags

    dags = {d.dag_id: d for d in vars(heygen_v3_test_dags).values() if isinstance(d, DAG)}
    return dags[dag_id].test(run_conf=conf)
