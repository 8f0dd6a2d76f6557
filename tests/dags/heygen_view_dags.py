"""DAGs whose records the HeyGen view's tests read: a v3 video published with its preview; one that fails."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_heygen.operators.publish import HeyGenPublishVideoOperator
from airflow_heygen.operators.v3 import HeyGenVideoOperator

SAMPLES = "{{ conn.heygen_default.host }}/samples"
START = datetime(2026, 1, 1)
VIDEO = {
    "avatar_id": "Angela-inblackskirt-20220820",
    "audio_url": f"{SAMPLES}/speech.wav",
    "poll_interval": 0.05,
    "timeout": 60,
    "retries": 0,
}

with DAG("heygen_view_video", schedule=None, start_date=START, params={"publish_to": ""}) as view_video:
    HeyGenVideoOperator(
        task_id="video", title="view test {{ run_id }}", **VIDEO
    ) >> HeyGenPublishVideoOperator(
        task_id="publish",
        video_url="{{ ti.xcom_pull(task_ids='video', key='video_url') }}",
        destination="{{ params.publish_to }}",
        preview=True,
    )

with DAG("heygen_view_failed", schedule=None, start_date=START) as view_failed:
    HeyGenVideoOperator(task_id="video", title="view failure {{ run_id }}", **VIDEO)
