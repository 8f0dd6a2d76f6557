"""DAG-parse benchmark: the same three steps as bench_heygen_dag.py, with the HTTP provider's HttpOperator."""

from __future__ import annotations

import json
from datetime import datetime

from airflow.providers.http.operators.http import HttpOperator
from airflow.sdk import DAG

with DAG(dag_id="bench_http", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    avatar = HttpOperator(
        task_id="avatar",
        http_conn_id="heygen_http",
        endpoint="v1/workflows/executions",
        method="POST",
        data=json.dumps(
            {
                "workflow_type": "AvatarInferenceNode",
                "input": {
                    "avatar": {"avatar_id": "Angela-inblackskirt-20220820"},
                    "audio_list": [{"audio_url": "https://example.com/speech.wav"}],
                },
            }
        ),
        headers={"Content-Type": "application/json"},
        deferrable=True,
    )
    faceswap = HttpOperator(
        task_id="faceswap",
        http_conn_id="heygen_http",
        endpoint="v1/workflows/executions",
        method="POST",
        data=json.dumps(
            {
                "workflow_type": "FaceswapNode",
                "input": {
                    "source_image_url": "https://example.com/face.jpg",
                    "target_video_url": "{{ ti.xcom_pull(task_ids='avatar') }}",
                },
            }
        ),
        headers={"Content-Type": "application/json"},
        deferrable=True,
    )
    publish = HttpOperator(
        task_id="publish",
        http_conn_id="heygen_http",
        endpoint="{{ ti.xcom_pull(task_ids='faceswap') }}",
        method="GET",
    )
    avatar >> faceswap >> publish
