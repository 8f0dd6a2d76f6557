"""
The DAGs the HeyGen view is looked at through, under real Airflow services: a v3 video published with
its preview, a v3 video that fails, and a face swap campaign slow enough to be watched while it runs.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_heygen.operators.campaign import HeyGenCampaignOperator
from airflow_heygen.operators.publish import HeyGenPublishVideoOperator
from airflow_heygen.operators.v3 import HeyGenVideoOperator

SAMPLES = "{{ conn.heygen_default.host }}/samples"
START = datetime(2026, 1, 1)
VIDEO = {
    "avatar_id": "Angela-inblackskirt-20220820",
    "audio_url": f"{SAMPLES}/speech.wav",
    "deferrable": True,
    "poll_interval": 1.0,
    "timeout": 300,
    "retries": 0,
}

with DAG("heygen_view_video", schedule=None, start_date=START, params={"publish_to": ""}):
    HeyGenVideoOperator(
        task_id="video", title="HeyGen view {{ run_id }}", **VIDEO
    ) >> HeyGenPublishVideoOperator(
        task_id="publish",
        video_url="{{ ti.xcom_pull(task_ids='video', key='video_url') }}",
        destination="{{ params.publish_to }}",
        preview=True,
    )

with DAG("heygen_view_failed", schedule=None, start_date=START):
    HeyGenVideoOperator(task_id="video", title="HeyGen view failure {{ run_id }}", **VIDEO)

with DAG(
    "heygen_view_campaign",
    schedule=None,
    start_date=START,
    params={"items": "", "publish_to": "", "manifest": ""},
):
    HeyGenCampaignOperator(
        task_id="personalize",
        kind="faceswap",
        items="{{ params['items'] }}",
        item_id="customer_id",
        request={"source_image_url": "{face_url}", "target_video_url": f"{SAMPLES}/target.mp4"},
        publish_to="{{ params['publish_to'] }}",
        manifest="{{ params['manifest'] }}",
        max_in_flight=2,
        max_cost_usd=50.0,
        poll_interval=1.0,
        retries=0,
    )
