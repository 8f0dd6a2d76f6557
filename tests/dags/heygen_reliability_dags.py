"""
DAGs of the reliability suite (``tests/reliability``): run with ``dag.test()`` or under real Airflow services.

Each DAG uses its own HeyGen connection id, which the test that runs it points at the emulator (or at a
proxy in front of it). Source image URLs name the scenario, so the emulator's request log tells the
scenarios' submissions apart. A few operators here die on purpose at one precise point of their first try,
as a killed worker would; the services tests kill real processes instead where the timing allows.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Param

from airflow_heygen.hooks.heygen import HeyGenHook
from airflow_heygen.operators.heygen import FaceswapOperator, HeyGenPublishVideoOperator
from airflow_heygen.operators.v3 import HeyGenLipsyncOperator, HeyGenVideoOperator
from airflow_heygen.sensors.heygen import HeyGenExecutionSensor

START = datetime(2026, 1, 1)
FACES = "https://media.example.test/reliability"
TARGET_VIDEO = "https://media.example.test/reliability/target.mp4"
STORM_SIZE = 50
TRIGGERER_KILL_SIZE = 10
# How long the first try of HoldsBeforeDeferring waits, after submitting, for the test to kill it.
HOLD_SECONDS = 90.0
AVATAR_ID = "Angela-inblackskirt-20220820"
# The v3 tasks whose first try is killed while its create is in flight, by kind and mode.
V3_KILL_TASKS = ("video_sync", "video_deferred", "lipsync_sync", "lipsync_deferred")


def faces(scenario: str) -> str:
    """
    The prefix of a scenario's source image URLs.

    :param scenario: the scenario's name.
    """
    return f"{FACES}/{scenario}/"


with DAG("heygen_reliability_storm", schedule=None, start_date=START) as storm:
    # 50 mapped face swaps, half waiting in the worker and half in the triggerer.
    for mode, deferrable in (("sync", False), ("deferred", True)):
        FaceswapOperator.partial(
            task_id=f"faceswap_{mode}",
            heygen_conn_id="heygen_storm",
            target_video_url=TARGET_VIDEO,
            deferrable=deferrable,
            poll_interval=0.1,
            timeout=300,
        ).expand(
            source_image_url=[f"{faces('storm')}{mode}-{n}.jpg" for n in range(STORM_SIZE // 2)],
        )


with DAG("heygen_reliability_emulator_restart", schedule=None, start_date=START) as emulator_restart:
    for mode, deferrable in (("sync", False), ("deferred", True)):
        FaceswapOperator(
            task_id=f"swap_{mode}",
            heygen_conn_id="heygen_restart",
            source_image_url=f"{faces('restart')}{mode}.jpg",
            target_video_url=TARGET_VIDEO,
            deferrable=deferrable,
            poll_interval=0.2,
            timeout=120,
        )


def network_cut_dag(dag_id: str, deferrable: bool) -> DAG:
    """
    A face swap whose connection goes through a proxy the test cuts, then a sensor that resumes waiting
    for the same execution (over a more patient connection) if the face swap failed.

    :param dag_id: the DAG's id.
    :param deferrable: whether both tasks wait in the triggerer.
    """
    with DAG(dag_id, schedule=None, start_date=START) as dag:
        swap = FaceswapOperator(
            task_id="swap",
            heygen_conn_id="heygen_cut",
            source_image_url=f"{faces('network-cut')}{dag_id}.jpg",
            target_video_url=TARGET_VIDEO,
            deferrable=deferrable,
            poll_interval=0.2,
            timeout=120,
        )
        swap >> HeyGenExecutionSensor(
            task_id="resume",
            execution_id="{{ ti.xcom_pull(task_ids='swap', key='execution_id') }}",
            heygen_conn_id="heygen_patient",
            workflow_type="FaceswapNode",
            deferrable=deferrable,
            poll_interval=0.2,
            timeout=120,
            trigger_rule="all_failed",
        )
    return dag


network_cut_sync = network_cut_dag("heygen_reliability_network_cut_sync", deferrable=False)
network_cut_deferred = network_cut_dag("heygen_reliability_network_cut_deferred", deferrable=True)


class SimulatedWorkerDeath(BaseException):
    """A death no ``except Exception`` can see, as with kill -9: no cleanup of the operator runs.
    Airflow still retries the task, as it would after a worker died."""


class HookDyingAfterSubmitting(HeyGenHook):
    """A hook whose submissions reach HeyGen, after which its worker "dies" before anything else runs."""

    def create_job(self, kind: Any, body: Any, idempotency_key: str | None) -> list[str]:
        """Submit, then die before the caller can save the execution id."""
        ids = super().create_job(kind, body, idempotency_key)
        raise SimulatedWorkerDeath(f"HeyGen accepted {ids}, its id was not saved")


class DiesBeforeSavingTheId(FaceswapOperator):
    """On its first try, dies in the window between HeyGen accepting the submission and the execution
    id reaching ``task_state_store`` (the in-flight marker was saved before the submission)."""

    def execute(self, context: Any) -> dict[str, Any]:
        """Run the face swap, through a hook that dies after submitting on the first try."""
        if context["ti"].try_number == 1:
            self.hook = HookDyingAfterSubmitting(heygen_conn_id=self.heygen_conn_id)
        return super().execute(context)


with DAG("heygen_reliability_submission_window", schedule=None, start_date=START) as submission_window:
    DiesBeforeSavingTheId(
        task_id="swap",
        heygen_conn_id="heygen_window",
        source_image_url=f"{faces('window')}swap.jpg",
        target_video_url=TARGET_VIDEO,
        poll_interval=0.2,
        timeout=60,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )


class DiesAfterLanding(HeyGenPublishVideoOperator):
    """On its first try, dies right after the video and its preview landed, before the task could succeed."""

    def announce(self, context: Any, result: dict[str, Any]) -> None:
        """Die on the first try; announce the asset as usual on later ones."""
        if context["ti"].try_number == 1:
            raise RuntimeError(f"simulated worker death after {result['uri']} landed")
        super().announce(context, result)


with DAG(
    "heygen_reliability_publish_retry",
    schedule=None,
    start_date=START,
    params={"video_url": Param("", type="string"), "destination": Param("", type="string")},
) as publish_retry:
    DiesAfterLanding(
        task_id="publish",
        heygen_conn_id="heygen_publish",
        video_url="{{ params.video_url }}",
        destination="{{ params.destination }}",
        preview=True,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )


with DAG(
    "heygen_reliability_secrets",
    schedule=None,
    start_date=START,
    params={"face": Param(f"{faces('secrets')}ada.jpg", type="string"), "folder": Param("", type="string")},
) as secrets_dag:
    # Templated fields, XComs, task state and a download from the API's own host: where a key could leak.
    secret_swap = FaceswapOperator(
        task_id="swap",
        heygen_conn_id="heygen_secrets",
        source_image_url="{{ params.face }}",
        target_video_url=TARGET_VIDEO,
        poll_interval=0.1,
        timeout=60,
    )
    HeyGenPublishVideoOperator(
        task_id="publish",
        heygen_conn_id="heygen_secrets",
        video_url=secret_swap.output["video_url"],
        destination="{{ params.folder }}/{{ ti.xcom_pull(task_ids='swap', key='execution_id') }}.mp4",
    )


# -- under real Airflow services (tests/reliability/test_real_services_faults.py) ------------------------

with DAG("heygen_reliability_triggerer_kill", schedule=None, start_date=START) as triggerer_kill:
    FaceswapOperator.partial(
        task_id="swap",
        heygen_conn_id="heygen_services",
        target_video_url=TARGET_VIDEO,
        deferrable=True,
        poll_interval=1,
        timeout=600,
    ).expand(source_image_url=[f"{faces('triggerer-kill')}{n}.jpg" for n in range(TRIGGERER_KILL_SIZE)])


class HoldsBeforeDeferring(FaceswapOperator):
    """On its first try, waits between saving the execution id and deferring: the test kills it there."""

    def execute(self, context: Any) -> dict[str, Any]:
        """Remember the try, then submit (or reattach) and wait as usual."""
        self.first_try = context["ti"].try_number == 1
        return super().execute(context)

    def _defer_next(self, done: dict[str, dict[str, Any]], deadline: float) -> Any:
        """Hold the first try just after submission, then defer."""
        if self.first_try:
            self.log.info("Submitted %s; holding before deferring so that the test can kill me", self.job_ids)
            time.sleep(HOLD_SECONDS)
        return super()._defer_next(done, deadline)


with DAG("heygen_reliability_worker_kill", schedule=None, start_date=START) as worker_kill:
    FaceswapOperator(
        task_id="swap_sync",
        heygen_conn_id="heygen_services",
        source_image_url=f"{faces('worker-kill')}sync.jpg",
        target_video_url=TARGET_VIDEO,
        deferrable=False,
        poll_interval=0.5,
        timeout=600,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )
    HoldsBeforeDeferring(
        task_id="swap_deferred",
        heygen_conn_id="heygen_services",
        source_image_url=f"{faces('worker-kill')}deferred.jpg",
        target_video_url=TARGET_VIDEO,
        deferrable=True,
        poll_interval=1,
        timeout=600,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )


class LogsTheEnvKey(FaceswapOperator):
    """A face swap with the key from ``HEYGEN_API_KEY``, which it then logs and prints (masked as ***)."""

    def execute(self, context: Any) -> dict[str, Any]:
        """Run the face swap, then log and print ``HEYGEN_API_KEY``."""
        result = super().execute(context)
        key = os.environ["HEYGEN_API_KEY"]
        self.log.info("HEYGEN_API_KEY logged: %s", key)
        print(f"HEYGEN_API_KEY printed: {key}")
        return result


with DAG("heygen_reliability_env_key", schedule=None, start_date=START) as env_key:
    LogsTheEnvKey(
        task_id="swap",
        heygen_conn_id="heygen_env_key",
        source_image_url=f"{faces('env-key')}swap.jpg",
        target_video_url=TARGET_VIDEO,
        poll_interval=0.5,
        timeout=600,
    )


# A v3 create in flight when its task process is killed (kill -9): every try sends the same Idempotency-Key.
with DAG("heygen_reliability_v3_worker_kill", schedule=None, start_date=START) as v3_worker_kill:
    for mode, deferrable in (("sync", False), ("deferred", True)):
        v3_common: dict[str, Any] = {
            "heygen_conn_id": "heygen_services",
            "deferrable": deferrable,
            "poll_interval": 0.5 if not deferrable else 1,
            "timeout": 600,
            "retries": 1,
            "retry_delay": timedelta(seconds=1),
        }
        HeyGenVideoOperator(
            task_id=f"video_{mode}",
            avatar_id=AVATAR_ID,
            audio_url=f"{faces('v3-kill')}video-{mode}.wav",
            **v3_common,
        )
        HeyGenLipsyncOperator(
            task_id=f"lipsync_{mode}",
            video_url=TARGET_VIDEO,
            audio_url=f"{faces('v3-kill')}lipsync-{mode}.wav",
            **v3_common,
        )


# Two deferred v3 videos that a user marks failed: only the one with delete_on_kill is deleted.
with DAG("heygen_reliability_v3_delete_on_kill", schedule=None, start_date=START) as v3_delete_on_kill:
    for name, delete in (("deleted", True), ("kept", False)):
        HeyGenVideoOperator(
            task_id=f"video_{name}",
            heygen_conn_id="heygen_services",
            avatar_id=AVATAR_ID,
            audio_url=f"{faces('v3-delete-on-kill')}{name}.wav",
            deferrable=True,
            delete_on_kill=delete,
            poll_interval=1,
            timeout=600,
        )
