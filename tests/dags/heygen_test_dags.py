"""DAGs the provider's tests run with ``dag.test()``; Airflow 3.3 needs them at module level here."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG

from airflow_heygen.operators.heygen import AvatarInferenceOperator, FaceswapOperator, HeyGenWorkflowOperator
from airflow_heygen.sensors.heygen import HeyGenExecutionSensor

FACE_URL = "https://example.com/faces/{{ params.customer }}.jpg"
AUDIO_URL = "https://example.com/speech.wav"
FAST = {"poll_interval": 0.05, "timeout": 60}


def chain_dag(dag_id: str, deferrable: bool) -> DAG:
    with DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1), params={"customer": "ada"}) as dag:
        avatar = AvatarInferenceOperator(
            task_id="avatar",
            avatar_id="Angela-inblackskirt-20220820",
            audio_urls=AUDIO_URL,
            deferrable=deferrable,
            **FAST,
        )
        FaceswapOperator(
            task_id="faceswap",
            source_image_url=FACE_URL,
            target_video_url=avatar.output["video_url"],
            deferrable=deferrable,
            **FAST,
        )
    return dag


chain_sync = chain_dag("heygen_chain_sync", deferrable=False)
chain_deferrable = chain_dag("heygen_chain_deferrable", deferrable=True)

with DAG("heygen_fan_out", schedule=None, start_date=datetime(2026, 1, 1)) as fan_out:
    for deferrable in (False, True):
        mode = "deferred" if deferrable else "sync"
        submit = FaceswapOperator(
            task_id=f"submit_{mode}",
            source_image_url=FACE_URL.replace("{{ params.customer }}", mode),
            target_video_url="https://example.com/target.mp4",
            wait_for_completion=False,
        )
        submit >> HeyGenExecutionSensor(
            task_id=f"wait_{mode}",
            execution_id=f"{{{{ ti.xcom_pull(task_ids='submit_{mode}', key='execution_id') }}}}",
            deferrable=deferrable,
            **FAST,
        )

with DAG("heygen_mapped", schedule=None, start_date=datetime(2026, 1, 1)) as mapped:
    FaceswapOperator.partial(
        task_id="faceswap", target_video_url="https://example.com/target.mp4", deferrable=True, **FAST
    ).expand(source_image_url=[f"https://example.com/faces/{n}.jpg" for n in range(3)])


class CrashOnFirstTry(HeyGenWorkflowOperator):
    """Dies right after the submission on its first try, as a killed worker would."""

    def _push_ids(self, context: Any) -> None:
        super()._push_ids(context)
        if context["ti"].try_number == 1:
            raise RuntimeError("simulated worker crash after submission")


with DAG("heygen_reattach", schedule=None, start_date=datetime(2026, 1, 1)) as reattach:
    for deferrable in (False, True):
        CrashOnFirstTry(
            task_id=f"faceswap_{'deferred' if deferrable else 'sync'}",
            workflow_type="FaceswapNode",
            input={
                "source_image_url": "https://example.com/face.jpg",
                "target_video_url": "https://example.com/target.mp4",
            },
            deferrable=deferrable,
            retries=1,
            retry_delay=timedelta(seconds=0),
            **FAST,
        )


# A submission whose answer is lost, under task retries: sync, deferrable, and with the override.
for _mode, _deferrable, _resubmit in (
    ("sync", False, False),
    ("deferrable", True, False),
    ("resubmit", False, True),
):
    with DAG(f"heygen_lost_reply_{_mode}", schedule=None, start_date=datetime(2026, 1, 1)) as _dag:
        FaceswapOperator(
            task_id="faceswap",
            source_image_url="https://example.com/faces/ada.jpg",
            target_video_url="https://example.com/target.mp4",
            deferrable=_deferrable,
            resubmit_unconfirmed=_resubmit,
            retries=2,
            retry_delay=timedelta(seconds=0),
            **FAST,
        )
    globals()[f"lost_reply_{_mode}"] = _dag
