"""
The production topology's backing services, each a private instance on 127.0.0.1 and a free port, in a
temporary folder, in a process group of its own, and always stopped (the ``with`` blocks stop them on
failure too):

* :func:`private_postgres`: a PostgreSQL cluster of its own (``initdb`` into a temporary folder, run by
  the ``postgres`` system user when the tests run as root, since PostgreSQL refuses to run as root);
* :func:`private_redis`: ``redis-server`` without persistence;
* :func:`moto_s3`: ``moto_server`` from ``moto[server]`` as S3, with one bucket.

Each raises :class:`BackendMissing` (naming the Debian package to install) when its program is missing.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.system.harness import ServicesError, free_port


class BackendMissing(RuntimeError):
    """
    A program the topology needs is not installed.

    :param package: the Debian package that provides it.
    """

    def __init__(self, what: str, package: str) -> None:
        super().__init__(f"{what} is not installed (apt-get install -y {package})")
        self.package = package


def _spawn(command: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``command`` in a session (and process group) of its own, its output into ``log_path``."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
    """Signal the process group, wait, then SIGKILL whatever is left of it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def _wait(what: str, check: Any, process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServicesError(f"{what} exited with code {process.returncode}{_tail(log_path)}")
        with contextlib.suppress(Exception):
            if check():
                return
        if time.monotonic() > deadline:
            raise ServicesError(f"{what} not ready after {timeout:.0f}s{_tail(log_path)}")
        time.sleep(0.2)


def _tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        text = path.read_text(errors="replace").splitlines()[-lines:]
        return f"\n--- {path.name} (tail) ---\n" + "\n".join(text)
    return ""


# -- PostgreSQL ----------------------------------------------------------------------------------------


def postgres_bin() -> Path:
    """
    The folder of the newest installed PostgreSQL's server programs (Debian: ``/usr/lib/postgresql/*/bin``).

    :raises BackendMissing: when there is no ``initdb``.
    """
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb and Path(initdb).with_name("postgres").exists():
        return Path(initdb).resolve().parent
    raise BackendMissing("PostgreSQL (initdb)", "postgresql")


@dataclass
class Postgres:
    """
    A running private PostgreSQL cluster with a database ``airflow`` owned by user ``airflow``.

    :param bin_dir: its server programs.
    :param port: the port on 127.0.0.1.
    :param password: the ``airflow`` user's password.
    :param log_path: the server's log.
    """

    bin_dir: Path
    port: int
    password: str = field(repr=False)
    log_path: Path
    user: str = "airflow"
    database: str = "airflow"

    @property
    def sqlalchemy_url(self) -> str:
        """What ``[database] sql_alchemy_conn`` takes (psycopg 3)."""
        return f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    @property
    def conninfo(self) -> str:
        """A libpq connection string for psycopg and ``pg_dump``."""
        return (
            f"host=127.0.0.1 port={self.port} user={self.user} password={self.password} "
            f"dbname={self.database}"
        )

    def connect(self) -> Any:
        """A new autocommit psycopg connection to the ``airflow`` database."""
        import psycopg

        return psycopg.connect(self.conninfo, autocommit=True, connect_timeout=10)

    def dump(self) -> bytes:
        """The whole ``airflow`` database as ``pg_dump`` writes it (plain SQL)."""
        done = subprocess.run(
            [
                str(self.bin_dir / "pg_dump"),
                "--host=127.0.0.1",
                f"--port={self.port}",
                f"--username={self.user}",
                "--no-password",
                self.database,
            ],
            env={**os.environ, "PGPASSWORD": self.password},
            capture_output=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise ServicesError(f"pg_dump failed: {done.stderr.decode(errors='replace')}")
        return done.stdout


def _run_as(user: str | None) -> list[str]:
    """The command prefix that runs a program as ``user`` (nothing when not root)."""
    if user is None:
        return []
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"]


def _server_user() -> str | None:
    """The user PostgreSQL runs as: ``postgres`` (created if missing) when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"],
            check=True,
            capture_output=True,
        )
    return "postgres"


@contextlib.contextmanager
def private_postgres(log_dir: Path, startup_timeout: float = 60.0) -> Iterator[Postgres]:
    """
    ``initdb`` a cluster into a temporary folder and run it on 127.0.0.1 only; stop and delete it at exit.

    Durability is off (``fsync``, ``synchronous_commit``, ``full_page_writes``): it is a test database.

    :param log_dir: where ``postgres.log`` goes.
    :param startup_timeout: seconds the server may take to accept connections.
    """
    bin_dir = postgres_bin()
    user = _server_user()
    # Outside pytest's temporary folders, which only root may enter.
    folder = Path(tempfile.mkdtemp(prefix="heygen-topology-pg-"))
    log_path = log_dir / "postgres.log"
    password = secrets.token_hex(16)
    process = None
    try:
        pwfile = folder / "pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        data = folder / "data"
        with log_path.open("ab") as log:
            done = subprocess.run(
                [
                    *_run_as(user),
                    str(bin_dir / "initdb"),
                    f"--pgdata={data}",
                    "--username=airflow",
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-sync",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=120,
                check=False,
                cwd=folder,
            )
        if done.returncode != 0:
            raise ServicesError(f"initdb failed{_tail(log_path)}")
        port = free_port()
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(port),
            "unix_socket_directories": str(folder),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "shared_buffers": "64MB",
        }
        command = [*_run_as(user), str(bin_dir / "postgres"), "-D", str(data)]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        process = _spawn(command, log_path)
        handle = Postgres(bin_dir, port, password, log_path)

        import psycopg

        def accepting() -> bool:
            with contextlib.closing(
                psycopg.connect(
                    f"host=127.0.0.1 port={port} user=airflow password={password} dbname=postgres",
                    autocommit=True,
                    connect_timeout=2,
                )
            ) as db:
                db.execute("CREATE DATABASE airflow")
            return True

        _wait("postgres", accepting, process, log_path, startup_timeout)
        yield handle
    finally:
        if process is not None:
            # SIGINT is PostgreSQL's fast shutdown: no waiting for clients to disconnect.
            _stop(process, signal.SIGINT)
        shutil.rmtree(folder, ignore_errors=True)


# -- Redis ---------------------------------------------------------------------------------------------


@dataclass
class Redis:
    """
    A running private Redis.

    :param port: its port on 127.0.0.1.
    :param log_path: its log.
    """

    port: int
    log_path: Path

    def url(self, db: int) -> str:
        """
        A ``redis://`` URL of one of its databases.

        :param db: the database number.
        """
        return f"redis://127.0.0.1:{self.port}/{db}"

    def snapshot(self) -> dict[str, str]:
        """
        Every key of every database and its value, as text: ``"<db>/<key>"`` to the value (lists, sets, sorted
        sets and hashes joined with newlines), so that a scan reads both names and contents.
        """
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10)
        try:
            databases = int(client.config_get("databases")["databases"])
        finally:
            client.close()
        found: dict[str, str] = {}
        for number in range(databases):
            db = redis.Redis(host="127.0.0.1", port=self.port, db=number, socket_timeout=10)
            try:
                for key in db.scan_iter(count=500):
                    kind = db.type(key).decode()
                    if kind == "string":
                        parts = [db.get(key) or b""]
                    elif kind == "list":
                        parts = db.lrange(key, 0, -1)
                    elif kind == "set":
                        parts = list(db.smembers(key))
                    elif kind == "zset":
                        parts = [member for member, _ in db.zrange(key, 0, -1, withscores=True)]
                    elif kind == "hash":
                        parts = [item for pair in db.hgetall(key).items() for item in pair]
                    else:
                        parts = []
                    text = b"\n".join(p if isinstance(p, bytes) else str(p).encode() for p in parts)
                    found[f"{number}/{key.decode(errors='replace')}"] = text.decode(errors="replace")
            finally:
                db.close()
        return found


@contextlib.contextmanager
def private_redis(log_dir: Path, startup_timeout: float = 30.0) -> Iterator[Redis]:
    """
    Run ``redis-server`` on 127.0.0.1 with nothing saved to disk; stop it at exit.

    :param log_dir: where ``redis.log`` goes.
    :param startup_timeout: seconds it may take to answer PING.
    """
    program = shutil.which("redis-server")
    if program is None:
        raise BackendMissing("redis-server", "redis-server")
    folder = Path(tempfile.mkdtemp(prefix="heygen-topology-redis-"))
    log_path = log_dir / "redis.log"
    port = free_port()
    process = _spawn(
        [
            program,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(folder),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        log_path,
    )
    try:
        import redis

        def pong() -> bool:
            client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
            try:
                return bool(client.ping())
            finally:
                client.close()

        _wait("redis-server", pong, process, log_path, startup_timeout)
        yield Redis(port, log_path)
    finally:
        _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


# -- S3 (moto) -----------------------------------------------------------------------------------------

# moto accepts any keys; these only have to look like keys.
AWS_ACCESS_KEY_ID = "AKIATOPOLOGYTEST0001"
AWS_SECRET_ACCESS_KEY = "topology-test-secret-not-a-real-key"
AWS_REGION = "us-east-1"


@dataclass
class MotoS3:
    """
    A running ``moto_server`` with one bucket.

    :param port: its port on 127.0.0.1.
    :param bucket: the bucket created at start.
    :param log_path: its log: one line per request (method, path and query, status).
    """

    port: int
    bucket: str
    log_path: Path

    @property
    def endpoint_url(self) -> str:
        """The S3 endpoint."""
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        """A boto3 S3 client of it."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=AWS_ACCESS_KEY_ID,
            aws_secret_access_key=AWS_SECRET_ACCESS_KEY,
            region_name=AWS_REGION,
        )

    def connection(self) -> dict[str, Any]:
        """The ``aws_default`` connection (for ``AIRFLOW_CONN_AWS_DEFAULT``, as JSON)."""
        return {
            "conn_type": "aws",
            "login": AWS_ACCESS_KEY_ID,
            "password": AWS_SECRET_ACCESS_KEY,
            "extra": {"endpoint_url": self.endpoint_url, "region_name": AWS_REGION},
        }

    def objects(self, prefix: str = "") -> dict[str, int]:
        """
        Every object of the bucket under ``prefix`` and its size.

        :param prefix: a key prefix.
        """
        found = {}
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        for page in pages:
            found.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
        return found

    def requests(self) -> list[str]:
        """The request lines the server logged so far."""
        return [line for line in self.log_path.read_text(errors="replace").splitlines() if '"' in line]


@contextlib.contextmanager
def moto_s3(log_dir: Path, bucket: str, startup_timeout: float = 60.0) -> Iterator[MotoS3]:
    """
    Run ``moto_server`` on 127.0.0.1 and create ``bucket``; stop it at exit.

    :param log_dir: where ``moto.log`` goes.
    :param bucket: the bucket to create.
    :param startup_timeout: seconds it may take to answer.
    """
    program = Path(sys.executable).with_name("moto_server")
    if not program.exists():
        raise BackendMissing("moto_server", "python package moto[server]")
    log_path = log_dir / "moto.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = _spawn([str(program), "-H", "127.0.0.1", "-p", str(port)], log_path, env)
    try:
        handle = MotoS3(port, bucket, log_path)
        _wait("moto_server", lambda: handle.client().create_bucket(Bucket=bucket), process, log_path, 60)
        yield handle
    finally:
        _stop(process)
