"""
The pipeline the real-services test and ``scripts/screenshots.py`` run: the emulator rendering for
real, real Airflow services on the project's ``dags/`` folder, and one run of the example
``heygen_avatar_faceswap_publish`` (avatar video -> face swap -> publish) triggered through the REST API.
"""

from __future__ import annotations

import json
import secrets
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
    """

    services: AirflowServices
    emulator: EmulatorHandle
    publish_root: Path
    run_id: str
    observation: RunObservation
    triggers: dict[str, dict[str, Any]] = field(default_factory=dict)
    worker_samples: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)

    @property
    def dag_id(self) -> str:
        """The pipeline's DAG id."""
        return DAG_ID


@contextmanager
def run_pipeline(tmp: Path) -> Iterator[PipelineRun]:
    """
    Start the emulator and Airflow, trigger the pipeline through the REST API and wait for its end.

    :param tmp: an empty folder for the emulator's data and the ``AIRFLOW_HOME``.
    """
    connection = {"conn_type": "heygen", "password": API_KEY, "extra": {"retry_min_delay": 0.2}}
    with run_emulator(tmp / "emulator", render="real", api_key=API_KEY, latency=RENDER_SECONDS) as emulator:
        publish_root = tmp / "published"
        env = {
            "AIRFLOW_CONN_HEYGEN_DEFAULT": json.dumps({**connection, "host": emulator.base_url}),
            "AIRFLOW_VAR_HEYGEN_PUBLISH_ROOT": publish_root.as_uri(),
        }
        with AirflowServices(tmp / "airflow", DAGS_FOLDER, env=env) as services:
            services.wait_for_dag(DAG_ID)
            run_id = services.trigger(DAG_ID)
            triggers: dict[str, dict[str, Any]] = {}
            workers: dict[str, list[tuple[str, bool]]] = {}

            def sample(observation: RunObservation) -> None:
                if observation.count("deferred"):
                    triggers.update({row["kwargs"]: row for row in services.triggers()})
                for ti in observation.task_instances:
                    if ti["state"] in ("running", "deferred"):
                        alive = services.task_pid(ti["id"]) is not None
                        workers.setdefault(ti["task_id"], []).append((ti["state"], alive))

            try:
                observation = services.wait_for_run(DAG_ID, run_id, RUN_TIMEOUT, watch=sample)
            except Exception as err:
                raise AssertionError(f"{err}{services.log_tails()}") from err
            yield PipelineRun(services, emulator, publish_root, run_id, observation, triggers, workers)
