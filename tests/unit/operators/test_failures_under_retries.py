"""
A new user's first hour with ``retries=2``, every job counted by the emulator's own stats: a job
HeyGen failed for good is paid once (three times only with ``resubmit_failed=True``), a transient
failure is resubmitted, a translation's retry re-creates only its failed language, and errors no
retry can fix end after one try.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.models.dagrun import DagRun

from airflow_heygen.emulator.testing import EmulatorHandle
from tests.conftest import heygen_connection_uri
from tests.support.fake_heygen import FakeHeyGen
from tests.support.v3_emulator import Counts
from tests.unit.dag_runs import run_test_dag

pytestmark = pytest.mark.usefixtures("airflow_db")


def _only_task(run: DagRun) -> tuple[str, int]:
    (ti,) = run.get_task_instances()
    return ti.state, ti.try_number


def _answers(counts: Counts, route: str) -> dict[str, int]:
    """The HTTP statuses the emulator answered ``route`` with since ``counts`` was taken, by count."""
    before = counts.before["requests"].get(route, {})
    now = counts.handle.stats()["requests"].get(route, {})
    return {code: n - before.get(code, 0) for code, n in now.items() if n != before.get(code, 0)}


def _faceswaps(counts: Counts) -> int:
    return counts.delta("submissions", "FaceswapNode")


@pytest.mark.parametrize("mode", ["sync", "deferrable"])
def test_a_face_swap_failed_for_good_is_paid_once(
    emulator: EmulatorHandle, mode: str, capfd: pytest.CaptureFixture[str]
) -> None:
    counts = Counts(emulator)
    emulator.set_faults(fail_next=["no_face_detected"])

    run = run_test_dag(f"heygen_failed_faceswap_{mode}")

    console = "".join(capfd.readouterr())
    assert run.state == "failed"
    assert _only_task(run) == ("failed", 1), "no retry: it could only pay for the same failure"
    assert _faceswaps(counts) == 1, "HeyGen made exactly one job"
    assert "HeyGenFailedForGoodError" in console
    assert "no_face_detected" in console and "resubmit_failed=True" in console


def test_a_source_url_that_404s_is_paid_once(emulator: EmulatorHandle) -> None:
    counts = Counts(emulator)

    run = run_test_dag("heygen_faceswap_404")

    assert _only_task(run) == ("failed", 1)
    assert _faceswaps(counts) == 1, "download_failed is permanent: one job, no retry"


def test_check_inputs_refuses_a_404_before_paying(emulator: EmulatorHandle) -> None:
    counts = Counts(emulator)

    run = run_test_dag("heygen_checked_faceswap")

    assert _only_task(run) == ("failed", 1)
    assert _faceswaps(counts) == 0, "nothing was submitted"
    assert _answers(counts, "POST /v1/workflows/executions") == {}


def test_resubmit_failed_lets_each_retry_pay_again(emulator: EmulatorHandle) -> None:
    counts = Counts(emulator)
    emulator.set_faults(fail_next=["no_face_detected"] * 3)

    run = run_test_dag("heygen_failed_faceswap_resubmit")

    assert _only_task(run) == ("failed", 3)
    assert _faceswaps(counts) == 3, "asked for: a new paid attempt on each of the three tries"


@pytest.mark.parametrize("mode", ["sync", "deferrable"])
def test_a_transient_failure_is_resubmitted_by_the_retry(emulator: EmulatorHandle, mode: str) -> None:
    counts = Counts(emulator)
    emulator.set_faults(fail_next=["internal_error"])

    run = run_test_dag(f"heygen_failed_faceswap_{mode}")

    assert run.state == "success"
    assert _only_task(run) == ("success", 2)
    assert _faceswaps(counts) == 2, "the failed job and its resubmission"


@pytest.mark.parametrize("mode", ["sync", "deferrable"])
def test_a_translation_retry_recreates_only_the_failed_language(emulator: EmulatorHandle, mode: str) -> None:
    counts = Counts(emulator)
    # es completes; fr fails transiently on the first try.
    emulator.set_faults(fail_next=[None, "internal_error"])

    run = run_test_dag(f"heygen_translation_retry_{mode}")

    (ti,) = run.get_task_instances()
    assert run.state == "success"
    assert ti.try_number == 2
    assert counts.delta("jobs_created", "video_translation") == 3, "es once, fr twice: not 4"
    result = ti.xcom_pull(task_ids="translate")
    assert sorted(result["video_urls"]) == ["es", "fr"]
    assert ti.xcom_pull(task_ids="translate", key="video_url_es") == result["video_urls"]["es"]
    assert ti.xcom_pull(task_ids="translate", key="video_url_fr") == result["video_urls"]["fr"]


def test_a_wrong_key_ends_after_one_try(fake: FakeHeyGen, monkeypatch: pytest.MonkeyPatch) -> None:
    # The shared emulator takes any key; the fake server takes only TEST_KEY.
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_WRONG_KEY", heygen_connection_uri(fake.base_url, "not-the-key"))

    run = run_test_dag("heygen_wrong_key")

    assert _only_task(run) == ("failed", 1)
    assert fake.count("POST") == 1, "asked once: the 401 is not retried, by the hook or by Airflow"
    assert fake.submissions == 0


def test_a_missing_key_ends_after_one_try(
    emulator: EmulatorHandle, capfd: pytest.CaptureFixture[str]
) -> None:
    run = run_test_dag("heygen_missing_key")

    assert _only_task(run) == ("failed", 1)
    assert "No HeyGen API key" in "".join(capfd.readouterr())


def test_an_unknown_workflow_type_ends_after_one_try(emulator: EmulatorHandle) -> None:
    counts = Counts(emulator)

    run = run_test_dag("heygen_unknown_workflow_type")

    assert _only_task(run) == ("failed", 1)
    assert _answers(counts, "POST /v1/workflows/executions") == {"400": 1}, "asked once, refused once"


def test_an_unwritable_destination_ends_after_one_try(
    emulator: EmulatorHandle, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # A file where a folder must be: no retry (and no permission, as root) changes that.
    (tmp_path / "a-file").write_text("not a folder")
    destination = tmp_path / "a-file" / "videos" / "v.mp4"

    run = run_test_dag("heygen_unwritable_destination", conf={"destination": str(destination)})

    console = "".join(capfd.readouterr())
    assert _only_task(run) == ("failed", 1)
    assert f"destination: file://{destination} cannot be written" in console
    assert ".part" not in console.split("cannot be written", 1)[1].splitlines()[0], "names the destination"


def test_sensors_on_ids_heygen_does_not_know_end_after_one_try(emulator: EmulatorHandle) -> None:
    run = run_test_dag("heygen_sensors_on_unknown_ids")

    states = {ti.task_id: (ti.state, ti.try_number) for ti in run.get_task_instances()}
    assert states == {"execution": ("failed", 1), "video": ("failed", 1)}
