"""
HeyGen's basic face swap: one face photo into one video, then publish the result.

Params: ``face_url`` and ``target_video_url`` (empty: the sample media of the connection's host,
i.e. the emulator's, or of Variable ``heygen_media_base_url``), ``destination`` (empty:
``<Variable heygen_publish_root>/faceswap/<run id>.mp4``) and ``heygen_conn_id``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_heygen.operators.heygen import FaceswapOperator, HeyGenPublishVideoOperator

MEDIA = "var.value.get('heygen_media_base_url', conn.get(params.heygen_conn_id).host ~ '/samples')"
PUBLISH_ROOT = "var.value.get('heygen_publish_root', 'file:///tmp/heygen-videos')"
RUN_NAME = "run_id | replace(':', '-') | replace('+', '_')"

with DAG(
    dag_id="heygen_faceswap",
    description="Swap one face into one video and publish it",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["heygen", "example"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    params={
        "heygen_conn_id": Param("heygen_default", type="string"),
        "face_url": Param("", type="string", description="Face photo URL (empty: sample face)"),
        "target_video_url": Param("", type="string", description="Target video URL (empty: sample video)"),
        "destination": Param(
            "", type="string", description="Where to publish (empty: under heygen_publish_root)"
        ),
    },
):
    faceswap = FaceswapOperator(
        task_id="faceswap",
        heygen_conn_id="{{ params.heygen_conn_id }}",
        source_image_url=f"{{{{ params.face_url or {MEDIA} ~ '/face.jpg' }}}}",
        target_video_url=f"{{{{ params.target_video_url or {MEDIA} ~ '/target.mp4' }}}}",
        deferrable=True,
        poll_interval=5,
    )
    HeyGenPublishVideoOperator(
        task_id="publish",
        heygen_conn_id="{{ params.heygen_conn_id }}",
        video_url=faceswap.output["video_url"],
        destination=f"{{{{ params.destination or {PUBLISH_ROOT} ~ '/faceswap/' ~ {RUN_NAME} ~ '.mp4' }}}}",
        preview=True,
    )
