"""
DAGs of a new user's first hour, with ``retries=2`` as the README recommends: jobs HeyGen fails (for
good or transiently), a translation with one failed language, and errors no retry can fix (a wrong
or missing key, an unknown workflow type, an unwritable destination, a sensor on an unknown id).
Airflow 3.3's ``dag.test()`` needs them at module level in the DAGs folder.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG

from airflow_heygen.operators.heygen import (
    FaceswapOperator,
    HeyGenPublishVideoOperator,
    HeyGenVideoTranslationOperator,
    HeyGenWorkflowOperator,
)
from airflow_heygen.sensors.heygen import HeyGenExecutionSensor
from airflow_heygen.sensors.jobs import HeyGenJobSensor

SAMPLES = "{{ conn.heygen_default.host }}/samples"
START = datetime(2026, 1, 1)
# What the README recommends, with no delay between tries so that the tests stay fast.
RETRIES: dict[str, Any] = {"retries": 2, "retry_delay": timedelta(seconds=0)}
FAST: dict[str, Any] = {"poll_interval": 0.05, "timeout": 60, **RETRIES}


def _dag(dag_id: str, params: dict[str, Any] | None = None) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False, params=params or {})


def _faceswap(dag_id: str, deferrable: bool, face: str = "face.jpg", **kwargs: Any) -> DAG:
    with _dag(dag_id) as dag:
        FaceswapOperator(
            task_id="faceswap",
            source_image_url=f"{SAMPLES}/{face}",
            target_video_url=f"{SAMPLES}/target.mp4",
            deferrable=deferrable,
            **FAST,
            **kwargs,
        )
    return dag


def _translation(dag_id: str, deferrable: bool) -> DAG:
    with _dag(dag_id) as dag:
        HeyGenVideoTranslationOperator(
            task_id="translate",
            video_url=f"{SAMPLES}/target.mp4",
            output_languages=["es", "fr"],
            deferrable=deferrable,
            **FAST,
        )
    return dag


failed_faceswap_sync = _faceswap("heygen_failed_faceswap_sync", False)
failed_faceswap_deferrable = _faceswap("heygen_failed_faceswap_deferrable", True)
failed_faceswap_resubmit = _faceswap("heygen_failed_faceswap_resubmit", False, resubmit_failed=True)
# A source image that 404s: HeyGen fails the job with download_failed (permanent); check_inputs sees it first.
faceswap_404 = _faceswap("heygen_faceswap_404", False, face="nope.jpg")
checked_faceswap = _faceswap("heygen_checked_faceswap", False, face="nope.jpg", check_inputs=True)
translation_retry_sync = _translation("heygen_translation_retry_sync", False)
translation_retry_deferrable = _translation("heygen_translation_retry_deferrable", True)


def _faceswap_on(dag_id: str, heygen_conn_id: str) -> DAG:
    """A face swap through a connection whose key is wrong or missing: nothing reaches a job."""
    with _dag(dag_id) as dag:
        FaceswapOperator(
            task_id="faceswap",
            heygen_conn_id=heygen_conn_id,
            source_image_url="https://media.example.test/face.jpg",
            target_video_url="https://media.example.test/target.mp4",
            **FAST,
        )
    return dag


wrong_key = _faceswap_on("heygen_wrong_key", "heygen_wrong_key")
missing_key = _faceswap_on("heygen_missing_key", "heygen_no_such_connection")

with _dag("heygen_unknown_workflow_type") as unknown_workflow_type:
    HeyGenWorkflowOperator(
        task_id="workflow",
        workflow_type="TextToSpeechNode",
        input={"text": "hello"},
        **FAST,
    )

with _dag("heygen_unwritable_destination", {"destination": "/nonexistent"}) as unwritable_destination:
    HeyGenPublishVideoOperator(
        task_id="publish",
        video_url=f"{SAMPLES}/target.mp4",
        destination="{{ params.destination }}",
        **RETRIES,
    )

with _dag("heygen_sensors_on_unknown_ids") as sensors_on_unknown_ids:
    HeyGenExecutionSensor(task_id="execution", execution_id="exec-that-does-not-exist", **FAST)
    HeyGenJobSensor(task_id="video", kind="video", job_id="video-that-does-not-exist", **FAST)

# A sensor alone (retries=2) on an execution HeyGen reports not found, in whichever shape.
with _dag("heygen_execution_sensor_not_found_sync") as execution_sensor_not_found_sync:
    HeyGenExecutionSensor(task_id="execution", execution_id="exec-that-does-not-exist", **FAST)
with _dag("heygen_execution_sensor_not_found_deferrable") as execution_sensor_not_found_deferrable:
    HeyGenExecutionSensor(
        task_id="execution", execution_id="exec-that-does-not-exist", deferrable=True, **FAST
    )
