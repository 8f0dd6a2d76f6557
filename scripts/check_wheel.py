"""
Check a built wheel the way a new user meets it: run with the interpreter of a clean venv into which
only the wheel and Airflow were installed, from outside the checkout.

    python scripts/check_wheel.py dist/airflow_heygen-<version>-py3-none-any.whl

Checks what the wheel holds (``py.typed``, no tests, demo output or caches), that ``airflow providers
list`` shows the provider, that the ``heygen`` connection type is registered, that Airflow loads the
HeyGen view's plugin, and that the operators, sensors and triggers import. Prints one line per check;
exits non-zero on the first failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MUST_HOLD = ("airflow_heygen/py.typed", "airflow_heygen/get_provider_info.py")
MUST_NOT_HOLD = ("tests/", ".demo/", "__pycache__/", ".pyc", "dags/", "bench/", ".emulator-data/")
MODULES = (
    "airflow_heygen.operators.heygen",
    "airflow_heygen.sensors.heygen",
    "airflow_heygen.triggers.heygen",
    "airflow_heygen.hooks.heygen",
)


def check(condition: bool, what: str) -> None:
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        sys.exit(1)


def airflow(home: Path, *args: str) -> list[dict[str, str]]:
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [sys.executable, "-m", "airflow", *args, "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        check=False,
    )
    check(
        done.returncode == 0,
        f"airflow {' '.join(args)} runs" + ("" if done.returncode == 0 else done.stderr[-1500:]),
    )
    # Airflow may log a warning to stdout before the JSON (3.3.0 does, about other providers' info).
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(("[", "{")))
    return json.loads("\n".join(lines[start:]))


def main(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for name in MUST_HOLD:
        check(name in names, f"the wheel holds {name}")
    strays = [name for name in names if any(part in name for part in MUST_NOT_HOLD)]
    check(not strays, f"the wheel holds no tests, demo output or caches {strays[:5]}")
    check(all(name.startswith(("airflow_heygen/", "airflow_heygen-")) for name in names), "only the package")

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        imported = subprocess.run(
            [sys.executable, "-c", "import airflow_heygen, sys; print(airflow_heygen.__file__)"],
            capture_output=True,
            text=True,
            cwd=home,
            check=False,
        )
        check(
            "site-packages" in imported.stdout,
            f"airflow_heygen comes from the install: {imported.stdout.strip()}",
        )
        providers = {p["package_name"]: p for p in airflow(home, "providers", "list")}
        check("airflow-heygen" in providers, "airflow providers list shows airflow-heygen")
        hooks = {h["connection_type"]: h for h in airflow(home, "providers", "hooks")}
        check(
            hooks.get("heygen", {}).get("class") == "airflow_heygen.hooks.heygen.HeyGenHook",
            "the heygen connection type is registered",
        )
        # With Airflow's defaults (providers discovered lazily) the view's plugin comes through its
        # airflow.plugins entry point; outside the api-server it is empty.
        plugins = {p["name"]: p for p in airflow(home, "plugins")}
        check(
            "heygen" in plugins and plugins["heygen"]["fastapi_apps"] == [],
            "the HeyGen view's plugin is loaded (empty outside the api-server)",
        )
        code = "; ".join(f"import {module}" for module in MODULES)
        imports = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=home, check=False
        )
        check(
            imports.returncode == 0, "operators, sensors, triggers and hooks import" + imports.stderr[-1500:]
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
