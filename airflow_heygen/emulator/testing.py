"""
Start the emulator from Python (tests, demos) as a subprocess.

Example::

    from airflow_heygen.emulator.testing import run_emulator

    with run_emulator(tmp_path, render="stub", latency="0.5-1", seed=7) as emulator:
        hook_base_url = emulator.base_url          # e.g. http://127.0.0.1:41234
        headers = {"X-Api-Key": emulator.api_key}
        emulator.set_faults(rate_limit_rate=0.2)
        print(emulator.stats()["submissions"])
        status, body = emulator.v3("POST", "/v3/videos", {...}, headers={"Idempotency-Key": "k1"})

The subprocess is ``sys.executable -m airflow_heygen.emulator --port 0 ...``; its logs go to
``<data_dir>/emulator.log``. Uses only the standard library, so it is cheap to import.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any

_READY_PREFIX = "HeyGen emulator listening on "
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEST_API_KEY = "emulator-test-key"
# How long held_renders() holds a render: longer than any failover a test waits for, however slow the machine.
HELD_RENDER_SECONDS = 900


@dataclass(frozen=True)
class EmulatorOptions:
    """
    Options of :func:`run_emulator`; each maps to the command-line flag of the same name.

    :param api_key: the only accepted key (``--api-key``); None accepts any non-empty key.
    :param render: ``real`` or ``stub``.
    :param face_engine: ``auto``, ``mesh`` or ``haar``.
    :param workers: concurrent render jobs.
    :param latency: minimum seconds per job, a number or a range like ``"1-3"``.
    :param rate_limit_rate: fraction of /v1 and /v3 requests answered 429.
    :param retry_after: ``Retry-After`` seconds of a 429.
    :param error_rate: fraction of /v1 and /v3 requests answered 503.
    :param fail_rate: fraction of jobs that end failed.
    :param fail_code: failure code of the jobs ``fail_rate`` fails (``internal_error`` by default).
    :param insufficient_credit_rate: fraction of valid creates answered 402 ``insufficient_credit``.
    :param lost_reply_rate: fraction of accepted creates whose connection is closed without an answer.
    :param create_delay: seconds each create waits before it is processed.
    :param retire_workflows: 404 or 410: every /v1/workflows request answers that status (the
        workflows API retired); None serves it.
    :param plan_concurrency: jobs rendered at once across both APIs (default 10): single creates
        beyond it are answered 429, batch items beyond it wait for a slot.
    :param billing: ``wallet`` (default), ``subscription`` or ``usage_based``.
    :param balance_usd: the account's starting balance (spending cap; subscription: credits).
    :param faceswap_rate_usd_per_s: price per output second of face swaps and other workflows.
    :param seed: fault injection seed.
    :param public_url: base URL of output links.
    :param request_log: JSON-lines file of /v1 requests.
    :param keepalive_timeout: seconds idle connections are kept.
    :param host: interface to listen on.
    :param port: TCP port; 0 picks a free one.
    :param log_level: logging level of the emulator.
    :param startup_timeout: seconds to wait for the ready line.
    """

    api_key: str | None = None
    render: str = "real"
    face_engine: str | None = None
    workers: int | None = None
    latency: float | str | None = None
    rate_limit_rate: float | None = None
    retry_after: int | None = None
    error_rate: float | None = None
    fail_rate: float | None = None
    fail_code: str | None = None
    insufficient_credit_rate: float | None = None
    lost_reply_rate: float | None = None
    create_delay: float | None = None
    retire_workflows: int | None = None
    plan_concurrency: int | None = None
    billing: str | None = None
    balance_usd: float | None = None
    faceswap_rate_usd_per_s: float | None = None
    seed: int | None = None
    public_url: str | None = None
    request_log: str | Path | None = None
    keepalive_timeout: float | None = None
    host: str = "127.0.0.1"
    port: int = 0
    log_level: str | None = None
    startup_timeout: float = 60.0

    def to_args(self, data_dir: Path, port: int | None = None) -> list[str]:
        """
        Command-line arguments for these options.

        :param data_dir: the data dir.
        :param port: a port overriding :attr:`port`.
        """
        args = ["--data-dir", str(data_dir), "--port", str(self.port if port is None else port)]
        for item in fields(self):
            if item.name in ("port", "startup_timeout"):
                continue
            value = getattr(self, item.name)
            if value is not None:
                args += [f"--{item.name.replace('_', '-')}", str(value)]
        return args


class EmulatorError(RuntimeError):
    """The emulator subprocess did not start or died."""


class EmulatorHandle:
    """
    A running emulator subprocess.

    :param data_dir: its data dir.
    :param options: how it was started.
    """

    def __init__(self, data_dir: Path, options: EmulatorOptions) -> None:
        self.data_dir = data_dir
        self.options = options
        self.log_path = data_dir / "emulator.log"
        self.base_url = ""
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    @property
    def api_key(self) -> str:
        """A key the emulator accepts."""
        return self.options.api_key or DEFAULT_TEST_API_KEY

    @property
    def pid(self) -> int | None:
        """The subprocess id while running."""
        return self._process.pid if self._process is not None else None

    def url(self, path: str) -> str:
        """
        An absolute URL on the emulator.

        :param path: a path starting with ``/``.
        """
        return self.base_url + path

    def sample_url(self, name: str) -> str:
        """
        URL of a built-in sample.

        :param name: ``face.jpg``, ``face2.jpg``, ``target.mp4`` or ``speech.wav``.
        """
        return self.url(f"/samples/{name}")

    def start(self, port: int | None = None) -> None:
        """
        Start the subprocess and wait for its ready line.

        :param port: port to bind instead of the option's.
        :raises EmulatorError: when it exits or is not ready in time.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEYGEN_EMULATOR_")}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        command = [
            sys.executable,
            "-m",
            "airflow_heygen.emulator",
            *self.options.to_args(self.data_dir, port),
        ]
        with self.log_path.open("a", encoding="utf-8") as log_file:
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=log_file, stdin=subprocess.DEVNULL, env=env, text=True
            )
        self._process = process
        lines: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
        deadline = time.monotonic() + self.options.startup_timeout
        while True:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                self.stop()
                raise EmulatorError(
                    f"emulator not ready after {self.options.startup_timeout}s{self._log_tail()}"
                ) from None
            if line is None:
                process.wait(timeout=10)
                self._process = None
                raise EmulatorError(f"emulator exited with code {process.returncode}{self._log_tail()}")
            if line.startswith(_READY_PREFIX):
                self.base_url = line[len(_READY_PREFIX) :].strip()
                self.port = int(self.base_url.rsplit(":", 1)[1])
                return

    def stop(self, timeout: float = 20.0) -> None:
        """
        Stop the subprocess with SIGTERM (SIGKILL after ``timeout`` seconds).

        :param timeout: seconds to wait for a clean exit.
        """
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def restart(self) -> None:
        """Stop and start again on the same data dir, and on the same port when it is still free."""
        port = self.port
        self.stop()
        try:
            self.start(port=port)
        except EmulatorError:
            self.start(port=0)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """
        Send a request and return the status and body: decoded JSON for JSON answers, else bytes.
        HTTP errors are returned, not raised.

        :param method: HTTP method.
        :param path: path on the emulator.
        :param body: JSON body, if any.
        :param headers: request headers.
        """
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url(path),
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, _decode(response.headers.get_content_type(), response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _decode(exc.headers.get_content_type(), exc.read())

    def v3(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """
        A request with a valid ``X-Api-Key`` (for /v3 and /v1 paths).

        :param method: HTTP method.
        :param path: path on the emulator, e.g. ``/v3/videos``.
        :param body: JSON body, if any.
        :param headers: more headers, e.g. ``{"Idempotency-Key": "k1"}``.
        """
        return self.request(method, path, body, headers={"X-Api-Key": self.api_key, **(headers or {})})

    def upload(
        self,
        content: bytes,
        filename: str,
        content_type: str = "application/octet-stream",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """
        ``POST /v3/assets`` with ``content`` as the multipart field ``file``.

        :param content: the file's bytes.
        :param filename: its name.
        :param content_type: the part's content type.
        :param headers: more headers, e.g. ``{"Idempotency-Key": "k1"}``.
        """
        boundary = f"----emulator{uuid.uuid4().hex}"
        data = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(
            self.url("/v3/assets"),
            data=data,
            method="POST",
            headers={
                "X-Api-Key": self.api_key,
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, _decode(response.headers.get_content_type(), response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _decode(exc.headers.get_content_type(), exc.read())

    def _admin(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        status, payload = self.request(method, path, body)
        if status != 200:
            raise EmulatorError(f"{method} {path} answered {status}: {payload}")
        return dict(payload)

    def healthz(self) -> dict[str, Any]:
        """``GET /healthz``."""
        return self._admin("GET", "/healthz")

    def stats(self) -> dict[str, Any]:
        """``GET /_admin/stats``: submissions, requests per endpoint and status, faults, executions."""
        return self._admin("GET", "/_admin/stats")

    def reset_stats(self) -> dict[str, Any]:
        """``POST /_admin/reset-stats``."""
        return self._admin("POST", "/_admin/reset-stats")

    def release(self) -> int:
        """``POST /_admin/release``: every job waiting out its latency completes now; how many did."""
        return int(self._admin("POST", "/_admin/release")["released"])

    @contextlib.contextmanager
    def held_renders(self, seconds: float = HELD_RENDER_SECONDS) -> Iterator[EmulatorHandle]:
        """
        Hold every render submitted inside the block for ``seconds`` (the injected latency), so that a test
        can :meth:`release` them once what it waits for has happened; at exit, however the block ended,
        the latency is the one before and every render then waiting out its latency is released.

        :param seconds: the latency inside the block.
        """
        before = self.faults()["latency"]
        self.set_faults(latency=seconds)
        try:
            yield self
        finally:
            self.set_faults(latency=before)
            self.release()

    def faults(self) -> dict[str, Any]:
        """``GET /_admin/faults``."""
        return self._admin("GET", "/_admin/faults")

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """
        ``POST /_admin/faults``: change fault settings at run time.

        :param changes: any of ``latency``, ``rate_limit_rate``, ``error_rate``, ``fail_rate``,
            ``fail_code`` (the failure code of the jobs ``fail_rate`` fails), ``retry_after``,
            ``insufficient_credit_rate``, ``lost_reply_rate``, ``create_delay``, ``retire_workflows``
            (404, 410 or None), ``plan_concurrency`` (jobs rendered at once), ``lost_replies``
            (the next N accepted creates lose their reply), ``fail_next`` (a list: each next
            accepted job, in acceptance order, takes its first entry: a failure code it fails with,
            or None to leave it to ``fail_rate``; it replaces the remaining list), ``seed``.
        :return: the new settings (``fail_next`` shows what is left of the list).
        """
        return self._admin("POST", "/_admin/faults", changes)

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return "\n--- emulator.log (tail) ---\n" + "\n".join(
                self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
            )
        return ""


def _decode(content_type: str, payload: bytes) -> Any:
    if content_type == "application/json":
        return json.loads(payload or b"null")
    return payload


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    """Forward the subprocess's stdout lines (keeps its pipe from filling up)."""
    for line in stream:
        lines.put(line)
    lines.put(None)


@contextlib.contextmanager
def run_emulator(data_dir: str | os.PathLike[str], **options: Any) -> Iterator[EmulatorHandle]:
    """
    Run the emulator in a subprocess for the duration of a ``with`` block.

    :param data_dir: its data dir (created if missing; reuse it to keep executions).
    :param options: fields of :class:`EmulatorOptions`, e.g. ``render="stub"``, ``latency="1-3"``,
        ``api_key="k"``, ``seed=7``, ``fail_rate=0.1``.
    :raises TypeError: on an unknown option.
    :raises EmulatorError: when it does not start.
    """
    handle = EmulatorHandle(Path(data_dir), EmulatorOptions(**options))
    handle.start()
    try:
        yield handle
    finally:
        handle.stop()
