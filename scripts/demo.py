"""
The main job: run the avatar -> face swap -> publish pipeline end to end and say where the video is.

By default it runs against the local HeyGen emulator (offline, free). With ``--backend real`` (``make
demo HEYGEN=real``) it runs against https://api.heygen.com with the key from ``HEYGEN_API_KEY`` and
media from ``HEYGEN_DEMO_FACE_URL`` / ``HEYGEN_DEMO_AUDIO_URL`` (public URLs HeyGen can fetch).
Quiet on success: one line per step; the full log is printed only if a step fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / ".demo"
# What `make demo` runs (the workflows pipeline) and what `make demo DEMO=v3` runs (the v3 chain).
DEMOS = {
    "workflows": ("heygen_avatar_faceswap_publish", "avatar video -> face swap -> publish"),
    "v3": (
        "heygen_v3_personalized",
        "upload photo -> v3 avatar video -> face swap -> translate (2 languages) -> publish each",
    ),
}
REAL_API = "https://api.heygen.com"


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def run_logged(command: list[str], env: dict[str, str], log_name: str) -> None:
    """Run a command with its output in a log file; on failure print the log and exit."""
    log_path = DEMO_DIR / "logs" / f"{log_name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        result = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        sys.stdout.write(log_path.read_text(errors="replace")[-20000:])
        sys.exit(f"!! {' '.join(command[:4])} failed (exit {result.returncode}); full log: {log_path}")


@contextlib.contextmanager
def heygen_backend(backend: str) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """Yield (connection JSON fields, DAG params) for the chosen backend, running the emulator if local."""
    if backend == "real":
        missing = [
            n
            for n in ("HEYGEN_API_KEY", "HEYGEN_DEMO_FACE_URL", "HEYGEN_DEMO_AUDIO_URL")
            if not os.environ.get(n)
        ]
        if missing:
            sys.exit(f"!! --backend real needs {', '.join(missing)} in the environment")
        step(f"Using the real HeyGen API at {REAL_API} (key from HEYGEN_API_KEY)")
        params = {
            "face_url": os.environ["HEYGEN_DEMO_FACE_URL"],
            "audio_url": os.environ["HEYGEN_DEMO_AUDIO_URL"],
        }
        if os.environ.get("HEYGEN_DEMO_AVATAR_ID"):
            params["avatar_id"] = os.environ["HEYGEN_DEMO_AVATAR_ID"]
        yield {"conn_type": "heygen", "host": REAL_API}, params
        return

    from airflow_heygen.emulator.testing import run_emulator

    step("Starting the HeyGen emulator on a free loopback port (first start renders its sample media)")
    with run_emulator(DEMO_DIR / "emulator", api_key="demo-key", startup_timeout=180) as emulator:
        step(f"Emulator ready at {emulator.base_url}")
        yield {"conn_type": "heygen", "host": emulator.base_url, "password": emulator.api_key}, {}
        step("Stopping the emulator")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--backend", choices=("emulator", "real"), default=os.environ.get("HEYGEN", "emulator")
    )
    parser.add_argument("--demo", choices=sorted(DEMOS), default=os.environ.get("DEMO", "workflows"))
    arguments = parser.parse_args()
    backend = arguments.backend
    dag_id, what = DEMOS[arguments.demo]
    if arguments.demo == "v3" and backend == "real":
        sys.exit(
            "!! the v3 demo runs against the emulator only (its customers' photos are the emulator's samples)"
        )

    airflow_home = DEMO_DIR / "airflow"
    published = DEMO_DIR / "published"
    shutil.rmtree(airflow_home, ignore_errors=True)
    airflow_home.mkdir(parents=True)
    published.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW_VAR_HEYGEN_PUBLISH_ROOT": published.as_uri(),
    }
    airflow = [sys.executable, "-m", "airflow"]

    step(f"Preparing Airflow (sqlite metadata database in {airflow_home.relative_to(ROOT)})")
    run_logged([*airflow, "db", "migrate"], env, "db-migrate")

    started = time.time()
    with heygen_backend(backend) as (connection, params):
        env["AIRFLOW_CONN_HEYGEN_DEFAULT"] = json.dumps(connection)
        step(f"Running {dag_id}: {what} (deferrable; triggers run inline)")
        run_logged([*airflow, "dags", "test", dag_id, "--conf", json.dumps(params)], env, "dag-test")

    videos = sorted(
        (p for p in published.rglob("*.mp4") if p.stat().st_mtime >= started), key=lambda p: p.stat().st_mtime
    )
    if not videos:
        sys.exit(f"!! the DAG succeeded but no video was published under {published}")
    step("Done")
    for video in videos if arguments.demo == "v3" else videos[-1:]:
        print(f"Published video: {video}")
        preview = video.with_suffix(".png")
        if preview.exists():
            print(f"Preview image:   {preview}")


if __name__ == "__main__":
    main()
