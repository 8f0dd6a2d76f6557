"""Campaign benchmark (``bench/bench_campaign_scale.py``): one task, a face swap or v3 video per item."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_heygen.operators.heygen import HeyGenCampaignOperator

# Jobs in flight: the plan's concurrency the benchmark gives the emulator (an environment variable, since
# max_in_flight is not templated and dag.test() parses this file again in the task's process).
IN_FLIGHT = int(os.environ.get("BENCH_CAMPAIGN_IN_FLIGHT", "10"))
# faceswap (workflows: one execution per item) or video (v3: batches of up to 100, bulk status reads).
KIND = os.environ.get("BENCH_CAMPAIGN_KIND", "faceswap")
SAMPLES = "{{ conn.heygen_default.host }}/samples"
REQUESTS = {
    "faceswap": {"source_image_url": "{face_url}", "target_video_url": f"{SAMPLES}/target.mp4"},
    "video": {
        "type": "avatar",
        "avatar_id": "Angela-inblackskirt-20220820",
        "audio_url": f"{SAMPLES}/speech.wav",
        "title": "For {customer_id}",
    },
}

# dag.test() finds the DAG at module level of its file; the items, manifest and folder come as params.
with DAG(
    dag_id="bench_campaign_scale",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"items": "", "publish_to": "", "manifest": ""},
) as campaign_dag:
    HeyGenCampaignOperator(
        task_id="campaign",
        kind=KIND,
        items="{{ params['items'] }}",
        item_id="customer_id",
        request=REQUESTS[KIND],
        publish_to="{{ params['publish_to'] }}",
        manifest="{{ params['manifest'] }}",
        max_in_flight=IN_FLIGHT,
        poll_interval=0.2,
        # 10,000 items ten at a time take a while on two shared cores.
        timeout=4 * 3600,
        # As a production campaign has: a retry resumes the campaign from its ledger (the run says which try).
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
