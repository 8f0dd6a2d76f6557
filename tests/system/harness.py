"""
Real Airflow 3 services for end-to-end tests: API server, scheduler, DAG processor and triggerer, each
a process of its own, in a private ``AIRFLOW_HOME`` with sqlite (WAL journaling) and the LocalExecutor.

The same harness runs the production topology (``tests/system/topology.py``): with ``database_url``
(PostgreSQL), ``executor="CeleryExecutor"`` and ``replicas`` (e.g. two schedulers, two triggerers, two
``celery-worker``), every instance gets a name of its own (``scheduler-1``, ``scheduler-2``, ...), a
hostname of its own (``[core] hostname_callable``, so the job table and task instances tell them apart)
and its own health check (its job's heartbeat; a Celery worker's "ready" line).

Example::

    with AirflowServices(tmp_path / "airflow", dags_folder, env={"AIRFLOW_CONN_HEYGEN_DEFAULT": uri}) as af:
        run_id = af.trigger("my_dag")
        af.wait_for_run("my_dag", run_id, timeout=120, watch=lambda seen: ...)  # seen: RunObservation
        af.kill("triggerer")  # kill -9 of the triggerer and every process it started
        af.start("triggerer")  # and back: returns once the new one heartbeats

Everything listens on 127.0.0.1 only; every wait is bounded; :meth:`AirflowServices.close` (also run
by the ``with`` block, on failure too) stops every process it started, task processes included.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
# Kinds of component; several instances of one kind are named "<kind>-<n>".
KINDS = (*COMPONENTS, "celery-worker")
# The job type each kind's job row has in the metadata database.
_JOB_TYPES = {"scheduler": "SchedulerJob", "dag-processor": "DagProcessorJob", "triggerer": "TriggererJob"}
# The hostname callable of instances with hostnames of their own; it reads HOSTNAME_ENV.
HOSTNAME_CALLABLE = "tests.system.hostname.hostname"
HOSTNAME_ENV = "HEYGEN_SERVICES_HOSTNAME"
# Where each component reports its heartbeat in GET /api/v2/monitor/health.
_HEALTH_KEYS = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}
TERMINAL_RUN_STATES = frozenset({"success", "failed"})
USERNAME = "admin"


class ServicesError(RuntimeError):
    """A component did not start, died, or a wait ran out of time."""


# Held while one set of Airflow services migrates and starts: two start-ups at once (pytest-xdist runs the
# topology beside the other services tests) compete for the two cores and may miss their timeouts.
START_UP_LOCK = Path(tempfile.gettempdir()) / "airflow-heygen-services-start-up.lock"


@contextlib.contextmanager
def one_start_up_at_a_time() -> Iterator[None]:
    """Wait until no other test process is starting Airflow services, and hold that while starting ours."""
    with START_UP_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@dataclass
class Component:
    """
    One running Airflow component.

    :param name: ``api-server``, ``scheduler``, ``dag-processor`` or ``triggerer``.
    :param process: its main process, started in a session (and process group) of its own.
    :param log_path: where its stdout and stderr go.
    :param started: when it was started (UTC).
    """

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    started: dt.datetime


@dataclass
class RunObservation:
    """
    What :meth:`AirflowServices.wait_for_run` saw while polling: every state of every task instance.

    :param run: the DAG run at the last poll, as the REST API returns it.
    :param task_instances: the task instances at the last poll.
    :param task_states: task id (``task[map_index]`` when mapped) to the states seen, in order,
        without repeats.
    """

    run: dict[str, Any]
    task_instances: list[dict[str, Any]] = field(default_factory=list)
    task_states: dict[str, list[str]] = field(default_factory=dict)

    def count(self, state: str) -> int:
        """
        How many task instances were in ``state`` at the last poll.

        :param state: a task instance state, e.g. ``"deferred"``.
        """
        return sum(1 for ti in self.task_instances if ti["state"] == state)

    def saw(self, task_id: str, state: str) -> bool:
        """
        Whether the task instance was seen in ``state``.

        :param task_id: the task's id.
        :param state: a task instance state, e.g. ``"deferred"``.
        """
        return state in self.task_states.get(task_id, [])


def _aware(moment: dt.datetime) -> dt.datetime:
    """A timestamp from the database as an aware UTC datetime (sqlite returns naive or text ones)."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def trigger_kwargs(text: str) -> dict[str, Any]:
    """
    A trigger row's decrypted kwargs (see :meth:`AirflowServices.triggers`) as the trigger gets them:
    Airflow stores them serialized, each value (and the whole) wrapped as ``{"__var": ..., "__type": ...}``.

    :param text: the row's ``kwargs``.
    """
    decoded = json.loads(text)
    inner = decoded.get("__var", decoded) if isinstance(decoded, dict) else {}
    return {
        key: value.get("__var", value) if isinstance(value, dict) else value for key, value in inner.items()
    }


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stat_fields(stat: Path) -> list[str]:
    """The fields of a ``/proc/<pid>/stat`` after the command name: state, ppid, ... (``man proc``)."""
    return stat.read_text().rsplit(")", 1)[1].split()


def _live_processes() -> dict[int, int]:
    """Every live process (zombies excluded) and its parent: pid -> ppid."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = _stat_fields(stat)
            if fields[0] != "Z":
                parents[int(stat.parent.name)] = int(fields[1])
    return parents


def _process_tree(root: int) -> list[int]:
    """
    A live process and all its live descendants. They may span several process groups: Airflow's task
    supervisor starts each task process in a session of its own.
    """
    parents = _live_processes()
    tree = [root] if root in parents else []
    for pid in tree:
        tree.extend(child for child, parent in parents.items() if parent == pid)
    return tree


def _reap(process: subprocess.Popen[bytes], others: list[int], deadline: float) -> bool:
    """Wait until a component's main process and the ``others`` have exited; False at ``deadline``."""
    try:
        process.wait(timeout=max(deadline - time.monotonic(), 0.01))
    except subprocess.TimeoutExpired:
        return False
    while set(others) & set(_live_processes()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _signal_tree(pids: list[int], sig: int) -> None:
    """Send ``sig`` to every process group among ``pids``, so no grandchild is left behind."""
    groups = set()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            groups.add(os.getpgid(pid))
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, sig)


def _wait_until(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    """
    Call ``check`` until it returns something truthy, and return that; raise after ``timeout``.

    :param what: what is awaited, for the error message.
    :param check: returns a truthy value when done.
    :param timeout: seconds.
    :param interval: seconds between calls.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise ServicesError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


class AirflowServices:
    """
    Real Airflow services in a private ``AIRFLOW_HOME``.

    The configuration is lean for two cores: one API worker, one parsing process, a parallelism of
    ``parallelism``, no log-serving sidecars (every component shares the local log folder). The
    simple auth manager has one admin user whose password lives in the home; :meth:`api` sends its JWT.

    :param home: the ``AIRFLOW_HOME`` to create; holds ``airflow.db``, ``logs/`` and one
        ``<component>.log`` per component.
    :param dags_folder: the DAGs folder.
    :param env: extra environment of every component, e.g. ``AIRFLOW_CONN_HEYGEN_DEFAULT``.
    :param parallelism: ``[core] parallelism``: task instances running at once.
    :param startup_timeout: seconds a component may take to become healthy.
    :param database_url: ``[database] sql_alchemy_conn``, e.g. ``postgresql+psycopg://...``; sqlite in the
        home by default.
    :param executor: ``[core] executor``; ``CeleryExecutor`` needs its broker in ``env``.
    :param replicas: instances per kind of :data:`KINDS` (``celery-worker`` included), e.g.
        ``{"scheduler": 2, "celery-worker": 2}``; one of each of :data:`COMPONENTS` by default. With it,
        each instance has a hostname of its own, the instance's name.
    :param celery_concurrency: task processes per Celery worker.
    :param instance_env: more environment of single instances, by instance name (``scheduler-2``).
    """

    def __init__(
        self,
        home: Path,
        dags_folder: Path,
        env: Mapping[str, str] | None = None,
        *,
        parallelism: int = 4,
        startup_timeout: float = 120.0,
        database_url: str | None = None,
        executor: str = "LocalExecutor",
        replicas: Mapping[str, int] | None = None,
        celery_concurrency: int = 2,
        instance_env: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.home = Path(home)
        self.dags_folder = Path(dags_folder)
        self.db_path = self.home / "airflow.db"
        self.database_url = database_url or f"sqlite:///{self.db_path}"
        self.is_sqlite = self.database_url.startswith("sqlite")
        self.executor = executor
        self.celery_concurrency = celery_concurrency
        self.instance_env = {name: dict(extra) for name, extra in (instance_env or {}).items()}
        self.distinct_hostnames = replicas is not None
        counts = {**dict.fromkeys(COMPONENTS, 1), **(replicas or {})}
        unknown = set(counts) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown component kinds {sorted(unknown)}; of {KINDS}")
        # Every instance's name, in start order; the kind alone when there is one instance of it.
        self.names = [
            kind if count == 1 else f"{kind}-{n}"
            for kind in KINDS
            for count in [counts.get(kind, 0)]
            for n in range(1, count + 1)
        ]
        self._kinds = {
            name: next(kind for kind in KINDS if name == kind or name.startswith(f"{kind}-"))
            for name in self.names
        }
        self.logs_folder = self.home / "logs"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.startup_timeout = startup_timeout
        self.password = secrets.token_urlsafe(16)
        self.fernet_key = Fernet.generate_key().decode()
        self.components: dict[str, Component] = {}
        self._token: str | None = None
        self._http = requests.Session()
        self.env = self._environment(parallelism, env or {})

    def _environment(self, parallelism: int, extra: Mapping[str, str]) -> dict[str, str]:
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW_", "AIRFLOW__", "HEYGEN_")) and k != "PYTHONPATH"
        }
        project_root = Path(__file__).resolve().parents[2]
        passwords = self.home / "simple_auth_manager_passwords.json"
        return {
            **inherited,
            "PYTHONPATH": str(project_root),
            "PYTHONUNBUFFERED": "1",
            "NO_COLOR": "1",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": self.executor,
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database_url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(24),
            "AIRFLOW__API__EXPOSE_CONFIG": "False",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            **({"AIRFLOW__CORE__HOSTNAME_CALLABLE": HOSTNAME_CALLABLE} if self.distinct_hostnames else {}),
            **extra,
        }

    def kind(self, name: str) -> str:
        """
        The kind of an instance (``scheduler`` for ``scheduler-2``).

        :param name: one of :attr:`names`.
        """
        if name not in self._kinds:
            raise ValueError(f"unknown component {name!r}; one of {self.names}")
        return self._kinds[name]

    def of_kind(self, kind: str) -> list[str]:
        """
        The names of every instance of one kind.

        :param kind: one of :data:`KINDS`.
        """
        return [name for name in self.names if self._kinds[name] == kind]

    def hostname(self, name: str) -> str:
        """
        The hostname an instance reports (job rows, task instances): its name when instances have hostnames
        of their own.

        :param name: one of :attr:`names`.
        """
        return name if self.distinct_hostnames else ""

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> AirflowServices:
        try:
            with one_start_up_at_a_time():
                self.migrate()
                self.start_all()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def migrate(self, timeout: float = 180.0) -> None:
        """
        Create the home, the simple auth manager's password file and the migrated sqlite database.

        The database is switched to WAL journaling (a property of the file) so that readers never block
        the components' writers.

        :param timeout: seconds ``airflow db migrate`` may take.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        passwords = Path(self.env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
        passwords.write_text(json.dumps({USERNAME: self.password}))
        log_path = self.home / "db-migrate.log"
        with log_path.open("wb") as log:
            try:
                done = subprocess.run(
                    [sys.executable, "-m", "airflow", "db", "migrate"],
                    env=self.env,
                    cwd=self.home,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise ServicesError(
                    f"airflow db migrate took over {timeout:.0f}s{self._tail(log_path)}"
                ) from None
        if done.returncode != 0:
            raise ServicesError(f"airflow db migrate failed{self._tail(log_path)}")
        if self.is_sqlite:
            with contextlib.closing(sqlite3.connect(self.db_path)) as db:
                db.execute("PRAGMA journal_mode=WAL")

    def start_all(self) -> None:
        """Start every component at once (their start-ups overlap) and wait until all are healthy."""
        for name in self.names:
            self._spawn(name)
        for name in self.names:
            self.wait_healthy(name)

    def start(self, name: str) -> None:
        """
        Start one component and wait until it is healthy (the API server answers; the others heartbeat).

        :param name: one of :data:`COMPONENTS`.
        :raises ServicesError: when it is already running, exits, or is not healthy in time.
        """
        self._spawn(name)
        self.wait_healthy(name)

    def _spawn(self, name: str) -> None:
        kind = self.kind(name)
        if self.running(name):
            raise ServicesError(f"{name} is already running")
        command = [sys.executable, "-m", "airflow", kind]
        if kind in ("scheduler", "triggerer"):
            command.append("--skip-serve-logs")
        if kind == "celery-worker":
            command[3:] = [
                "celery",
                "worker",
                "--celery-hostname",
                f"{name}@%h",
                "--concurrency",
                str(self.celery_concurrency),
                "--skip-serve-logs",
                "--without-mingle",
                "--without-gossip",
            ]
        env = {**self.env, **self.instance_env.get(name, {})}
        if self.distinct_hostnames:
            env[HOSTNAME_ENV] = self.hostname(name)
        log_path = self.home / f"{name}.log"
        started = dt.datetime.now(dt.UTC)
        with log_path.open("ab") as log:
            log.write(f"==== {started.isoformat()} starting {' '.join(command[2:])}\n".encode())
            log.flush()
            process = subprocess.Popen(
                command,
                env=env,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.components[name] = Component(name, process, log_path, started)

    def wait_healthy(self, name: str, timeout: float | None = None) -> None:
        """
        Wait until a started component is healthy; for the scheduler, DAG processor and triggerer this
        means a heartbeat newer than its start, so a restarted one is not mistaken for its dead predecessor.

        :param name: one of :data:`COMPONENTS`.
        :param timeout: seconds; the harness's ``startup_timeout`` by default.
        """
        component = self.components[name]
        kind = self.kind(name)
        if kind == "celery-worker":
            ready = lambda: self._celery_ready(name)  # noqa: E731
            _wait_until(f"{name} to be ready", ready, timeout or self.startup_timeout)
            return
        if self.distinct_hostnames and kind in _JOB_TYPES:
            _wait_until(
                f"{name} to heartbeat", lambda: self._job_beats(name), timeout or self.startup_timeout
            )
            return

        def healthy() -> bool:
            self._check_alive(name)
            try:
                response = self._http.get(f"{self.base_url}/api/v2/monitor/health", timeout=5)
            except requests.RequestException:
                return False
            if response.status_code != 200:
                return False
            if name == "api-server":
                return True
            key = _HEALTH_KEYS[name]
            status = response.json().get(key) or {}
            beat = status.get(f"latest_{key}_heartbeat")
            if status.get("status") != "healthy" or not isinstance(beat, str):
                return False
            # The job row is created at start-up; allow for the start's own second of rounding.
            return dt.datetime.fromisoformat(beat) >= component.started - dt.timedelta(seconds=1)

        _wait_until(f"{name} to be healthy", healthy, timeout or self.startup_timeout)

    def _celery_ready(self, name: str) -> bool:
        """Whether a Celery worker logged that it is ready since it was started."""
        self._check_alive(name)
        component = self.components[name]
        marker = f"==== {component.started.isoformat()} starting".encode()
        text = component.log_path.read_bytes()
        return b" ready." in text[text.rfind(marker) :]

    def _job_beats(self, name: str) -> bool:
        """Whether an instance's job (found by its hostname) heartbeat since the instance was started."""
        self._check_alive(name)
        started = self.components[name].started - dt.timedelta(seconds=1)
        rows = self.query(
            "SELECT latest_heartbeat FROM job WHERE job_type = ? AND hostname = ? AND state = 'running'",
            (_JOB_TYPES[self.kind(name)], self.hostname(name)),
        )
        return any(_aware(beat) >= started for (beat,) in rows if beat is not None)

    def silent_for(self, name: str) -> float:
        """
        Seconds since the latest heartbeat of an instance's job (by its hostname), e.g. right after a kill:
        how long it has already looked dead to the others' health checks.

        :param name: a scheduler, DAG processor or triggerer instance.
        """
        rows = self.query(
            "SELECT latest_heartbeat FROM job WHERE job_type = ? AND hostname = ?",
            (_JOB_TYPES[self.kind(name)], self.hostname(name)),
        )
        beats = [_aware(beat) for (beat,) in rows if beat is not None]
        if not beats:
            return 0.0
        return max(0.0, (dt.datetime.now(dt.UTC) - max(beats)).total_seconds())

    def job_ids(self, name: str) -> set[int]:
        """
        The ids of every job row an instance (by its hostname) ever had, e.g. a triggerer's ``triggerer_id``.

        :param name: a scheduler, DAG processor or triggerer instance.
        """
        rows = self.query(
            "SELECT id FROM job WHERE job_type = ? AND hostname = ?",
            (_JOB_TYPES[self.kind(name)], self.hostname(name)),
        )
        return {int(job_id) for (job_id,) in rows}

    def running(self, name: str) -> bool:
        """
        Whether the component's main process is alive.

        :param name: one of :data:`COMPONENTS`.
        """
        component = self.components.get(name)
        return component is not None and component.process.poll() is None

    def processes(self, name: str) -> list[int]:
        """
        Ids of every live process of a component: its main process and all its descendants (the
        scheduler's LocalExecutor workers and their task processes, the triggerer's trigger runner, ...).

        :param name: one of :data:`COMPONENTS`.
        """
        component = self.components.get(name)
        return _process_tree(component.process.pid) if component is not None else []

    def cpu_seconds(self) -> dict[str, float]:
        """
        CPU seconds (user and system) each component used so far: its live processes' own and that of
        the children they reaped (task processes, gunicorn or uvicorn workers, ...).
        """
        tick = os.sysconf("SC_CLK_TCK")
        used = {}
        for name in self.components:
            total = 0
            for pid in self.processes(name):
                with contextlib.suppress(OSError, ValueError, IndexError):
                    fields = _stat_fields(Path(f"/proc/{pid}/stat"))
                    total += sum(int(field) for field in fields[11:15])  # utime stime cutime cstime
            used[name] = total / tick
        return used

    def task_pid(self, ti_id: str) -> int | None:
        """
        The process running a task instance right now (titled ``airflow worker -- <ti id>`` by the task
        runner, a child of one of the scheduler's LocalExecutor workers), or None.

        :param ti_id: the task instance's ``id`` from the REST API.
        """
        title = f"airflow worker -- {ti_id}"
        runners = [*self.of_kind("scheduler"), *self.of_kind("celery-worker")]
        for pid in [pid for name in runners for pid in self.processes(name)]:
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                if cmdline == title:
                    return pid
        return None

    def kill(self, name: str, sig: int = signal.SIGKILL, timeout: float = 30.0) -> None:
        """
        Send ``sig`` to every process of the component (``kill -9`` by default, as a crashed machine
        would: its task processes die with it) and wait until all are gone.

        :param name: one of :data:`COMPONENTS`.
        :param sig: the signal.
        :param timeout: seconds to wait for them to exit; then they are killed with SIGKILL.
        """
        self._terminate([name], sig, timeout)

    def stop(self, name: str, timeout: float = 30.0) -> None:
        """
        Stop a component gracefully (SIGTERM to all its processes; SIGKILL after ``timeout``).

        :param name: one of :data:`COMPONENTS`.
        :param timeout: seconds to wait.
        """
        self._terminate([name], signal.SIGTERM, timeout)

    def close(self) -> None:
        """Stop every component at once (SIGTERM, SIGKILL after 20 s); safe to call twice."""
        self._terminate(list(self.components), signal.SIGTERM, 20.0)
        self._http.close()

    def _terminate(self, names: list[str], sig: int, timeout: float) -> None:
        """Signal every process of ``names`` at once and reap them; SIGKILL what outlives ``timeout``."""
        trees = {name: self.processes(name) for name in names if name in self.components}
        stopping = [(self.components.pop(name), pids) for name, pids in trees.items()]
        for _component, pids in stopping:
            _signal_tree(pids, sig)
        deadline = time.monotonic() + timeout
        for component, pids in stopping:
            if not _reap(component.process, pids, deadline):
                _signal_tree(pids, signal.SIGKILL)
                if not _reap(component.process, pids, time.monotonic() + 10):
                    raise ServicesError(f"{component.name}'s processes survived SIGKILL")

    def _check_alive(self, name: str) -> None:
        component = self.components[name]
        code = component.process.poll()
        if code is not None:
            raise ServicesError(f"{name} exited with code {code}{self._tail(component.log_path)}")

    @staticmethod
    def _tail(path: Path, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            return f"\n--- {path.name} (tail) ---\n" + "\n".join(text)
        return ""

    def log_tails(self, lines: int = 40) -> str:
        """
        The last lines of every component's log, for a failing test's message.

        :param lines: lines per component.
        """
        return "".join(self._tail(self.home / f"{name}.log", lines) for name in self.names)

    # -- REST API --------------------------------------------------------------------------------

    def token(self) -> str:
        """A JWT of the admin user from the simple auth manager's ``POST /auth/token``."""
        if self._token is None:
            response = self._http.post(
                f"{self.base_url}/auth/token",
                json={"username": USERNAME, "password": self.password},
                timeout=30,
            )
            response.raise_for_status()
            self._token = str(response.json()["access_token"])
        return self._token

    def api(self, method: str, path: str, *, json_body: Any = None, params: Any = None) -> Any:
        """
        Call the REST API as the admin user and return the decoded JSON answer.

        :param method: HTTP method.
        :param path: path below the server, e.g. ``/api/v2/dags``.
        :param json_body: JSON request body.
        :param params: query parameters.
        :raises ServicesError: on an answer other than 2xx.
        """
        response = self._http.request(
            method,
            self.base_url + path,
            json=json_body,
            params=params,
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=30,
        )
        if not response.ok:
            raise ServicesError(f"{method} {path} answered {response.status_code}: {response.text[:2000]}")
        return response.json() if response.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 90.0) -> dict[str, Any]:
        """
        Wait until the DAG processor has parsed ``dag_id`` without import errors, and return the DAG.

        :param dag_id: the DAG's id.
        :param timeout: seconds.
        :raises ServicesError: when the DAG does not appear in time (import errors are in the message).
        """

        def parsed() -> dict[str, Any] | None:
            self._check_alive("dag-processor")
            dags = self.api("GET", "/api/v2/dags", params={"dag_id_pattern": dag_id})["dags"]
            return next((d for d in dags if d["dag_id"] == dag_id), None)

        try:
            return dict(_wait_until(f"DAG {dag_id} to be parsed", parsed, timeout, 1.0))
        except ServicesError as err:
            raise ServicesError(f"{err}; import errors: {self.import_errors()}") from None

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None) -> str:
        """
        Unpause ``dag_id`` and create a manual run of it through the REST API; return its run id.

        :param dag_id: a parsed DAG.
        :param conf: the run's ``conf`` (overrides of the DAG's params).
        """
        self.api("PATCH", f"/api/v2/dags/{dag_id}", json_body={"is_paused": False})
        run = self.api(
            "POST",
            f"/api/v2/dags/{dag_id}/dagRuns",
            json_body={"logical_date": None, "conf": dict(conf or {})},
        )
        return str(run["dag_run_id"])

    def import_errors(self) -> list[dict[str, Any]]:
        """The DAG processor's import errors, from the REST API."""
        return list(self.api("GET", "/api/v2/importErrors")["import_errors"])

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """
        Every run of a DAG, oldest first (manual, scheduled and asset-triggered ones).

        :param dag_id: the DAG's id.
        """
        params = {"order_by": "run_after", "limit": 100}
        return list(self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns", params=params)["dag_runs"])

    def wait_for_first_run(self, dag_id: str, timeout: float = 60.0) -> str:
        """
        Wait until a DAG has a run, e.g. one the scheduler created for an asset event, and return its id.

        :param dag_id: the DAG's id.
        :param timeout: seconds.
        """
        runs = _wait_until(f"a run of {dag_id}", lambda: self.dag_runs(dag_id), timeout, 1.0)
        return str(runs[0]["dag_run_id"])

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """
        A DAG run as the REST API returns it.

        :param dag_id: the DAG's id.
        :param run_id: the run's id.
        """
        return dict(self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}"))

    def wait_for_run(
        self,
        dag_id: str,
        run_id: str,
        timeout: float = 180.0,
        interval: float = 0.5,
        watch: Callable[[RunObservation], None] | None = None,
    ) -> RunObservation:
        """
        Poll a run until it is ``success`` or ``failed``, recording every task instance state seen.

        :param dag_id: the DAG's id.
        :param run_id: the run's id.
        :param timeout: seconds.
        :param interval: seconds between polls; states shorter than this may go unseen (the audit log
            of :meth:`task_events` keeps every state change).
        :param watch: called after every poll with the observation so far, e.g. to kill a component
            once enough tasks are deferred, or to read the trigger table while they are.
        :raises ServicesError: when the run has not ended in time, or a running component died.
        """
        observation = RunObservation(run={})

        def ended() -> bool:
            for name in list(self.components):
                self._check_alive(name)
            observation.task_instances = self.task_instances(dag_id, run_id)
            for ti in observation.task_instances:
                key = ti["task_id"] if ti["map_index"] < 0 else f"{ti['task_id']}[{ti['map_index']}]"
                seen = observation.task_states.setdefault(key, [])
                if ti["state"] and (not seen or seen[-1] != ti["state"]):
                    seen.append(ti["state"])
            observation.run = self.dag_run(dag_id, run_id)
            if watch is not None:
                watch(observation)
            return observation.run["state"] in TERMINAL_RUN_STATES

        try:
            _wait_until(f"run {run_id} of {dag_id} to end", ended, timeout, interval)
        except ServicesError as err:
            raise ServicesError(f"{err}; task states seen: {observation.task_states}") from None
        return observation

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """
        The run's task instances (state, try_number, ...).

        :param dag_id: the DAG's id.
        :param run_id: the run's id.
        """
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
        return list(self.api("GET", path, params={"limit": 100})["task_instances"])

    def tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        """
        Every try of a task instance (task instance history), oldest first.

        :param dag_id: the DAG's id.
        :param run_id: the run's id.
        :param task_id: the task's id.
        """
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries"
        return list(self.api("GET", path)["task_instances"])

    def extra_links(self, dag_id: str, run_id: str, task_id: str) -> dict[str, str | None]:
        """
        A task instance's extra links, name to URL, from the REST API.

        :param dag_id: the DAG's id.
        :param run_id: the run's id.
        :param task_id: the task's id.
        """
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/links"
        return dict(self.api("GET", path)["extra_links"])

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """
        A try's log as the REST API serves it (worker and triggerer parts), as text.

        :param dag_id: the DAG's id.
        :param run_id: the run's id.
        :param task_id: the task's id.
        :param try_number: the try.
        """
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        content = self.api("GET", path, params={"full_content": "true"})["content"]
        return "\n".join(
            json.dumps(entry, sort_keys=True) if isinstance(entry, dict) else str(entry) for entry in content
        )

    def task_events(self, dag_id: str, run_id: str, task_id: str, map_index: int | None = None) -> list[str]:
        """
        The audit log's events of a task instance, oldest first: every state it entered (``running``,
        ``deferred``, ``success``, ...), as the task runners and the API server recorded them.

        :param dag_id: the DAG's id.
        :param run_id: the run's id.
        :param task_id: the task's id.
        :param map_index: one mapped task instance's index (None: every instance of the task).
        """
        params: dict[str, Any] = {
            "dag_id": dag_id,
            "run_id": run_id,
            "task_id": task_id,
            "order_by": "event_log_id",
            "limit": 100,
        }
        if map_index is not None:
            params["map_index"] = map_index
        return [entry["event"] for entry in self.api("GET", "/api/v2/eventLogs", params=params)["event_logs"]]

    def xcom(
        self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1
    ) -> Any:
        """
        The value of one XCom of a task instance, from the REST API.

        :param dag_id: the DAG's id.
        :param run_id: the run's id.
        :param task_id: the task's id.
        :param key: the XCom key.
        :param map_index: the mapped task instance's index (-1: not mapped).
        """
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.api("GET", path, params={"deserialize": "true", "map_index": map_index})["value"]

    def hook_meta(self) -> dict[str, dict[str, Any]]:
        """Connection types and their form fields, as the connection form reads them, by type."""
        return {hook["connection_type"]: hook for hook in self.api("GET", "/ui/connections/hook_meta")}

    # -- files and the metadata database ---------------------------------------------------------

    @contextlib.contextmanager
    def database(self) -> Iterator[Any]:
        """
        A connection to the metadata database: read-only sqlite3, or an autocommit psycopg connection
        (``%s`` placeholders) for PostgreSQL. :meth:`query` takes ``?`` placeholders for both.
        """
        if self.is_sqlite:
            db: Any = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        else:
            import psycopg

            url = self.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
            db = psycopg.connect(url, autocommit=True, connect_timeout=10)
        try:
            yield db
        finally:
            db.close()

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """
        Run one query on the metadata database and return its rows.

        :param sql: the query, with ``?`` placeholders (sqlite and PostgreSQL alike).
        :param params: the values of the placeholders.
        """
        with self.database() as db:
            if not self.is_sqlite:
                sql = sql.replace("%", "%%").replace("?", "%s")
            return [tuple(row) for row in db.execute(sql, params).fetchall()]

    def triggers(self) -> list[dict[str, Any]]:
        """
        The trigger table now: each row's id, classpath, triggerer job id and its kwargs decrypted (Airflow
        stores them encrypted with the Fernet key) as text. Rows live only while their task is deferred.
        """
        fernet = Fernet(self.fernet_key.encode())
        rows = self.query("SELECT id, classpath, kwargs, triggerer_id FROM trigger")
        return [
            {
                "id": trigger_id,
                "classpath": classpath,
                "kwargs": kwargs if kwargs.startswith("{") else fernet.decrypt(kwargs.encode()).decode(),
                "triggerer_id": triggerer_id,
            }
            for trigger_id, classpath, kwargs, triggerer_id in rows
        ]

    def find_in_database(self, needle: str) -> list[str]:
        """
        Every ``table.column`` of the metadata database holding ``needle`` in any row (text or bytes).

        :param needle: the text to look for, e.g. an API key.
        """
        if not self.is_sqlite:
            return self._find_in_postgres(needle)
        found = []
        encoded = needle.encode()
        with self.database() as db:
            tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
                for column in columns:
                    for (value,) in db.execute(f'SELECT "{column}" FROM "{table}"'):
                        if (isinstance(value, str) and needle in value) or (
                            isinstance(value, bytes) and encoded in value
                        ):
                            found.append(f"{table}.{column}")
                            break
        return found

    def database_columns(self) -> list[tuple[str, str, str]]:
        """Every (table, column, data type) of the PostgreSQL metadata database's ``public`` schema."""
        return [
            (str(table), str(column), str(kind))
            for table, column, kind in self.query(
                "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
                "JOIN information_schema.tables t ON t.table_schema = c.table_schema "
                "AND t.table_name = c.table_name "
                "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
                "ORDER BY c.table_name, c.ordinal_position"
            )
        ]

    def _find_in_postgres(self, needle: str) -> list[str]:
        """:meth:`find_in_database` on PostgreSQL: every column of every table (bytea as bytes, else text)."""
        found = []
        with self.database() as db:
            for table, column, kind in self.database_columns():
                if kind == "bytea":
                    condition, value = f'position(%s::bytea in "{column}") > 0', needle.encode()
                else:
                    condition, value = f'strpos("{column}"::text, %s) > 0', needle
                hit = db.execute(f'SELECT 1 FROM "{table}" WHERE {condition} LIMIT 1', (value,)).fetchone()
                if hit:
                    found.append(f"{table}.{column}")
        return found

    def find_in_files(self, needle: str) -> list[Path]:
        """
        Every file under the home (task, triggerer and component logs, the database and its WAL) that
        holds ``needle``.

        :param needle: the text to look for.
        """
        encoded = needle.encode()
        return [
            path for path in sorted(self.home.rglob("*")) if path.is_file() and encoded in path.read_bytes()
        ]
