"""The README's v3 chain runs as written, against the emulator: one paid job per step, one video published."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle
from tests.support.v3_emulator import Counts

pytestmark = pytest.mark.usefixtures("airflow_db")


def test_the_readme_v3_snippet_runs_as_written(emulator: EmulatorHandle) -> None:
    from tests.dags import heygen_readme_dags

    counts = Counts(emulator)

    run = heygen_readme_dags.dag.test()

    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "success", states
    assert counts.delta("jobs_created", "asset") == 1
    assert counts.delta("jobs_created", "video") == 1
    assert counts.delta("submissions", "FaceswapNode") == 1
    assert counts.delta("jobs_created", "video_translation") == 2
    publish = next(ti for ti in run.get_task_instances() if ti.task_id == "publish_es")
    published = Path(publish.xcom_pull(task_ids="publish_es")["uri"].removeprefix("file://"))
    try:
        assert published.name == "welcome.es.mp4"
        assert published.stat().st_size > 1000
        assert published.read_bytes()[4:8] == b"ftyp", "a whole mp4"
    finally:
        shutil.rmtree(published.parent, ignore_errors=True)
