"""
HeyGen's basic face swap: one face photo into one video, then publish the result.

Params: ``face_url`` and ``target_video_url`` (default: the emulator's sample media),
``destination`` (default ``<heygen_publish_root>/faceswap/<run id>.mp4``) and ``heygen_conn_id``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param
from heygen_example_common import (
    COMMON_PARAMS,
    CONN_ID,
    PUBLISHED_VIDEOS,
    RUN_NAME,
    alert_on_failure,
    media_url,
    publish_destination,
)

from airflow_heygen.operators.heygen import FaceswapOperator, HeyGenPublishVideoOperator

with DAG(
    dag_id="heygen_faceswap",
    description="Swap one face into one video and publish it",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["heygen", "example"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "on_failure_callback": alert_on_failure,
    },
    params={
        **COMMON_PARAMS,
        "face_url": Param("", type="string", description="Face photo URL (empty: sample face)"),
        "target_video_url": Param("", type="string", description="Target video URL (empty: sample video)"),
        "destination": Param(
            "", type="string", description="Where to publish (empty: under heygen_publish_root)"
        ),
    },
):
    faceswap = FaceswapOperator(
        task_id="faceswap",
        heygen_conn_id=CONN_ID,
        source_image_url=media_url("face_url", "face.jpg"),
        target_video_url=media_url("target_video_url", "target.mp4"),
        deferrable=True,
    )
    HeyGenPublishVideoOperator(
        task_id="publish",
        heygen_conn_id=CONN_ID,
        video_url=faceswap.output["video_url"],
        destination=publish_destination(f"'faceswap/' ~ {RUN_NAME} ~ '.mp4'"),
        preview=True,
        outlets=[PUBLISHED_VIDEOS],
    )
