"""The v3 operators and sensor against the emulator: translations, uploads, sensing, deleting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle
from airflow_heygen.operators.v3 import HeyGenLipsyncOperator
from tests.support.v3_emulator import Counts
from tests.unit.dag_runs import run_test_dag

pytestmark = pytest.mark.usefixtures("airflow_db")


@pytest.mark.parametrize("mode", ["sync", "deferrable"])
def test_translation_waits_for_every_language(emulator: EmulatorHandle, mode: str) -> None:
    counts = Counts(emulator)
    run = run_test_dag(f"heygen_v3_translation_{mode}")
    (ti,) = run.get_task_instances()
    assert run.state == "success"
    result = ti.xcom_pull(task_ids="translate")
    assert set(result["video_urls"]) == {"es", "fr"} and len(result["ids"]) == 2, result
    assert ti.xcom_pull(task_ids="translate", key="job_ids") == result["ids"]
    assert counts.delta("jobs_created", "video_translation") == 2


def test_a_failed_language_fails_the_task_naming_it(
    emulator: EmulatorHandle, capfd: pytest.CaptureFixture[str]
) -> None:
    emulator.set_faults(fail_rate=1.0)
    try:
        run = run_test_dag("heygen_v3_translation_sync")
    finally:
        emulator.set_faults(fail_rate=0)
    assert run.state == "failed"
    console = "".join(capfd.readouterr())
    assert "HeyGen video translation (es, fr) failed: es (" in console
    assert "Completed languages: none" in console


def test_upload_then_sense_a_video_made_elsewhere(emulator: EmulatorHandle, tmp_path: Path) -> None:
    photo = tmp_path / "face.jpg"
    photo.write_bytes((Path(emulator.data_dir) / "samples" / "face.jpg").read_bytes())
    counts = Counts(emulator)
    run = run_test_dag("heygen_v3_upload_and_sense", {"photo": photo.as_uri()})
    results = {ti.task_id: ti.xcom_pull(task_ids=ti.task_id) for ti in run.get_task_instances()}
    assert run.state == "success", results
    assert results["upload"]["mime_type"] == "image/jpeg"
    assert results["upload"]["size_bytes"] == photo.stat().st_size
    assert results["upload"]["url"].startswith("http")
    for waited in ("wait_sync", "wait_deferred"):
        assert results[waited]["status"] == "completed" and results[waited]["video_url"]
    assert counts.delta("jobs_created", "asset") == 1
    assert counts.delta("jobs_created", "video") == 1


class Hook:
    def __init__(self) -> None:
        self.deleted: list[tuple[Any, str]] = []

    def delete_job(self, kind: Any, job_id: str) -> None:
        self.deleted.append((kind.name, job_id))


@pytest.mark.parametrize("delete_on_kill", [False, True])
def test_on_kill_deletes_only_when_asked(delete_on_kill: bool) -> None:
    operator = HeyGenLipsyncOperator(
        task_id="l",
        video_url="https://x.test/v.mp4",
        audio_url="https://x.test/a.wav",
        delete_on_kill=delete_on_kill,
    )
    hook = Hook()
    operator.__dict__["hook"] = hook
    operator.job_ids = ["ls-1"]
    operator.on_kill()
    assert hook.deleted == ([("lipsync", "ls-1")] if delete_on_kill else [])
