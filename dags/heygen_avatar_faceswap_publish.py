"""
The full pipeline: make an avatar video, swap a customer's face into it, publish the result.

AvatarInference -> Faceswap (its target is the avatar's video, passed through XCom) -> publish.
Both HeyGen steps are deferrable: while HeyGen renders (1-3 minutes each) the triggerer waits, not a
worker slot. Failed tasks retry with backoff; a task that fails for good calls ``alert_on_failure``,
the place to plug your alerting in.

Params: ``avatar_id``, ``audio_url`` and ``face_url`` (empty: the sample media of the connection's
host, i.e. the emulator's, or of Variable ``heygen_media_base_url``), ``destination`` (empty:
``<Variable heygen_publish_root>/avatar_faceswap/<run id>.mp4``) and ``heygen_conn_id``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Param

from airflow_heygen.operators.heygen import (
    AvatarInferenceOperator,
    FaceswapOperator,
    HeyGenPublishVideoOperator,
)

MEDIA = "var.value.get('heygen_media_base_url', conn.get(params.heygen_conn_id).host ~ '/samples')"
PUBLISH_ROOT = "var.value.get('heygen_publish_root', 'file:///tmp/heygen-videos')"
RUN_NAME = "run_id | replace(':', '-') | replace('+', '_')"
DEFAULT_DESTINATION = f"{PUBLISH_ROOT} ~ '/avatar_faceswap/' ~ {RUN_NAME} ~ '.mp4'"
HEYGEN_WAIT = {"deferrable": True, "poll_interval": 5, "timeout": 900}


def alert_on_failure(context: dict[str, Any]) -> None:
    """
    Alert hook point: called when a task has failed for good (after its retries).

    Replace the log line with your alerting, e.g. ``SlackNotifier`` or ``SmtpNotifier`` from their
    providers. For HeyGen tasks the error names the execution id to look up or resume.
    """
    ti = context["ti"]
    logging.getLogger(__name__).error(
        "ALERT: %s.%s failed on try %s: %s", ti.dag_id, ti.task_id, ti.try_number, context.get("exception")
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
        "heygen_conn_id": Param("heygen_default", type="string"),
        "avatar_id": Param("Angela-inblackskirt-20220820", type="string", description="HeyGen avatar id"),
        "audio_url": Param("", type="string", description="Speech audio URL (empty: sample speech)"),
        "face_url": Param("", type="string", description="Face photo URL (empty: sample face)"),
        "destination": Param(
            "", type="string", description="Where to publish (empty: under heygen_publish_root)"
        ),
    },
):
    avatar = AvatarInferenceOperator(
        task_id="avatar_video",
        heygen_conn_id="{{ params.heygen_conn_id }}",
        avatar_id="{{ params.avatar_id }}",
        audio_urls=f"{{{{ params.audio_url or {MEDIA} ~ '/speech.wav' }}}}",
        **HEYGEN_WAIT,
    )
    faceswap = FaceswapOperator(
        task_id="faceswap",
        heygen_conn_id="{{ params.heygen_conn_id }}",
        source_image_url=f"{{{{ params.face_url or {MEDIA} ~ '/face.jpg' }}}}",
        target_video_url=avatar.output["video_url"],
        **HEYGEN_WAIT,
    )
    HeyGenPublishVideoOperator(
        task_id="publish",
        heygen_conn_id="{{ params.heygen_conn_id }}",
        video_url=faceswap.output["video_url"],
        destination=f"{{{{ params.destination or {DEFAULT_DESTINATION} }}}}",
        preview=True,
    )
