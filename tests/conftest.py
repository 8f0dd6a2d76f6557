"""
Test setup: a private AIRFLOW_HOME with sqlite (set before Airflow is imported), the test DAGs
folder, a migrated metadata database, and a fake HeyGen server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).parent
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-heygen-tests-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(TESTS_DIR / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }
)
os.environ.pop("HEYGEN_API_KEY", None)

from hypothesis import settings  # noqa: E402

from tests.support.fake_heygen import FakeHeyGen  # noqa: E402

# Property tests assert behaviour, never speed: a loaded 2-core machine must not fail them.
settings.register_profile("airflow-heygen", deadline=None)
settings.load_profile("airflow-heygen")

TEST_KEY = "test-key-5f1c9e0d7b2a"
# The longest modules, longest first. `make test` runs two pytest-xdist workers handing out whole files
# (`--dist loadfile`) in collection order: the production topology starts first on one worker while the
# other works through everything else.
LONGEST_FIRST = (
    "tests/system/test_topology.py",
    "tests/reliability/test_real_services_faults.py",
    "tests/system/test_real_services.py",
    "tests/system/test_heygen_view.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """
    Order the modules longest first (:data:`LONGEST_FIRST`), the rest as collected; mark the tests that
    need the metadata database (``dag.test()`` runs) ``integration`` (``make test-fast`` leaves them out).
    """
    for item in items:
        if "airflow_db" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    if os.environ.get("PYTEST_XDIST_WORKER"):  # one process: the collected order, as always
        items.sort(key=rank)


def heygen_connection_uri(base_url: str, api_key: str = TEST_KEY, **extra: object) -> str:
    """An ``AIRFLOW_CONN_*`` JSON value for a HeyGen connection with fast retries."""
    extra = {"retry_min_delay": 0.01, "retry_max_delay": 0.05, "retry_limit": 3, **extra}
    return json.dumps({"conn_type": "heygen", "host": base_url, "password": api_key, "extra": extra})


@pytest.fixture
def fake() -> Iterator[FakeHeyGen]:
    """A fake HeyGen server accepting ``TEST_KEY``."""
    server = FakeHeyGen(api_key=TEST_KEY)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def heygen_conn(fake: FakeHeyGen, monkeypatch: pytest.MonkeyPatch) -> FakeHeyGen:
    """``heygen_default`` pointing at the fake server."""
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri(fake.base_url))
    return fake


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated sqlite metadata database in the private AIRFLOW_HOME."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    return AIRFLOW_HOME
