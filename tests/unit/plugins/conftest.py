"""
The HeyGen view's app under test: real records made by real ``dag.test()`` runs against the emulator
(a published v3 video, a failed one, a campaign), users signed in with Airflow's own JWTs through an
auth manager that denies one user one DAG (:mod:`tests.support.view_auth`), and FastAPI's TestClient.
"""

from __future__ import annotations

import csv
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle
from tests.support.v3_emulator import QUIET, connection
from tests.unit.dag_runs import run_test_dag

USERS = "admin:admin,viewer:viewer,op:op"


@dataclass
class ViewRuns:
    """
    The runs whose records the view shows.

    :param emulator: the emulator they ran against.
    :param root: their files (published videos, the campaign's manifest).
    :param video_run: ``heygen_view_video``'s run (video, then publish with a preview).
    :param failed_run: ``heygen_view_failed``'s run (its video failed).
    :param campaign_run: ``heygen_campaign_faceswap``'s run.
    """

    emulator: EmulatorHandle
    root: Path
    video_run: str
    failed_run: str
    campaign_run: str

    @property
    def published(self) -> Path:
        """The published copy of the v3 video."""
        return self.root / "published" / "video.mp4"

    @property
    def manifest(self) -> Path:
        """The campaign's manifest."""
        return self.root / "manifest.jsonl"


def _campaign_items(path: Path, emulator: EmulatorHandle, count: int) -> Path:
    faces = [emulator.sample_url("face.jpg"), emulator.sample_url("face2.jpg")]
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=["customer_id", "name", "face_url"])
        writer.writeheader()
        for n in range(count):
            writer.writerow({"customer_id": f"c{n:03d}", "name": f"Customer {n}", "face_url": faces[n % 2]})
    return path


@pytest.fixture(scope="module")
def view_runs(
    airflow_db: Path, v3_emulator: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ViewRuns]:
    """The three runs, made once for the module."""
    root = tmp_path_factory.mktemp("view")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", connection(v3_emulator))
        v3_emulator.set_faults(**QUIET)
        video = run_test_dag("heygen_view_video", {"publish_to": f"file://{root}/published/video.mp4"})
        assert video.state == "success"
        v3_emulator.set_faults(fail_next=["no_face_detected"])
        failed = run_test_dag("heygen_view_failed")
        assert failed.state == "failed"
        v3_emulator.set_faults(**QUIET)
        items = _campaign_items(root / "items.csv", v3_emulator, 30)
        campaign = run_test_dag(
            "heygen_campaign_faceswap",
            {
                "items": str(items),
                "publish_to": f"file://{root}/videos/",
                "manifest": f"file://{root}/manifest.jsonl",
                "max_failed": 0,
            },
        )
        assert campaign.state == "success"
        yield ViewRuns(v3_emulator, root, video.run_id, failed.run_id, campaign.run_id)


@pytest.fixture(scope="module")
def auth(airflow_db: Path) -> Iterator[Any]:
    """Airflow's auth manager (:mod:`tests.support.view_auth`) with users admin, viewer and op."""
    from airflow.api_fastapi.app import init_auth_manager, purge_cached_app

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__AUTH_MANAGER", "tests.support.view_auth.OneDagDeniedAuthManager")
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", USERS)
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(64))
        purge_cached_app()
        manager = init_auth_manager()
        yield manager
        purge_cached_app()


@pytest.fixture(scope="module")
def tokens(auth: Any) -> dict[str, str]:
    """A JWT of each user, as Airflow's UI gets it."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return {
        name: auth.generate_jwt(SimpleAuthManagerUser(username=name, role=role))
        for name, role in (pair.split(":") for pair in USERS.split(","))
    }


@pytest.fixture(scope="module")
def client(auth: Any, view_runs: ViewRuns) -> Iterator[Any]:
    """A TestClient of the view's app (mounted at /heygen as the api-server mounts it)."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from airflow_heygen.plugins.app import create_app

    root = FastAPI()
    root.mount("/heygen", create_app())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", connection(view_runs.emulator))
        with TestClient(root) as test_client:
            yield test_client
