"""Caps hold before any money is spent: the emulator's counters show no create past a refused estimate."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle
from tests.support.v3_emulator import Counts
from tests.unit.dag_runs import run_test_dag

pytestmark = pytest.mark.usefixtures("airflow_db")


@pytest.mark.parametrize("mode", ["sync", "deferrable"])
def test_a_create_over_max_cost_usd_is_refused_before_it_is_sent(emulator: EmulatorHandle, mode: str) -> None:
    counts = Counts(emulator)

    run = run_test_dag(f"heygen_spend_video_{mode}_over_cap")

    (ti,) = run.get_task_instances()
    assert run.state == "failed" and ti.try_number == 1, "a refusal is not retried"
    assert counts.delta("jobs_created", "video") == 0, "nothing was created"


@pytest.mark.parametrize("mode", ["sync", "deferrable"])
def test_a_create_under_the_cap_reports_its_estimate_and_its_cost(
    emulator: EmulatorHandle, mode: str
) -> None:
    counts = Counts(emulator)

    run = run_test_dag(f"heygen_spend_video_{mode}_under_cap")

    (ti,) = run.get_task_instances()
    assert run.state == "success"
    result = ti.xcom_pull(task_ids="video")
    assert result["estimated_cost_usd"] == pytest.approx(3 * 0.0667, rel=0.02), "3 s of speech x $0.0667/s"
    assert result["rate"] == "$0.0667/s"
    assert result["cost_usd"] == pytest.approx(result["output"]["duration"] * 0.0667, rel=1e-3)
    assert counts.delta("jobs_created", "video") == 1


def test_a_campaign_over_its_cap_creates_nothing(emulator: EmulatorHandle, tmp_path: Path) -> None:
    counts = Counts(emulator)
    items = tmp_path / "people.csv"
    items.write_text("customer_id\n" + "".join(f"c{n}\n" for n in range(6)))

    run = run_test_dag("heygen_spend_campaign", {"items": str(items)})

    (ti,) = run.get_task_instances()
    assert run.state == "failed" and ti.try_number == 1
    assert counts.delta("jobs_created", "video") == 0 and counts.delta("batches_created", "video") == 0
