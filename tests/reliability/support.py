"""
What the reliability scenarios share: the counts they report, the emulator's request log, DAG runs with
their console output, and loopback servers that misbehave on purpose (a proxy that refuses, resets or
stalls connections; an HTTP server that answers whatever a test scripts). Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun

    from airflow_heygen.emulator.testing import EmulatorHandle

EXECUTIONS_PATH = "/v1/workflows/executions"
# Environment variable naming the JSON file the suite writes its counts to (scripts/reliability_report.py).
REPORT_ENV_VAR = "HEYGEN_RELIABILITY_REPORT"
FAULT_STATUSES = frozenset({429, 503})
# The report's rows, in the order: each scenario's name starts with one of these.
SCENARIO_ORDER = (
    "Storm",
    "Triggerer killed",
    "Emulator restarted",
    "Network cut",
    "Worker killed",
    "Death between submission",
    "Publish",
)
# The warning both HeyGen hooks log before each retry of a request.
HOOK_RETRY = re.compile(r"HeyGen (?:GET|POST) \S+: .*; retry \d+ in ")


def heygen_connection(base_url: str, api_key: str | None, **extra: float) -> str:
    """
    An ``AIRFLOW_CONN_*`` value of a HeyGen connection.

    :param base_url: the API URL.
    :param api_key: the key; None leaves the password empty (the key then comes from ``HEYGEN_API_KEY``).
    :param extra: retry settings of the connection's extra.
    """
    connection: dict[str, Any] = {"conn_type": "heygen", "host": base_url, "extra": extra}
    if api_key is not None:
        connection["password"] = api_key
    return json.dumps(connection)


@dataclass
class ScenarioCounts:
    """
    One row of RELIABILITY.md's table: what a scenario injected and what came out.

    :param scenario: the scenario's name.
    :param injected: the faults, in a few words.
    :param jobs: HeyGen jobs (or videos) the run asked for.
    :param submissions: submissions that reached HeyGen (the emulator); each one is paid for.
    :param http_retries: HTTP requests that were repeated after a fault.
    :param task_retries: Airflow task tries beyond the first.
    :param failures: tasks that ended failed (expected ones included; see ``notes``).
    :param bytes_lost: bytes of finished videos that did not reach their task's result or destination.
    :param seconds: wall-clock time of the scenario.
    :param notes: what the numbers mean where it is not obvious.
    """

    scenario: str
    injected: str
    jobs: int
    submissions: int
    http_retries: int
    task_retries: int
    failures: int
    bytes_lost: int
    seconds: float
    notes: str = ""


@dataclass
class SecretScan:
    """
    One place scanned for the API key after the scenarios ran.

    :param where: what was scanned.
    :param scanned: how many items (tables, files, lines, runs) were read.
    :param found: how many of them held the key; 0 is the only passing value.
    :param notes: what the scan also confirmed, e.g. that it did see the run's own data.
    """

    where: str
    scanned: int
    found: int
    notes: str = ""


@dataclass
class ReliabilityReport:
    """The counts of every scenario and secrets scan of this session; written as JSON at its end."""

    rows: list[ScenarioCounts] = field(default_factory=list)
    secrets: list[SecretScan] = field(default_factory=list)

    def add(self, row: ScenarioCounts) -> None:
        """
        Record one scenario's counts (replacing an earlier row of the same scenario).

        :param row: the counts.
        """
        self.rows = [existing for existing in self.rows if existing.scenario != row.scenario]
        self.rows.append(row)

    def write(self, path: Path) -> None:
        """
        Write the rows as JSON.

        :param path: the file.
        """
        path.parent.mkdir(parents=True, exist_ok=True)

        def rank(row: ScenarioCounts) -> int:
            return next(
                (index for index, prefix in enumerate(SCENARIO_ORDER) if row.scenario.startswith(prefix)),
                len(SCENARIO_ORDER),
            )

        document = {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "rows": [asdict(row) for row in sorted(self.rows, key=rank)],
            "secrets": [asdict(scan) for scan in self.secrets],
        }
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class LoggedRequest:
    """
    One line of the emulator's request log.

    :param time: Unix time it was answered.
    :param method: HTTP method.
    :param path: path with query.
    :param body: the JSON body as sent (decoded), if any.
    :param status: the status the emulator answered.
    :param raw: the line as written.
    """

    time: float
    method: str
    path: str
    body: Any
    status: int
    raw: str

    @property
    def faulted(self) -> bool:
        """Whether fault injection (or an outage) answered it: 429 or 503."""
        return self.status in FAULT_STATUSES

    @property
    def source_image_url(self) -> str | None:
        """The face swap's source image of a submission, which tells the tasks of a test apart."""
        body = self.body if isinstance(self.body, dict) else {}
        workflow_input = body.get("input") if isinstance(body.get("input"), dict) else {}
        value = workflow_input.get("source_image_url")
        return value if isinstance(value, str) else None


class RequestLog:
    """
    The emulator's JSON-lines request log (it survives emulator restarts; the emulator's stats do not).

    :param path: the log file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self, since: float = 0.0) -> list[LoggedRequest]:
        """
        Every logged request answered at or after ``since``.

        :param since: Unix time.
        """
        if not self.path.exists():
            return []
        entries = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            if item["time"] >= since:
                entries.append(
                    LoggedRequest(
                        item["time"], item["method"], item["path"], item["body"], item["status"], line
                    )
                )
        return entries

    def submissions(self, source_prefix: str, since: float = 0.0) -> list[LoggedRequest]:
        """
        Accepted submissions (POST answered 200) whose source image URL starts with ``source_prefix``.

        :param source_prefix: tells one test's submissions apart from the others'.
        :param since: Unix time.
        """
        return [
            entry
            for entry in self.entries(since)
            if entry.method == "POST"
            and entry.status == 200
            and (entry.source_image_url or "").startswith(source_prefix)
        ]

    def polls_of(self, execution_id: str, since: float = 0.0) -> list[LoggedRequest]:
        """
        Status requests of one execution, in order.

        :param execution_id: the execution.
        :param since: Unix time.
        """
        path = f"{EXECUTIONS_PATH}/{execution_id}"
        return [entry for entry in self.entries(since) if entry.method == "GET" and entry.path == path]


@dataclass(frozen=True)
class RetryAudit:
    """
    How the client retried, read from the request log: one sequence of requests per logical request key
    (a submission's source image, an execution's status path).

    :param retries: requests that were answered 429 or 503 (each was repeated, or ended the budget).
    :param longest_fault_run: the most faulted answers in a row for one key.
    :param retry_after_violations: repeats sent sooner than a 429's ``Retry-After`` allowed.
    """

    retries: int
    longest_fault_run: int
    retry_after_violations: int

    @classmethod
    def of(cls, entries: list[LoggedRequest], retry_after: float) -> RetryAudit:
        """
        Audit ``entries``.

        :param entries: the requests of one scenario.
        :param retry_after: the ``Retry-After`` seconds the emulator sent with its 429s.
        """
        sequences: dict[str, list[LoggedRequest]] = {}
        for entry in entries:
            key = entry.path if entry.method == "GET" else f"POST {entry.source_image_url}"
            sequences.setdefault(key, []).append(entry)
        longest = violations = 0
        for sequence in sequences.values():
            run = 0
            for previous, current in zip([None, *sequence], sequence, strict=False):
                if previous is not None and previous.status == 429:
                    # The log rounds times to the millisecond.
                    violations += current.time - previous.time < retry_after - 0.002
                run = run + 1 if current.faulted else 0
                longest = max(longest, run)
        return cls(sum(entry.faulted for entry in entries), longest, violations)


def video_bytes_lost(emulator: EmulatorHandle, results: list[dict[str, Any]]) -> int:
    """
    Bytes of the finished videos of ``results`` that their ``video_url`` does not deliver whole.

    :param emulator: the emulator, whose media folder holds each execution's output.
    :param results: the HeyGen tasks' return values.
    """
    lost = 0
    for result in results:
        expected = (emulator.data_dir / "media" / f"{result['execution_id']}.mp4").read_bytes()
        with urllib.request.urlopen(result["video_url"], timeout=30) as response:
            delivered = response.read()
        lost += len(expected) if delivered != expected else 0
    return lost


def hook_retries(console: str) -> int:
    """
    How many requests the HeyGen hooks repeated, from the retry warnings in a run's console output.

    :param console: what the run printed.
    """
    return len(HOOK_RETRY.findall(console))


class DagRunner:
    """
    Runs the reliability DAGs with ``dag.test()`` and keeps their console output for the secrets scan.

    ``dag.test()`` runs every task in this process and writes no task log files: what a task logs goes
    to the console, which is captured here.
    """

    def __init__(self) -> None:
        self.console: list[str] = []

    def run(self, dag_id: str, capfd: Any, conf: dict[str, Any] | None = None) -> DagRun:
        """
        Run one DAG of ``tests/dags/heygen_reliability_dags.py`` to its end.

        :param dag_id: the DAG.
        :param capfd: pytest's ``capfd`` fixture of the calling test.
        :param conf: the run's conf.
        """
        from airflow.sdk import DAG

        from tests.dags import heygen_reliability_dags

        dags = {d.dag_id: d for d in vars(heygen_reliability_dags).values() if isinstance(d, DAG)}
        try:
            return dags[dag_id].test(run_conf=conf)
        finally:
            out, err = capfd.readouterr()
            self.console.append(out + err)


def tables_holding(db_path: Path, needle: str) -> tuple[int, list[str]]:
    """
    Scan every column of every table of a sqlite database for ``needle`` (as text or bytes).

    :param db_path: the database.
    :param needle: what to look for.
    :return: how many tables were scanned, and the ``table.column`` names holding ``needle``.
    """
    found = []
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for column in [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]:
                for (value,) in db.execute(f'SELECT "{column}" FROM "{table}"'):
                    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                    if needle in text:
                        found.append(f"{table}.{column}")
                        break
    return len(tables), found


def latest_task_state(db_path: Path, dag_id: str, task_id: str) -> str | None:
    """
    The state of ``task_id`` in the newest run of ``dag_id``, read straight from the sqlite database.

    :param db_path: the metadata database.
    :param dag_id: the DAG.
    :param task_id: the task.
    """
    query = (
        "SELECT ti.state FROM task_instance ti JOIN dag_run dr ON ti.dag_id = dr.dag_id AND "
        "ti.run_id = dr.run_id WHERE ti.dag_id = ? AND ti.task_id = ? ORDER BY dr.id DESC LIMIT 1"
    )
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)) as db:
        try:
            row = db.execute(query, (dag_id, task_id)).fetchone()
        except sqlite3.OperationalError:  # the writer holds a lock for a moment
            return None
    return row[0] if row else None


def wait_until(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """
    Call ``check`` until it returns something truthy and return it; raise ``TimeoutError`` after ``timeout``.

    :param what: what is awaited, for the error.
    :param check: the condition.
    :param timeout: seconds.
    :param interval: seconds between calls.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Watcher:
    """
    Runs ``action`` in a background thread while a test drives a DAG run, and re-raises what it raised.

    :param action: the background work, e.g. waiting for a submission and then cutting the network.
    """

    def __init__(self, action: Callable[[], None]) -> None:
        self._action = action
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self._action()
        except BaseException as err:
            self._error = err

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._thread.join(timeout=60)
        if self._error is not None and exc_info[0] is None:
            raise AssertionError(f"the background action failed: {self._error!r}") from self._error
