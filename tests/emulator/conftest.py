"""Fixtures: emulator subprocesses on 127.0.0.1 with pre-generated sample media."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_heygen.emulator.samples import SampleLibrary
from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator

EXECUTIONS = "/v1/workflows/executions"


@pytest.fixture(scope="session")
def sample_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sample media generated once per session (copied into each data dir to save start-up time)."""
    folder = tmp_path_factory.mktemp("samples-cache") / "samples"
    SampleLibrary(folder).ensure()
    return folder


def _data_dir(tmp_path_factory: pytest.TempPathFactory, sample_cache: Path) -> Path:
    data_dir = tmp_path_factory.mktemp("emulator-data")
    shutil.copytree(sample_cache, data_dir / "samples")
    return data_dir


@pytest.fixture
def make_data_dir(tmp_path_factory: pytest.TempPathFactory, sample_cache: Path) -> Callable[[], Path]:
    """A factory of fresh data dirs that already hold the samples."""
    return lambda: _data_dir(tmp_path_factory, sample_cache)


@pytest.fixture(scope="module")
def stub_emulator(tmp_path_factory: pytest.TempPathFactory, sample_cache: Path) -> Iterator[EmulatorHandle]:
    """A stub-rendering emulator shared by a test module (no API key configured)."""
    with run_emulator(_data_dir(tmp_path_factory, sample_cache), render="stub") as handle:
        yield handle


@pytest.fixture(scope="module")
def real_emulator(tmp_path_factory: pytest.TempPathFactory, sample_cache: Path) -> Iterator[EmulatorHandle]:
    """A really-rendering emulator shared by a test module."""
    with run_emulator(_data_dir(tmp_path_factory, sample_cache), render="real", workers=2) as handle:
        yield handle


def submit(handle: EmulatorHandle, body: Any) -> tuple[int, Any]:
    """POST a submission with a valid key."""
    return handle.request("POST", EXECUTIONS, body, headers={"X-Api-Key": handle.api_key})


def status_of(handle: EmulatorHandle, execution_id: str) -> tuple[int, Any]:
    """GET an execution with a valid key."""
    return handle.request("GET", f"{EXECUTIONS}/{execution_id}", headers={"X-Api-Key": handle.api_key})


def faceswap_body(
    handle: EmulatorHandle, source: str | None = None, target: str | None = None
) -> dict[str, Any]:
    """A FaceswapNode submission (samples by default)."""
    return {
        "workflow_type": "FaceswapNode",
        "input": {
            "source_image_url": source or handle.sample_url("face.jpg"),
            "target_video_url": target or handle.sample_url("target.mp4"),
        },
    }


def avatar_body(handle: EmulatorHandle, audio: str | None = None) -> dict[str, Any]:
    """An AvatarInferenceNode submission (the sample speech by default)."""
    return {
        "workflow_type": "AvatarInferenceNode",
        "input": {
            "avatar": {"avatar_id": "Angela-inblackskirt-20220820"},
            "audio_list": [{"audio_url": audio or handle.sample_url("speech.wav")}],
        },
    }


def submit_ok(handle: EmulatorHandle, body: Any) -> str:
    """Submit and return the execution id, asserting success."""
    status, payload = submit(handle, body)
    assert status == 200, payload
    return str(payload["data"]["execution_id"])


def wait_final(handle: EmulatorHandle, execution_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll until completed or failed; returns ``data``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, payload = status_of(handle, execution_id)
        assert status == 200, payload
        if payload["data"]["status"] in ("completed", "failed"):
            return dict(payload["data"])
        time.sleep(0.1)
    raise AssertionError(f"{execution_id} not finished after {timeout}s")


@pytest.fixture(scope="module")
def v3_stub(tmp_path_factory: pytest.TempPathFactory, sample_cache: Path) -> Iterator[EmulatorHandle]:
    """A stub-rendering emulator for the v3 tests of one module."""
    with run_emulator(_data_dir(tmp_path_factory, sample_cache), render="stub") as handle:
        yield handle
