"""Caps hold before any money is spent: the emulator's counters show no create past a refused estimate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle
from tests.support.v3_emulator import SHARED_BALANCE_USD, Counts, connection
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


def test_the_balance_floor_refuses_a_create_that_would_go_below_it(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.set_faults(billing="wallet", balance_usd=1000)
    counts = Counts(emulator)
    # $1,000 - $0.20 would be $999.80: below a floor of $999.90, above one of $999.
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", connection(emulator, min_balance_usd=999.9))
    try:
        refused = run_test_dag("heygen_spend_video_sync_under_cap")
        monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", connection(emulator, min_balance_usd=999))
        allowed = run_test_dag("heygen_spend_video_sync_under_cap")
    finally:
        emulator.set_faults(balance_usd=SHARED_BALANCE_USD)

    assert (refused.state, allowed.state) == ("failed", "success")
    assert counts.delta("jobs_created", "video") == 1, "only the run above the floor created a video"


def test_a_402_mid_campaign_stops_submitting_and_the_manifest_is_complete(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    # Each stub face swap is charged 3.023 s x $0.05/s = $0.15: $1 pays for six.
    emulator.set_faults(billing="wallet", balance_usd=1.0, faceswap_rate_usd_per_s=0.05)
    counts = Counts(emulator)
    face = emulator.sample_url("face.jpg")
    items = tmp_path / "faces.csv"
    items.write_text("customer_id,face_url\n" + "".join(f"c{n},{face}\n" for n in range(10)))
    conf = {"items": str(items), "publish_to": "", "manifest": f"file://{tmp_path}/manifest.jsonl"}
    try:
        run = run_test_dag("heygen_campaign_faceswap_tolerant", conf)
    finally:
        emulator.set_faults(balance_usd=SHARED_BALANCE_USD)

    (ti,) = run.get_task_instances()
    assert run.state == "failed" and ti.try_number == 1, "HeyGen's 402 is not retried"
    rows = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    statuses = [row["status"] for row in rows]
    assert statuses == ["completed"] * 6 + ["skipped"] * 4, statuses
    assert counts.delta("jobs_created", "workflow_execution") == 6
