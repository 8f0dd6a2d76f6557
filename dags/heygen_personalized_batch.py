"""
Personalized videos in bulk: one target video, N faces, one published video per face.

The faces come from the ``faces`` param (a list of ``{"name", "face_url"}``) or from a CSV with
columns ``name,face_url`` at the object-storage path in ``faces_csv``; with neither, the
emulator's two sample faces. The face swaps are mapped tasks (``FaceswapOperator.partial().expand()``)
in the ``heygen`` pool, which bounds how many HeyGen jobs run at once across all DAGs
(create it with ``airflow pools set heygen 4 "HeyGen concurrent jobs" --include-deferred``, so that
deferred face swaps count too).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, ObjectStoragePath, Param, task

from airflow_heygen.operators.heygen import FaceswapOperator, HeyGenPublishVideoOperator

HEYGEN_POOL = "heygen"
MEDIA = "var.value.get('heygen_media_base_url', conn.get(params.heygen_conn_id).host ~ '/samples')"
PUBLISH_ROOT = "var.value.get('heygen_publish_root', 'file:///tmp/heygen-videos')"
RUN_NAME = "run_id | replace(':', '-') | replace('+', '_')"


@task
def plan_batch(params: dict[str, Any]) -> list[dict[str, str]]:
    """The faces to swap in, each with a file-safe name; fails early on a bad row."""
    rows: list[dict[str, str]] = list(params["faces"])
    if params["faces_csv"]:
        text = ObjectStoragePath(params["faces_csv"]).read_text()
        rows += list(csv.DictReader(io.StringIO(text)))
    if not rows:
        from airflow.sdk import BaseHook

        samples = BaseHook.get_connection(params["heygen_conn_id"]).host.rstrip("/") + "/samples"
        rows = [
            {"name": "astronaut", "face_url": f"{samples}/face.jpg"},
            {"name": "admiral", "face_url": f"{samples}/face2.jpg"},
        ]
    plan = []
    for number, row in enumerate(rows, start=1):
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(row.get("name") or "")).strip("-.")
        if not name or not row.get("face_url"):
            raise ValueError(f"faces row {number}: needs a non-empty 'name' and 'face_url', got {row!r}")
        plan.append({"name": name, "source_image_url": str(row["face_url"])})
    if len({row["name"] for row in plan}) != len(plan):
        raise ValueError("faces: names must be unique, each names its published file")
    return plan


def publish_kwargs(swap_and_row: tuple[dict[str, Any], dict[str, str]]) -> dict[str, str]:
    """Where each swapped video is published: ``<root>/batch/<run id>/<name>.mp4``."""
    swap, row = swap_and_row
    path = f"'batch/' ~ {RUN_NAME} ~ '/{row['name']}.mp4'"
    return {"video_url": swap["video_url"], "destination": f"{{{{ {PUBLISH_ROOT} ~ '/' ~ {path} }}}}"}


with DAG(
    dag_id="heygen_personalized_batch",
    description="One target video, N faces, one published video per face",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["heygen", "example"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    params={
        "heygen_conn_id": Param("heygen_default", type="string"),
        "faces": Param([], type="array", description='Faces: [{"name": ..., "face_url": ...}]'),
        "faces_csv": Param("", type="string", description="Object-storage path of a CSV with name,face_url"),
        "target_video_url": Param("", type="string", description="Target video URL (empty: sample video)"),
    },
):
    plan = plan_batch()
    swaps = FaceswapOperator.partial(
        task_id="faceswap",
        heygen_conn_id="{{ params.heygen_conn_id }}",
        target_video_url=f"{{{{ params.target_video_url or {MEDIA} ~ '/target.mp4' }}}}",
        deferrable=True,
        pool=HEYGEN_POOL,
    ).expand(source_image_url=plan.map(lambda row: row["source_image_url"]))
    HeyGenPublishVideoOperator.partial(
        task_id="publish", heygen_conn_id="{{ params.heygen_conn_id }}", preview=True
    ).expand_kwargs(swaps.output.zip(plan).map(publish_kwargs))
