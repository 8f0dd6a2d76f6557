"""
1,500 face swaps from one task against an emulator holding the pay-as-you-go plan's concurrency (10):
never more than 10 in flight by the emulator's own count, exactly one job per item.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from tests.support.v3_emulator import connection
from tests.unit.dag_runs import run_test_dag

pytestmark = pytest.mark.usefixtures("airflow_db")
ITEMS = 1500


@pytest.fixture(scope="module")
def plan_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    data_dir = tmp_path_factory.mktemp("plan-emulator")
    with run_emulator(data_dir, render="stub", plan_concurrency=10, latency="0.05", seed=3) as handle:
        yield handle


def test_1500_face_swaps_in_one_task_keep_to_the_plan_s_concurrency(
    plan_emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", connection(plan_emulator))
    items = tmp_path / "faces.csv"
    with items.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["customer_id", "face_url"])
        writer.writerows([f"c{n:05d}", plan_emulator.sample_url("face.jpg")] for n in range(ITEMS))
    plan_emulator.reset_stats()
    conf = {"items": str(items), "publish_to": "", "manifest": f"file://{tmp_path}/manifest.jsonl"}

    run = run_test_dag("heygen_campaign_faceswap", conf)

    (ti,) = run.get_task_instances()
    assert run.state == "success", ti.state
    assert ti.xcom_pull(task_ids="personalize")["completed"] == ITEMS
    stats = plan_emulator.stats()
    assert stats["jobs_created"]["workflow_execution"] == ITEMS, "exactly one job per item"
    assert stats["max_in_flight"] <= 10, "never past the plan's concurrency"
    assert stats["faults"].get("concurrency_limited", 0) == 0, "no create was refused: the task kept count"
    rows = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == ITEMS and len({row["job_id"] for row in rows}) == ITEMS
