"""
The full pipeline: make an avatar video, swap a customer's face into it, publish the result.

AvatarInference -> Faceswap (its target is the avatar's video, passed through XCom) -> publish.
Both HeyGen steps are deferrable: while HeyGen renders (1-3 minutes each), the triggerer waits,
not a worker slot. Failed tasks retry; a task that fails for good calls ``alert_on_failure``.

Params: ``avatar_id``, ``audio_url``, ``face_url`` (defaults: the emulator's samples),
``destination`` (default ``<heygen_publish_root>/avatar_faceswap/<run id>.mp4``), ``heygen_conn_id``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param
from heygen_example_common import (
    COMMON_PARAMS,
    CONN_ID,
    DEFAULT_AVATAR_ID,
    PUBLISHED_VIDEOS,
    RUN_NAME,
    alert_on_failure,
    media_url,
    publish_destination,
)

from airflow_heygen.operators.heygen import (
    AvatarInferenceOperator,
    FaceswapOperator,
    HeyGenPublishVideoOperator,
)

with DAG(
    dag_id="heygen_avatar_faceswap_publish",
    description="Avatar video -> face swap -> publish",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["heygen", "example"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "on_failure_callback": alert_on_failure,
    },
    params={
        **COMMON_PARAMS,
        "avatar_id": Param(DEFAULT_AVATAR_ID, type="string", description="HeyGen avatar id"),
        "audio_url": Param("", type="string", description="Speech audio URL (empty: sample speech)"),
        "face_url": Param("", type="string", description="Face photo URL (empty: sample face)"),
        "destination": Param(
            "", type="string", description="Where to publish (empty: under heygen_publish_root)"
        ),
    },
):
    avatar = AvatarInferenceOperator(
        task_id="avatar_video",
        heygen_conn_id=CONN_ID,
        avatar_id="{{ params.avatar_id }}",
        audio_urls=media_url("audio_url", "speech.wav"),
        deferrable=True,
        poll_interval=5,
        timeout=900,
    )
    faceswap = FaceswapOperator(
        task_id="faceswap",
        heygen_conn_id=CONN_ID,
        source_image_url=media_url("face_url", "face.jpg"),
        target_video_url=avatar.output["video_url"],
        deferrable=True,
        poll_interval=5,
        timeout=900,
    )
    HeyGenPublishVideoOperator(
        task_id="publish",
        heygen_conn_id=CONN_ID,
        video_url=faceswap.output["video_url"],
        destination=publish_destination(f"'avatar_faceswap/' ~ {RUN_NAME} ~ '.mp4'"),
        preview=True,
        outlets=[PUBLISHED_VIDEOS],
    )
