"""
The production topology, started for real on 127.0.0.1: a private PostgreSQL cluster, a private Redis
(Celery broker and result backend), moto as S3, the emulator (stub renders), and Airflow with the
CeleryExecutor: two schedulers, two triggerers, two Celery workers (hostnames of their own), one DAG
processor and one API server.

Example::

    with run_topology(tmp_path) as topo:
        run_id = topo.services.trigger("heygen_avatar_faceswap_publish")
        topo.wait(DAG_ID, run_id)  # samples the trigger table and Redis while it runs
        topo.services.kill("triggerer-1")  # kill -9 of one triggerer

Every process is stopped at the end of the ``with`` block, on failure too.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from tests.dags.heygen_topology_dags import BUCKET
from tests.system.backends import MotoS3, Postgres, Redis, moto_s3, private_postgres, private_redis
from tests.system.harness import AirflowServices, RunObservation

PROJECT = Path(__file__).resolve().parents[2]
# The example DAGs the topology runs, and the topology tests' own DAGs.
DAG_FILES = (
    PROJECT / "dags" / "heygen_avatar_faceswap_publish.py",
    PROJECT / "dags" / "heygen_video_manifest.py",
    PROJECT / "dags" / "heygen_v3_personalized.py",
    PROJECT / "tests" / "dags" / "heygen_topology_dags.py",
)
API_KEY = f"hg-topology-{secrets.token_hex(16)}"
REPLICAS = {"scheduler": 2, "triggerer": 2, "celery-worker": 2}
CELERY_CONCURRENCY = 3
# Failover thresholds, low so that the tests need not wait the defaults' 30 s (scheduler, triggerer) and
# 300 s (a task instance whose worker died).
FAILOVER = {
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "15",
    "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "10",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
    "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
}
# Airflow 3.3.2's schedulers both run the asset-orphanage check every [scheduler] parsing_cleanup_interval
# (60 s): started together they run it at the same moments, and when both activate the same new assets
# (published through an AssetAlias) one of them dies on a unique violation of asset_active (an HA race in
# Airflow, not the provider; docs/services.md). Staggered intervals keep the two checks apart.
INSTANCE_ENV = {"scheduler-2": {"AIRFLOW__SCHEDULER__PARSING_CLEANUP_INTERVAL": "67"}}
# Airflow 3.3.2 fails a deferred task whose trigger fires before its worker was reaped
# (apache/airflow#66374): no render completes within seconds, as none does at HeyGen.
RENDER_SECONDS = 10
# Where a client without the aws_default connection would send S3 requests: nothing listens there, so such
# a request fails at once, on loopback, instead of reaching AWS.
NOWHERE = "http://127.0.0.1:9"


@dataclass
class Topology:
    """
    The running topology and what the tests saw while it ran.

    :param services: Airflow.
    :param emulator: the HeyGen emulator (stub renders).
    :param postgres: the metadata database's server.
    :param redis: the Celery broker and result backend.
    :param s3: moto.
    :param home: the ``AIRFLOW_HOME``; also holds the backends' logs.
    :param runs: the runs the tests made, as (DAG id, run id).
    :param triggers: trigger rows seen while tasks were deferred, by their decrypted kwargs.
    :param trigger_assignments: trigger kwargs to every triggerer job id seen running it.
    :param redis_seen: every Redis key and value seen while tasks ran (``"<db>/<key>"`` to the values).
    """

    services: AirflowServices
    emulator: EmulatorHandle
    postgres: Postgres
    redis: Redis
    s3: MotoS3
    home: Path
    runs: list[tuple[str, str]] = field(default_factory=list)
    triggers: dict[str, dict[str, Any]] = field(default_factory=dict)
    trigger_assignments: dict[str, set[int]] = field(default_factory=dict)
    redis_seen: dict[str, set[str]] = field(default_factory=dict)

    @property
    def lineage_file(self) -> Path:
        """Where OpenLineage's file transport writes every process's events (when lineage is on)."""
        return lineage_file(self.home)

    def lineage_events(self) -> list[dict[str, Any]]:
        """Every OpenLineage event written so far, from every worker and scheduler, in file order."""
        path = self.lineage_file
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    _last_redis: float = 0.0

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """
        Trigger a run through the REST API and remember it for the secrets scan.

        :param dag_id: the DAG.
        :param conf: the run's conf.
        """
        run_id = self.services.trigger(dag_id, conf)
        self.runs.append((dag_id, run_id))
        return run_id

    def sample(self) -> None:
        """Record the trigger table (kwargs decrypted) now, and Redis every 2 s."""
        for row in self.services.triggers():
            self.triggers[row["kwargs"]] = row
            if row["triggerer_id"] is not None:
                self.trigger_assignments.setdefault(row["kwargs"], set()).add(int(row["triggerer_id"]))
        if time.monotonic() - self._last_redis > 2:
            self._last_redis = time.monotonic()
            for key, value in self.redis.snapshot().items():
                self.redis_seen.setdefault(key, set()).add(value)

    def wait(
        self,
        dag_id: str,
        run_id: str,
        timeout: float = 300.0,
        watch: Callable[[RunObservation], None] | None = None,
    ) -> RunObservation:
        """
        Wait for a run's end, sampling (:meth:`sample`) after every poll; fail with the components' logs.

        :param dag_id: the DAG.
        :param run_id: the run.
        :param timeout: seconds.
        :param watch: also called after every poll.
        """

        def observe(observation: RunObservation) -> None:
            self.sample()
            if watch is not None:
                watch(observation)

        try:
            return self.services.wait_for_run(dag_id, run_id, timeout, interval=1.0, watch=observe)
        except Exception as err:
            raise AssertionError(f"{err}{self.services.log_tails(25)}") from err

    def triggerer_of(self, job_id: int) -> str:
        """
        The triggerer instance (``triggerer-1`` or ``triggerer-2``) a triggerer job id belongs to.

        :param job_id: a ``trigger.triggerer_id``.
        """
        return next(
            name for name in self.services.of_kind("triggerer") if job_id in self.services.job_ids(name)
        )

    def submissions(self) -> dict[str, int]:
        """The emulator's accepted submissions so far, by workflow type."""
        return dict(self.emulator.stats()["submissions"])

    def jobs_created(self) -> dict[str, int]:
        """The emulator's jobs created so far, by kind (``video``, ``asset``, ``workflow_execution``, ...)."""
        return dict(self.emulator.stats()["jobs_created"])

    def in_flight(self) -> int:
        """The emulator's executions neither completed nor failed, now."""
        by_status = self.emulator.stats()["executions"]
        return sum(count for status, count in by_status.items() if status not in ("completed", "failed"))

    def mapped_log(self, dag_id: str, run_id: str, ti: dict[str, Any], try_number: int) -> str:
        """
        One try's log of any task instance, mapped or not, as the REST API serves it.

        :param dag_id: the DAG.
        :param run_id: the run.
        :param ti: the task instance, as the REST API returns it.
        :param try_number: the try.
        """
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/{try_number}"
        params = {"full_content": "true", "map_index": ti["map_index"]}
        content = self.services.api("GET", path, params=params)["content"]
        return "\n".join(json.dumps(e, sort_keys=True) if isinstance(e, dict) else str(e) for e in content)


def topology_dags_folder(folder: Path) -> Path:
    """
    A DAGs folder with the example pipeline, the example manifest DAG and the topology tests' DAGs.

    :param folder: the folder to create.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for source in DAG_FILES:
        shutil.copy(source, folder / source.name)
    return folder


def heygen_connection(base_url: str) -> str:
    """The ``heygen_default`` connection: the emulator, with :data:`API_KEY`."""
    return json.dumps(
        {"conn_type": "heygen", "host": base_url, "password": API_KEY, "extra": {"retry_min_delay": 0.2}}
    )


def lineage_file(home: Path) -> Path:
    """The OpenLineage events file of a topology whose ``AIRFLOW_HOME`` is ``home``."""
    return home / "openlineage.jsonl"


def lineage_env(home: Path) -> dict[str, str]:
    """
    OpenLineage on, as a deployment configures it, with the file transport (every process appends whole
    lines to one file).

    :param home: the ``AIRFLOW_HOME``.
    """
    transport = {"type": "file", "log_file_path": str(lineage_file(home)), "append": True}
    return {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "heygen-topology",
        "AIRFLOW__OPENLINEAGE__DISABLED": "false",
    }


@contextmanager
def run_topology(tmp: Path, *, lineage: bool = False) -> Iterator[Topology]:
    """
    Start everything, in order (backends, emulator, migration, then all Airflow components at once) and
    stop everything at exit, on failure too.

    :param tmp: an empty folder.
    :param lineage: turn OpenLineage on, with its file transport (:attr:`Topology.lineage_file`); off by
        default, so that benchmarks measure the provider alone.
    """
    home = tmp / "airflow"
    home.mkdir(parents=True)
    with ExitStack() as stack:
        postgres = stack.enter_context(private_postgres(home))
        redis = stack.enter_context(private_redis(home))
        s3 = stack.enter_context(moto_s3(home, BUCKET))
        emulator = stack.enter_context(
            run_emulator(
                tmp / "emulator",
                render="stub",
                api_key=API_KEY,
                latency=RENDER_SECONDS,
                # 20 deferred renders are held at once, and renders of killed tasks outlast their test:
                # the pool, not the plan's concurrency (10 by default), is what these tests bound.
                plan_concurrency=1000,
                request_log=tmp / "emulator" / "requests.jsonl",
            )
        )
        env = {
            "AIRFLOW_CONN_HEYGEN_DEFAULT": heygen_connection(emulator.base_url),
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(s3.connection()),
            "AIRFLOW_VAR_HEYGEN_PUBLISH_ROOT": f"s3://aws_default@{BUCKET}",
            # psycopg 3 is async too; Airflow would otherwise derive an asyncpg URL.
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": postgres.sqlalchemy_url.replace(
                "postgresql+psycopg://", "postgresql+psycopg_async://", 1
            ),
            "AIRFLOW__CELERY__BROKER_URL": redis.url(0),
            "AIRFLOW__CELERY__RESULT_BACKEND": redis.url(1),
            # Task processes inherit what they import from their worker (tests/system/celery_config.py).
            "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "tests.system.celery_config.CELERY_CONFIG",
            "AWS_ENDPOINT_URL": NOWHERE,
            "AWS_EC2_METADATA_DISABLED": "true",
            **FAILOVER,
            **(lineage_env(home) if lineage else {}),
        }
        services = stack.enter_context(
            AirflowServices(
                home,
                topology_dags_folder(tmp / "dags"),
                env=env,
                parallelism=16,
                startup_timeout=240.0,
                database_url=postgres.sqlalchemy_url,
                executor="CeleryExecutor",
                replicas=REPLICAS,
                celery_concurrency=CELERY_CONCURRENCY,
                instance_env=INSTANCE_ENV,
            )
        )
        yield Topology(services, emulator, postgres, redis, s3, home)
