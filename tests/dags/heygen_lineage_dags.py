"""DAGs of the lineage tests (``dag.test()``): a deferred face swap whose video is published to a file."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_heygen.operators.heygen import FaceswapOperator, HeyGenPublishVideoOperator

SAMPLES = "{{ conn.heygen_default.host }}/samples"

with DAG(
    "heygen_lineage_faceswap_publish",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={"destination": ""},
) as lineage_faceswap_publish:
    swap = FaceswapOperator(
        task_id="faceswap",
        source_image_url=f"{SAMPLES}/face.jpg",
        target_video_url=f"{SAMPLES}/target.mp4",
        deferrable=True,  # the facets come from the instance that resumes after the trigger
        poll_interval=0.05,
        timeout=120,
    )
    HeyGenPublishVideoOperator(
        task_id="publish", video_url=swap.output["video_url"], destination="{{ params.destination }}"
    )
