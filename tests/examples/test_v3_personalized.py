"""The v3 example DAG end to end under ``dag.test()`` against the (stub-rendering) emulator."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from airflow_heygen.emulator.testing import EmulatorHandle
from tests.support.v3_emulator import Counts
from tests.unit.dag_runs import run_test_dag

pytestmark = pytest.mark.usefixtures("airflow_db")


def test_personalized_v3_pipeline_publishes_every_language(
    emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_HEYGEN_PUBLISH_ROOT", (tmp_path / "published").as_uri())
    local_photo = tmp_path / "ada.jpg"
    local_photo.write_bytes((Path(emulator.data_dir) / "samples" / "face.jpg").read_bytes())
    customers = [
        {"name": "Ada Lovelace", "photo": local_photo.as_uri(), "script": "Hello Ada, your order shipped."},
        {
            "name": "grace",
            "photo": emulator.sample_url("face2.jpg"),
            "audio_url": emulator.sample_url("speech.wav"),
        },
    ]
    counts = Counts(emulator)

    run = run_test_dag("heygen_v3_personalized", {"customers": customers, "languages": ["es", "fr"]})

    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert run.state == "success", states
    assert counts.delta("jobs_created", "asset") == 2
    assert counts.delta("jobs_created", "video") == 2
    assert counts.delta("jobs_created", "workflow_execution") == 2
    assert counts.delta("jobs_created", "video_translation") == 4
    published = sorted(p.name for p in (tmp_path / "published").rglob("*.mp4"))
    assert published == ["Ada-Lovelace.es.mp4", "Ada-Lovelace.fr.mp4", "grace.es.mp4", "grace.fr.mp4"]
    video = next((tmp_path / "published").rglob("grace.fr.mp4"))
    with av.open(str(video)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames > 0
