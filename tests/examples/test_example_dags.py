"""The example DAGs in dags/ import cleanly and run end to end against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DAGS = {
    "heygen_faceswap",
    "heygen_avatar_faceswap_publish",
    "heygen_personalized_batch",
    "heygen_video_manifest",
    "heygen_v3_personalized",
    "heygen_review_then_publish",
}


@pytest.fixture(scope="module")
def examples_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An Airflow home whose dags folder is the examples', with a migrated database."""
    home = tmp_path_factory.mktemp("examples-airflow")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW_VAR_HEYGEN_PUBLISH_ROOT": (home / "published").as_uri(),
    }
    airflow(env, "db", "migrate")
    return env


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    with run_emulator(
        tmp_path_factory.mktemp("examples-emulator"), api_key="examples-key", startup_timeout=180
    ) as handle:
        yield handle


def airflow(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return result.stdout


def test_example_dags_import_cleanly(examples_env: dict[str, str]) -> None:
    code = (
        "import json; from airflow.dag_processing.dagbag import DagBag; "
        f"bag = DagBag({str(ROOT / 'dags')!r}); "
        "print(json.dumps({'errors': bag.import_errors, 'dags': sorted(bag.dag_ids)}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=examples_env, capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"errors": {}, "dags": sorted(EXAMPLE_DAGS)}


@pytest.mark.slow
def test_faceswap_example_publishes_a_swapped_video(
    examples_env: dict[str, str], emulator: EmulatorHandle
) -> None:
    env = {**examples_env, "AIRFLOW_CONN_HEYGEN_DEFAULT": connection(emulator)}
    destination = Path(examples_env["AIRFLOW_HOME"]) / "published" / "one" / "swap.mp4"

    printed = airflow(
        env, "dags", "test", "heygen_faceswap", "--conf", json.dumps({"destination": str(destination)})
    )

    assert "faceswap" in printed
    assert emulator.api_key not in printed, "the API key leaked into the task logs"

    with av.open(str(destination)) as video:
        frames = sum(1 for _ in video.decode(video=0))
    with av.open(str(emulator.data_dir / "samples" / "target.mp4")) as target:
        assert frames == sum(1 for _ in target.decode(video=0))
    assert destination.with_suffix(".png").stat().st_size > 0


@pytest.mark.slow
def test_personalized_batch_publishes_one_video_per_face(
    examples_env: dict[str, str], emulator: EmulatorHandle
) -> None:
    env = {**examples_env, "AIRFLOW_CONN_HEYGEN_DEFAULT": connection(emulator)}
    faces = [
        {"name": "Ada Lovelace", "face_url": emulator.sample_url("face.jpg")},
        {"name": "grace", "face_url": emulator.sample_url("face2.jpg")},
    ]
    before = emulator.stats()["submissions"].get("FaceswapNode", 0)

    airflow(env, "dags", "test", "heygen_personalized_batch", "--conf", json.dumps({"faces": faces}))

    runs = list((Path(examples_env["AIRFLOW_HOME"]) / "published" / "batch").iterdir())
    assert len(runs) == 1
    assert sorted(p.name for p in runs[0].glob("*.mp4")) == ["Ada-Lovelace.mp4", "grace.mp4"]
    rows = [json.loads(line) for line in (runs[0] / "manifest.jsonl").read_text().splitlines()]
    assert [(row["item_id"], row["status"]) for row in rows] == [
        ("Ada-Lovelace", "completed"),
        ("grace", "completed"),
    ]
    assert emulator.stats()["submissions"]["FaceswapNode"] - before == 2, "one paid face swap per face"


def connection(emulator: EmulatorHandle) -> str:
    return json.dumps({"conn_type": "heygen", "host": emulator.base_url, "password": emulator.api_key})
