"""Campaign DAGs the tests run with ``dag.test()``; Airflow 3.3 needs them at module level in this folder."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_heygen.operators.heygen import HeyGenCampaignOperator

SAMPLES = "{{ conn.heygen_default.host }}/samples"
START = datetime(2026, 1, 1)
# Where the test puts the items and wants the videos: its params (dag.test's run_conf).
PARAMS = {"items": "", "publish_to": "", "manifest": "", "max_failed": 0}
COMMON = {
    "items": "{{ params['items'] }}",
    "item_id": "customer_id",
    "publish_to": "{{ params['publish_to'] }}",
    "manifest": "{{ params['manifest'] }}",
    "poll_interval": 0.2,
    "timeout": 600,
    "retries": 1,
    "retry_delay": timedelta(seconds=0),
}

with DAG("heygen_campaign_faceswap", schedule=None, start_date=START, params=PARAMS) as campaign_faceswap:
    HeyGenCampaignOperator(
        task_id="personalize",
        kind="faceswap",
        request={"source_image_url": "{face_url}", "target_video_url": f"{SAMPLES}/target.mp4"},
        max_in_flight=10,
        **COMMON,
    )

with DAG("heygen_campaign_video", schedule=None, start_date=START, params=PARAMS) as campaign_video:
    HeyGenCampaignOperator(
        task_id="personalize",
        kind="video",
        request={
            "type": "avatar",
            "avatar_id": "Angela-inblackskirt-20220820",
            "audio_url": f"{SAMPLES}/speech.wav",
            "title": "For {name}",
        },
        **COMMON,
    )
