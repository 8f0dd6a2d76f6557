"""
A submission that HeyGen accepts but whose answer never arrives, with ``retries=2``: exactly one paid
execution, the task fails without further tries naming the request and the way to submit anyway, and
the documented override does submit again (and succeeds). Counted by the server, not by our logs.
"""

from __future__ import annotations

import pytest

from tests.support.fake_heygen import FakeHeyGen
from tests.unit.dag_runs import run_test_dag

pytestmark = pytest.mark.usefixtures("airflow_db")


@pytest.mark.parametrize("mode", ["sync", "deferrable"])
def test_a_lost_reply_is_paid_once_and_fails_the_task_without_retries(
    heygen_conn: FakeHeyGen, mode: str, capfd: pytest.CaptureFixture[str]
) -> None:
    heygen_conn.lose_submission_replies = 1

    run = run_test_dag(f"heygen_lost_reply_{mode}")

    console = "".join(capfd.readouterr())
    (ti,) = run.get_task_instances()
    assert run.state == "failed"
    assert heygen_conn.submissions == 1, "HeyGen made exactly one job"
    assert heygen_conn.count("POST") == 1, "and was asked exactly once"
    assert (ti.state, ti.try_number) == ("failed", 1), "no retry with retries=2: it could only pay again"
    assert "HeyGenSubmissionInDoubtError" in console
    assert "A HeyGen job may already exist for this task" in console
    assert "FaceswapNode workflow" in console
    assert "resubmit_unconfirmed=True" in console
    assert "state-store/heygen_execution" in console


def test_resubmit_unconfirmed_submits_again_and_succeeds(heygen_conn: FakeHeyGen) -> None:
    heygen_conn.lose_submission_replies = 1

    run = run_test_dag("heygen_lost_reply_resubmit")

    (ti,) = run.get_task_instances()
    assert run.state == "success"
    assert (ti.state, ti.try_number) == ("success", 2)
    assert heygen_conn.submissions == 2, "asked for: the lost job and a new one"
    result = ti.xcom_pull(task_ids="faceswap")
    assert result["status"] == "completed"
    assert result["execution_id"] in heygen_conn.executions
