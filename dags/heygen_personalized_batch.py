"""
Personalized videos in bulk: one target video, a face per customer, one published video per face,
as one campaign task (``HeyGenCampaignOperator``): 10,000 faces are one task instance, not 20,000.

The faces come from a CSV with columns ``name,face_url`` at the object-storage path in ``faces_csv``
(``name`` names each published file, so it must be a file name: letters, digits, ``_ . -``), or from
the ``faces`` param (a list of ``{"name", "face_url"}``, names made file-safe here), or, with
neither, ``sample_faces`` rows alternating the emulator's two sample faces (try 10000 against the
emulator). The videos land in ``<publish root>/batch/<run id>/<name>.mp4`` with ``manifest.jsonl``
beside them; at most 10 face swaps run at HeyGen at once (its pay-as-you-go concurrency).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, ObjectStoragePath, Param, task

from airflow_heygen.operators.heygen import HeyGenCampaignOperator

MEDIA = "var.value.get('heygen_media_base_url', conn.get(params.heygen_conn_id).host ~ '/samples')"
PUBLISH_ROOT = "var.value.get('heygen_publish_root', 'file:///tmp/heygen-videos')"
RUN_NAME = "run_id | replace(':', '-') | replace('+', '_')"
RUN_FOLDER = f"{{{{ {PUBLISH_ROOT} ~ '/batch/' ~ {RUN_NAME} }}}}"


@task
def faces_file(params: dict[str, Any], run_folder: str) -> str:
    """The CSV of faces to swap in: ``faces_csv`` as it is, or one written from the params."""
    if params["faces_csv"]:
        return str(params["faces_csv"])
    rows = [
        {
            "name": re.sub(r"[^A-Za-z0-9_.-]+", "-", str(row.get("name") or "")).strip("-."),
            "face_url": row.get("face_url", ""),
        }
        for row in params["faces"]
    ]
    if not rows:
        from airflow.sdk import BaseHook

        samples = BaseHook.get_connection(params["heygen_conn_id"]).host.rstrip("/") + "/samples"
        faces = (f"{samples}/face.jpg", f"{samples}/face2.jpg")
        rows = [{"name": f"face-{n:05d}", "face_url": faces[n % 2]} for n in range(params["sample_faces"])]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=["name", "face_url"])
    writer.writeheader()
    writer.writerows(rows)
    path = ObjectStoragePath(run_folder) / "faces.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.getvalue())
    return str(path)


with DAG(
    dag_id="heygen_personalized_batch",
    description="One target video, N faces, one published video per face, in one campaign task",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["heygen", "example"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    params={
        "heygen_conn_id": Param("heygen_default", type="string"),
        "faces": Param([], type="array", description='Faces: [{"name": ..., "face_url": ...}]'),
        "faces_csv": Param("", type="string", description="Object-storage path of a CSV with name,face_url"),
        "sample_faces": Param(
            2, type="integer", minimum=1, description="Rows of sample faces, without faces"
        ),
        "target_video_url": Param("", type="string", description="Target video URL (empty: sample video)"),
    },
):
    HeyGenCampaignOperator(
        task_id="personalize",
        kind="faceswap",
        heygen_conn_id="{{ params.heygen_conn_id }}",
        items=faces_file(run_folder=RUN_FOLDER),
        item_id="name",
        request={
            "source_image_url": "{face_url}",
            "target_video_url": f"{{{{ params.target_video_url or {MEDIA} ~ '/target.mp4' }}}}",
        },
        publish_to=RUN_FOLDER,
        manifest=f"{RUN_FOLDER}/manifest.jsonl",
        max_in_flight=10,
        max_failed=0.01,
    )
