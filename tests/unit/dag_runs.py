"""Running the test DAGs (workflows and v3, in ``tests/dags/``) with ``dag.test()``."""

from __future__ import annotations

from typing import Any

from airflow.models.dagrun import DagRun


def run_test_dag(dag_id: str, conf: dict[str, Any] | None = None) -> DagRun:
    """Run one DAG of the test DAG files (workflows, v3, failures) to its end, in this process."""
    from airflow.sdk import DAG

    from tests.dags import (
        heygen_campaign_dags,
        heygen_failure_dags,
        heygen_lineage_dags,
        heygen_spend_dags,
        heygen_test_dags,
        heygen_v3_test_dags,
        heygen_view_dags,
    )

    modules = (
        heygen_test_dags,
        heygen_v3_test_dags,
        heygen_failure_dags,
        heygen_campaign_dags,
        heygen_spend_dags,
        heygen_lineage_dags,
        heygen_view_dags,
    )
    dags = {d.dag_id: d for module in modules for d in vars(module).values() if isinstance(d, DAG)}
    return dags[dag_id].test(run_conf=conf)
