"""DAG-parse benchmark: avatar video, then face swap, then publish, with the HeyGen operators."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_heygen.operators.heygen import (
    AvatarInferenceOperator,
    FaceswapOperator,
    HeyGenPublishVideoOperator,
)

with DAG(dag_id="bench_heygen", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    avatar = AvatarInferenceOperator(
        task_id="avatar",
        avatar_id="Angela-inblackskirt-20220820",
        audio_urls="https://example.com/speech.wav",
        deferrable=True,
    )
    faceswap = FaceswapOperator(
        task_id="faceswap",
        source_image_url="https://example.com/face.jpg",
        target_video_url=avatar.output["video_url"],
        deferrable=True,
    )
    HeyGenPublishVideoOperator(
        task_id="publish", video_url=faceswap.output["video_url"], destination="file:///tmp/videos/v.mp4"
    )
