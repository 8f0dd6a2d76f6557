"""
``retire_workflows``: the workflows API answering 404 ``not_found`` or 410 ``gone`` (HeyGen retires
its /v1 APIs from 2026-11-01), set by flag, environment or ``/_admin/faults``; nothing is created,
every refused request is still counted, and v3 is untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_heygen.emulator.config import FaultSettings, load_config
from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from tests.emulator.conftest import EXECUTIONS, faceswap_body, status_of, submit, submit_ok

SUBMIT_ROUTE = "POST /v1/workflows/executions"
READ_ROUTE = "GET /v1/workflows/executions/{execution_id}"


@pytest.fixture(scope="module")
def retired(tmp_path_factory: pytest.TempPathFactory, sample_cache: Path) -> Iterator[EmulatorHandle]:
    """An emulator started with ``--retire-workflows 410``."""
    data_dir = tmp_path_factory.mktemp("retired")
    (data_dir / "samples").symlink_to(sample_cache, target_is_directory=True)
    with run_emulator(data_dir, render="stub", retire_workflows=410) as handle:
        yield handle


def test_the_setting_from_flag_environment_and_json() -> None:
    assert load_config(["--retire-workflows", "410"]).faults.retire_workflows == 410
    assert load_config([], {"HEYGEN_EMULATOR_RETIRE_WORKFLOWS": "404"}).faults.retire_workflows == 404
    assert load_config([]).faults.retire_workflows is None, "served unless asked"
    assert FaultSettings().updated({"retire_workflows": "410"}).retire_workflows == 410
    assert FaultSettings(retire_workflows=404).updated({"retire_workflows": None}).retire_workflows is None
    for bad in (500, 200, True, "gone", 404.5):
        with pytest.raises(ValueError, match="retire_workflows must be 404, 410 or null"):
            FaultSettings().updated({"retire_workflows": bad})
    with pytest.raises(SystemExit):
        load_config(["--retire-workflows", "500"])


def test_a_retired_api_answers_410_gone_and_creates_nothing(retired: EmulatorHandle) -> None:
    before = retired.stats()

    status, payload = submit(retired, faceswap_body(retired))
    read_status, read_payload = status_of(retired, "node-gw-000000000000")

    assert status == 410
    assert payload == {
        "data": None,
        "error": {
            "code": "gone",
            "message": "The v1 workflows API has been retired",
            "param": None,
            "doc_url": None,
        },
    }
    assert (read_status, read_payload["error"]["code"]) == (410, "gone"), "reads of executions too"
    stats = retired.stats()
    assert stats["submissions"] == before["submissions"], "nothing was created"
    assert stats["jobs_created"]["workflow_execution"] == before["jobs_created"]["workflow_execution"]
    submits_before = before["requests"].get(SUBMIT_ROUTE, {}).get("410", 0)
    assert stats["requests"][SUBMIT_ROUTE]["410"] - submits_before == 1, "the refused POST is counted"
    assert stats["requests"][READ_ROUTE]["410"] >= 1
    assert stats["faults"]["workflows_retired"] - before["faults"]["workflows_retired"] == 2
    assert retired.healthz()["executions"] == 0


def test_the_switch_at_run_time_404_then_served_again(retired: EmulatorHandle) -> None:
    try:
        assert retired.set_faults(retire_workflows=404)["retire_workflows"] == 404
        status, payload = submit(retired, faceswap_body(retired))
        assert status == 404
        assert payload["data"] is None
        assert payload["error"]["code"] == "not_found"
        assert payload["error"]["message"] == f"Not found: POST {EXECUTIONS}"

        retired.set_faults(retire_workflows=None)
        execution_id = submit_ok(retired, faceswap_body(retired))
        assert status_of(retired, execution_id)[0] == 200, "served again"
    finally:
        retired.set_faults(retire_workflows=410)
    status, payload = retired.request("POST", "/_admin/faults", {"retire_workflows": 503})
    assert (status, payload["error"]["code"]) == (400, "invalid_parameter")


def test_authentication_comes_first_and_v3_is_untouched(retired: EmulatorHandle) -> None:
    status, payload = retired.request("POST", EXECUTIONS, faceswap_body(retired))
    assert (status, payload["error"]["code"]) == (401, "authentication_failed"), "a key is checked first"
    assert retired.v3("GET", "/v3/users/me")[0] == 200, "only the workflows API is retired"
