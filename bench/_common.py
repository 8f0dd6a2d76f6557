"""
Helpers shared by the benchmarks: machine facts, file-descriptor limits, memory readings, an emulator
with cached sample media, and Markdown tables. Benchmarks print figures; nothing here asserts.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PYTHON = sys.executable
API_KEY = "bench-key"
EXECUTIONS = "/v1/workflows/executions"
SAMPLES_CACHE = Path(tempfile.gettempdir()) / "airflow-heygen-bench-samples"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# A deployed provider imports from bytecode caches; a shell with PYTHONDONTWRITEBYTECODE=1 would make
# every benchmark process compile Airflow from source (several CPU seconds each). Bytecode goes to a
# cache folder of our own, outside the virtualenv; child processes inherit the setting.
PYCACHE = Path(tempfile.gettempdir()) / "airflow-heygen-bench-pycache"
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
sys.dont_write_bytecode = False
sys.pycache_prefix = str(PYCACHE)


def raise_nofile() -> int:
    """Raise this process's soft limit of open files to its hard limit; return the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def rss_bytes(pid: int | str = "self") -> int:
    """Current resident set size of a process, from ``/proc``."""
    with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far (``ru_maxrss``)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_seconds() -> float:
    """User plus system CPU seconds of this process so far (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of another process, from ``/proc/<pid>/stat``."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_facts() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        total_kib = int(meminfo.readline().split()[1])
    from importlib.metadata import version

    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": f"{os.cpu_count()} x {cpu}",
        "memory": f"{total_kib / 1024 / 1024:.1f} GiB",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": ", ".join(
            f"{name} {version(name)}"
            for name in ("apache-airflow", "apache-airflow-providers-http", "aiohttp", "airflow-heygen")
        ),
        "open files limit": f"{resource.getrlimit(resource.RLIMIT_NOFILE)[1]} (hard)",
    }


def ensure_samples() -> Path:
    """The emulator's sample media, generated once into a cache folder and copied into data dirs."""
    if not (SAMPLES_CACHE / "target.mp4").is_file():
        subprocess.run(
            [
                PYTHON,
                "-c",
                "import sys; from pathlib import Path; "
                "from airflow_heygen.emulator.samples import SampleLibrary; "
                "SampleLibrary(Path(sys.argv[1])).ensure()",
                str(SAMPLES_CACHE),
            ],
            check=True,
            cwd=ROOT,
        )
    return SAMPLES_CACHE


@contextlib.contextmanager
def emulator(data_dir: Path, loop_lag_file: Path | None = None, **options: Any) -> Iterator[Any]:
    """
    A stub-rendering emulator on 127.0.0.1 whose data dir already holds the sample media.

    :param data_dir: a fresh folder.
    :param loop_lag_file: have the emulator log how late its event loop wakes, ten times a second, to
        this file (``bench/_loop_probe/sitecustomize.py``: ``<unix time> <seconds late>`` lines).
    :param options: more options of ``run_emulator`` (latency, keepalive_timeout, request_log...).
    """
    from airflow_heygen.emulator.testing import EmulatorHandle, EmulatorOptions

    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ensure_samples(), data_dir / "samples", dirs_exist_ok=True)
    options = {"render": "stub", "api_key": API_KEY, "log_level": "WARNING", **options}
    # The emulator inherits this process's environment when it starts: set the probe's for that moment.
    saved = {name: os.environ.get(name) for name in ("PYTHONPATH", "BENCH_LOOP_LAG_FILE")}
    if loop_lag_file is not None:
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(BENCH / "_loop_probe"), saved["PYTHONPATH"] or "") if p
        )
        os.environ["BENCH_LOOP_LAG_FILE"] = str(loop_lag_file)
    handle = EmulatorHandle(data_dir, EmulatorOptions(**options))
    try:
        handle.start()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    try:
        yield handle
    finally:
        handle.stop()


def read_loop_lags(path: Path, since: float = 0.0, until: float = float("inf")) -> list[tuple[float, float]]:
    """``(unix time, seconds late)`` samples of an emulator's loop-lag file between two times."""
    samples = []
    with contextlib.suppress(FileNotFoundError), path.open(encoding="ascii") as lags:
        for line in lags:
            when, _, late = line.partition(" ")
            with contextlib.suppress(ValueError):
                if since <= float(when) <= until:
                    samples.append((float(when), float(late)))
    return samples


def heygen_connection(base_url: str) -> str:
    """``AIRFLOW_CONN_HEYGEN_DEFAULT`` for the emulator."""
    return json.dumps({"conn_type": "heygen", "host": base_url, "password": API_KEY})


def http_connection(base_url: str) -> str:
    """An HTTP-provider connection to the emulator; its extra becomes request headers."""
    return json.dumps({"conn_type": "http", "host": base_url, "extra": {"X-Api-Key": API_KEY}})


def run_json(args: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 1800) -> Any:
    """Run a child benchmark that prints one JSON document as its last stdout line."""
    completed = subprocess.run(
        [PYTHON, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} exited with {completed.returncode}:\n{completed.stderr[-3000:]}"
        )
    return json.loads(completed.stdout.strip().splitlines()[-1])


class ChildProcess:
    """
    A child benchmark driven over its stdin and stdout: it prints a ready line, reads lines, and prints
    one JSON document as its last stdout line; its stderr goes to a temporary file.

    :param args: arguments of the Python interpreter.
    :param env: environment variables added to this process's.
    """

    def __init__(self, args: Sequence[str], env: dict[str, str] | None = None) -> None:
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in __exit__
        self._process = subprocess.Popen(
            [PYTHON, *args],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self.args = args

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self._process.pid

    def _failed(self, what: str) -> RuntimeError:
        self._stderr.seek(0)
        return RuntimeError(f"{' '.join(self.args)}: {what}\n{self._stderr.read()[-4000:]}")

    def wait_for(self, line: str) -> None:
        """Read stdout until ``line``."""
        assert self._process.stdout is not None
        for got in self._process.stdout:
            if got.strip() == line:
                return
        raise self._failed(f"exited before printing {line!r}")

    def send(self, line: str) -> None:
        """Write one line to the child's stdin."""
        assert self._process.stdin is not None
        self._process.stdin.write(line + "\n")
        self._process.stdin.flush()

    def result(self, timeout: float) -> Any:
        """Wait for the child to exit and return its JSON document."""
        try:
            out, _ = self._process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            raise self._failed("timed out") from None
        if self._process.returncode != 0:
            raise self._failed(f"exited with {self._process.returncode}")
        return json.loads(out.strip().splitlines()[-1])

    def __enter__(self) -> ChildProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._stderr.close()


def ratio(ours: float | None, peer: float | None) -> str:
    """``ours / peer`` as text, e.g. ``0.18x``."""
    if ours is None or peer is None or peer == 0:
        return "n/a"
    value = ours / peer
    return f"{value:.2f}x" if value >= 0.01 else f"{value:.4f}x"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def mib(value: float | None) -> str:
    """Bytes as MiB text."""
    return "n/a" if value is None else f"{value / 2**20:.1f} MiB"


@contextlib.contextmanager
def sampling_profile(path: str | os.PathLike[str], rate: int = 250) -> Iterator[None]:
    """
    Sample this process with py-spy (from outside, so it barely slows it) while the block runs, and
    write the samples as collapsed stacks (``frame;frame;... count`` lines) to ``path``.

    :param path: the output file.
    :param rate: samples per second.
    """
    spy = Path(PYTHON).with_name("py-spy")
    command = [str(spy), "record", "--pid", str(os.getpid()), "--rate", str(rate), "--format", "raw"]
    recorder = subprocess.Popen(
        [*command, "--output", str(path), "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # py-spy attaches
    try:
        yield
    finally:
        recorder.send_signal(2)  # SIGINT: py-spy writes its file and exits
        recorder.wait(timeout=60)


def summarise_profile(path: str | os.PathLike[str], top: int = 12) -> list[tuple[str, float]]:
    """
    Share of the samples of a collapsed-stacks profile spent inside each frame (inclusive), for the
    ``top`` frames, ignoring frames that sit on every stack (the event loop itself).

    :param path: a file written by :func:`sampling_profile`.
    :param top: how many frames to return.
    """
    inclusive: dict[str, int] = {}
    total = 0
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        for frame in set(_short_frame(frame) for frame in stack.split(";")):
            inclusive[frame] = inclusive.get(frame, 0) + count
    if not total:
        return []
    shares = [(frame, count / total) for frame, count in inclusive.items() if count < total * 0.97]
    return sorted(shares, key=lambda item: -item[1])[:top]


def _short_frame(frame: str) -> str:
    """``function (path/to/module.py:12)`` -> ``function (module.py)``."""
    name, _, where = frame.partition(" (")
    module = where.split(":", 1)[0].rsplit("/", 1)[-1]
    return f"{name} ({module})" if module else name
