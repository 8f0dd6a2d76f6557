"""
HeyGen's workflows API gone (the emulator started with ``retire_workflows``): a face swap with
``retries=2`` sends exactly one POST and fails on its first try, saying why; a sensor on an execution
HeyGen reports not found (either shape) fails without retries.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from tests.support.fake_heygen import FakeHeyGen, Reply
from tests.support.v3_emulator import connection
from tests.unit.dag_runs import run_test_dag

pytestmark = pytest.mark.usefixtures("airflow_db")
SUBMIT_ROUTE = "POST /v1/workflows/executions"


@pytest.fixture(scope="module")
def retired(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    """An emulator whose workflows API answers 410 gone (``--retire-workflows 410``)."""
    with run_emulator(
        tmp_path_factory.mktemp("retired"), render="stub", retire_workflows=410, startup_timeout=180
    ) as handle:
        yield handle


@pytest.mark.parametrize("status", [410, 404])
def test_a_face_swap_on_a_retired_api_posts_once_and_fails_on_try_1(
    retired: EmulatorHandle,
    status: int,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", connection(retired))
    retired.set_faults(retire_workflows=status)
    before = retired.stats()["requests"].get(SUBMIT_ROUTE, {}).get(str(status), 0)
    try:
        run = run_test_dag("heygen_failed_faceswap_sync")  # retries=2
    finally:
        retired.set_faults(retire_workflows=410)

    console = "".join(capfd.readouterr())
    (ti,) = run.get_task_instances()
    assert (run.state, ti.state, ti.try_number) == ("failed", "failed", 1)
    answered = retired.stats()["requests"][SUBMIT_ROUTE]
    assert answered[str(status)] - before == 1, "exactly one POST: no hook retry, no Airflow retry"
    assert set(answered) <= {"404", "410"}, "every POST this emulator saw was refused"
    message = {
        410: "POST answered HTTP 410 (The v1 workflows API has been retired)",
        404: "POST answered HTTP 404 (Not found: POST /v1/workflows/executions)",
    }[status]
    assert "HeyGenApiRetiredError" in console
    assert (
        "HeyGen's workflows API (/v1/workflows/executions, needed for face swap) is not available at "
        f"{retired.base_url}: {message}. HeyGen retires its /v1 APIs from 2026-11-01 and has no v3 "
        "face-swap endpoint;"
    ) in console
    assert retired.stats()["submissions"] == {}, "nothing was created"


@pytest.mark.parametrize(
    "reply",
    [
        Reply(404, {"data": None, "error": {"code": "not_found", "message": "Workflow not found"}}),
        Reply(200, {"data": {"execution_id": "exec-that-does-not-exist", "status": "not_found"}}),
    ],
    ids=["404-envelope", "200-status-not_found"],
)
@pytest.mark.parametrize("mode", ["sync", "deferrable"])
def test_the_execution_sensor_fails_without_retries_on_either_not_found(
    heygen_conn: FakeHeyGen, reply: Reply, mode: str
) -> None:
    heygen_conn.replies.extend([reply] * 5)

    run = run_test_dag(f"heygen_execution_sensor_not_found_{mode}")

    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == ("failed", 1), "retries=2, yet no retry"
    assert heygen_conn.count("GET") == 1
