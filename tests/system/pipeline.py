"""
The pipeline the real-services test and ``scripts/screenshots.py`` run: the emulator rendering for
real, real Airflow services on the project's ``dags/`` folder, and one run of the example
``heygen_avatar_faceswap_publish`` (avatar video -> face swap -> publish) triggered through the REST API.

With ``with_v3``, the same services also run the v3 example ``heygen_v3_personalized`` (asset upload
-> v3 avatar video -> face swap -> translations -> publish, per customer) at the same time, over a
connection of its own to an emulator of its own: each run's counters are its own.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from tests.system.harness import AirflowServices, RunObservation

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
DAG_ID = "heygen_avatar_faceswap_publish"
HEYGEN_TASKS = ("avatar_video", "faceswap")
PUBLISH_TASK = "publish"
# The example DAG scheduled on every published video's asset event.
MANIFEST_DAG_ID = "heygen_video_manifest"
# A key no file or table could hold by chance, so finding it anywhere is a leak.
API_KEY = f"hg-live-{secrets.token_hex(16)}"
# Every render takes at least this long. Airflow 3.3.2 fails a deferred task whose trigger fires
# before the worker that deferred it has been reaped (up to [workers] min_heartbeat_interval = 5 s
# later): apache/airflow#66374, #71580, #72716. Real HeyGen renders take minutes.
RENDER_SECONDS = 10
RUN_TIMEOUT = 180.0
# The v3 example: its DAG, its connection (to an emulator of its own), its pool and its HeyGen tasks.
V3_DAG_ID = "heygen_v3_personalized"
V3_CONN_ID = "heygen_v3"
V3_POOL = {"name": "heygen", "slots": 4, "include_deferred": True, "description": "HeyGen jobs"}
V3_RUN_TIMEOUT = 300.0


@dataclass
class V3Run:
    """
    A finished run of the v3 example, next to the workflows pipeline's.

    :param emulator: its emulator (connection :data:`V3_CONN_ID`), still running.
    :param run_id: the run.
    :param observation: the task states seen while it ran.
    :param triggers: its trigger rows seen while its tasks were deferred, by their decrypted kwargs.
    :param waited_seconds: how long the run went on after the workflows pipeline's had ended: what it
        adds to the suite.
    """

    emulator: EmulatorHandle
    run_id: str
    observation: RunObservation
    triggers: dict[str, dict[str, Any]] = field(default_factory=dict)
    waited_seconds: float = 0.0


@dataclass
class PipelineRun:
    """
    A finished run of the pipeline, with everything the tests inspect.

    :param services: the Airflow services, still running.
    :param emulator: the emulator, still running.
    :param publish_root: the folder the pipeline publishes to (Variable ``heygen_publish_root``).
    :param run_id: the run.
    :param observation: the task states seen while it ran.
    :param triggers: the trigger rows seen while tasks were deferred, by their decrypted kwargs (sqlite
        reuses the ids of deleted rows).
    :param worker_samples: task id to, for each poll that saw it running or deferred, that state and
        whether a worker process was running the task instance then.
    :param v3: the v3 example's run, when asked for.
    """

    services: AirflowServices
    emulator: EmulatorHandle
    publish_root: Path
    run_id: str
    observation: RunObservation
    triggers: dict[str, dict[str, Any]] = field(default_factory=dict)
    worker_samples: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)
    v3: V3Run | None = None

    @property
    def dag_id(self) -> str:
        """The pipeline's DAG id."""
        return DAG_ID


def triggers_of(services: AirflowServices, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
    """
    The trigger rows of one run's deferred task instances now, by their decrypted kwargs.

    :param services: the services.
    :param dag_id: the DAG.
    :param run_id: the run.
    """
    ids = {
        trigger_id
        for (trigger_id,) in services.query(
            "SELECT trigger_id FROM task_instance WHERE dag_id = ? AND run_id = ? AND trigger_id IS NOT NULL",
            (dag_id, run_id),
        )
    }
    return {row["kwargs"]: row for row in services.triggers() if row["id"] in ids}


@contextmanager
def run_pipeline(tmp: Path, *, with_v3: bool = False) -> Iterator[PipelineRun]:
    """
    Start the emulator and Airflow, trigger the pipeline through the REST API and wait for its end.

    :param tmp: an empty folder for the emulator's data and the ``AIRFLOW_HOME``.
    :param with_v3: also run the v3 example, at the same time, against a second emulator.
    """
    connection = {"conn_type": "heygen", "password": API_KEY, "extra": {"retry_min_delay": 0.2}}
    with contextlib.ExitStack() as stack:
        emulator = stack.enter_context(
            run_emulator(tmp / "emulator", render="real", api_key=API_KEY, latency=RENDER_SECONDS)
        )
        publish_root = tmp / "published"
        env = {
            "AIRFLOW_CONN_HEYGEN_DEFAULT": json.dumps({**connection, "host": emulator.base_url}),
            "AIRFLOW_VAR_HEYGEN_PUBLISH_ROOT": publish_root.as_uri(),
        }
        v3_emulator = None
        if with_v3:
            v3_emulator = stack.enter_context(
                run_emulator(tmp / "v3-emulator", render="real", api_key=API_KEY, latency=RENDER_SECONDS)
            )
            env[f"AIRFLOW_CONN_{V3_CONN_ID.upper()}"] = json.dumps(
                {**connection, "host": v3_emulator.base_url}
            )
        services = stack.enter_context(AirflowServices(tmp / "airflow", DAGS_FOLDER, env=env))
        services.wait_for_dag(DAG_ID)
        run_id = services.trigger(DAG_ID)
        v3_run_id = None
        if with_v3:
            services.wait_for_dag(V3_DAG_ID)
            services.api("POST", "/api/v2/pools", json_body=V3_POOL)
            v3_run_id = services.trigger(V3_DAG_ID, {"heygen_conn_id": V3_CONN_ID})
        triggers: dict[str, dict[str, Any]] = {}
        v3_triggers: dict[str, dict[str, Any]] = {}
        workers: dict[str, list[tuple[str, bool]]] = {}

        def sample_v3() -> None:
            if v3_run_id is not None:
                v3_triggers.update(triggers_of(services, V3_DAG_ID, v3_run_id))

        def sample(observation: RunObservation) -> None:
            if observation.count("deferred"):
                triggers.update(triggers_of(services, DAG_ID, run_id))
            for ti in observation.task_instances:
                if ti["state"] in ("running", "deferred"):
                    alive = services.task_pid(ti["id"]) is not None
                    workers.setdefault(ti["task_id"], []).append((ti["state"], alive))
            sample_v3()

        try:
            observation = services.wait_for_run(DAG_ID, run_id, RUN_TIMEOUT, watch=sample)
            v3 = None
            if v3_emulator is not None and v3_run_id is not None:
                ended = time.monotonic()
                v3_observation = services.wait_for_run(
                    V3_DAG_ID, v3_run_id, V3_RUN_TIMEOUT, watch=lambda _: sample_v3()
                )
                waited = round(time.monotonic() - ended, 1)
                v3 = V3Run(v3_emulator, v3_run_id, v3_observation, v3_triggers, waited)
        except Exception as err:
            raise AssertionError(f"{err}{services.log_tails()}") from err
        yield PipelineRun(services, emulator, publish_root, run_id, observation, triggers, workers, v3)
