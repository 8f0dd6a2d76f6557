"""Fault injection: 429 with Retry-After, 503, failed jobs, latency; deterministic under a seed."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from airflow_heygen.emulator.config import FaultSettings, LatencyRange, load_config
from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from tests.emulator.conftest import EXECUTIONS, faceswap_body, status_of, submit, submit_ok, wait_final


def status_sequence(emulator: EmulatorHandle, count: int) -> list[int]:
    return [status_of(emulator, "node-gw-000000000000")[0] for _ in range(count)]


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory, sample_cache: Path) -> Iterator[EmulatorHandle]:
    data_dir = tmp_path_factory.mktemp("faulty")
    (data_dir / "samples").symlink_to(sample_cache, target_is_directory=True)
    with run_emulator(
        data_dir, render="stub", seed=1234, rate_limit_rate=0.3, error_rate=0.2, retry_after=7
    ) as handle:
        yield handle


def test_same_seed_same_faults(faulty: EmulatorHandle, make_data_dir: Callable[[], Path]) -> None:
    faulty.set_faults(seed=99)
    first = status_sequence(faulty, 60)
    faulty.set_faults(seed=99)
    second = status_sequence(faulty, 60)
    assert first == second
    assert {404, 429, 503} <= set(first)
    with run_emulator(make_data_dir(), render="stub", seed=99, rate_limit_rate=0.3, error_rate=0.2) as other:
        assert status_sequence(other, 60) == first
    faulty.set_faults(seed=100)
    assert status_sequence(faulty, 60) != first


def test_fault_rates_and_envelopes(faulty: EmulatorHandle) -> None:
    faulty.set_faults(seed=5)
    counts: Counter[int] = Counter()
    for _ in range(300):
        status, payload = faulty.request(
            "GET", f"{EXECUTIONS}/node-gw-000000000000", headers={"X-Api-Key": faulty.api_key}
        )
        counts[status] += 1
        if status == 429:
            assert payload == {
                "data": None,
                "error": {
                    "code": "rate_limit_exceeded",
                    "message": "Too many requests, retry later",
                    "param": None,
                    "doc_url": None,
                },
            }
        elif status == 503:
            assert payload["data"] is None
            assert payload["error"]["code"] == "service_unavailable"
    assert 0.2 < counts[429] / 300 < 0.4
    assert 0.1 < counts[503] / 300 < 0.3
    assert counts[404] + counts[429] + counts[503] == 300


def test_retry_after_header_and_faults_before_auth(faulty: EmulatorHandle) -> None:
    import urllib.error
    import urllib.request

    faulty.set_faults(rate_limit_rate=1.0, error_rate=0.0)
    try:
        request = urllib.request.Request(faulty.url(f"{EXECUTIONS}/x"))  # no key: the fault still wins
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=10)
        assert info.value.code == 429
        assert info.value.headers["Retry-After"] == "7"
    finally:
        faulty.set_faults(rate_limit_rate=0.3, error_rate=0.2)


def test_faulted_submission_creates_nothing(faulty: EmulatorHandle) -> None:
    faulty.set_faults(rate_limit_rate=0.5, error_rate=0.5, seed=3)
    try:
        before = faulty.stats()
        for _ in range(20):
            assert submit(faulty, faceswap_body(faulty))[0] in (429, 503)
        after = faulty.stats()
    finally:
        faulty.set_faults(rate_limit_rate=0.3, error_rate=0.2)
    assert after["submissions"] == before["submissions"]
    assert after["executions"] == before["executions"]
    injected = sum(after["faults"].values()) - sum(before["faults"].values())
    assert injected == 20


def test_admin_and_public_paths_are_never_faulted(faulty: EmulatorHandle) -> None:
    faulty.set_faults(error_rate=1.0, rate_limit_rate=0.0)
    try:
        for _ in range(10):
            assert faulty.request("GET", "/healthz")[0] == 200
            assert faulty.request("GET", "/_admin/stats")[0] == 200
    finally:
        faulty.set_faults(rate_limit_rate=0.3, error_rate=0.2)


def test_fail_rate_and_latency(make_data_dir: Callable[[], Path]) -> None:
    with run_emulator(make_data_dir(), render="stub", fail_rate=1.0, latency="0.6-0.8", seed=1) as emulator:
        started = time.monotonic()
        execution_id = submit_ok(emulator, faceswap_body(emulator))
        data = wait_final(emulator, execution_id)
        assert time.monotonic() - started >= 0.6
        assert data["status"] == "failed"
        assert data["error"] == {
            "code": "internal_error",
            "message": "Face swap failed: the render node crashed (injected fault)",
        }
        assert data["output"] is None
        assert emulator.stats()["faults"]["failed_job"] == 1
        emulator.set_faults(fail_rate=0.0, latency=0)
        assert wait_final(emulator, submit_ok(emulator, faceswap_body(emulator)))["status"] == "completed"


def wait_rendered(emulator: EmulatorHandle) -> None:
    """Until every submitted job is rendered and waits out its latency (what a release ends)."""
    deadline = time.monotonic() + 30
    while emulator.healthz()["queued"] or emulator.healthz()["rendering"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)  # from the end of the render to waiting: one turn of the emulator's loop


def test_release_ends_the_latency_of_waiting_jobs_only(make_data_dir: Callable[[], Path]) -> None:
    with run_emulator(make_data_dir(), render="stub", latency=0.5, seed=1) as emulator:
        with emulator.held_renders(600):
            held = [submit_ok(emulator, faceswap_body(emulator)) for _ in range(3)]
            wait_rendered(emulator)
            assert {status_of(emulator, job)[1]["data"]["status"] for job in held} == {"running"}
            started = time.monotonic()
            assert emulator.release() == 3
            assert {wait_final(emulator, job, timeout=10)["status"] for job in held} == {"completed"}
            assert time.monotonic() - started < 10
            # A job submitted after the release waits out its own latency.
            later = submit_ok(emulator, faceswap_body(emulator))
            time.sleep(1.0)
            assert status_of(emulator, later)[1]["data"]["status"] != "completed"
            assert emulator.release() == 1
            assert wait_final(emulator, later, timeout=10)["status"] == "completed"
            assert emulator.release() == 0
            still_held = submit_ok(emulator, faceswap_body(emulator))
            wait_rendered(emulator)
        # Leaving the block restores the latency before it and lets what it still held end.
        assert emulator.faults()["latency"] == "0.5"
        assert wait_final(emulator, still_held, timeout=10)["status"] == "completed"


def test_settings_parse_and_validate() -> None:
    assert LatencyRange.parse("1-3") == LatencyRange(1.0, 3.0)
    assert LatencyRange.parse(2) == LatencyRange(2.0, 2.0)
    assert LatencyRange.parse([0.5, 1]).to_json() == "0.5-1"
    for bad in ("3-1", "-1", "x", True, None):
        with pytest.raises(ValueError):
            LatencyRange.parse(bad)
    with pytest.raises(ValueError):
        FaultSettings().updated({"rate_limit_rate": 0.7, "error_rate": 0.6})


def test_environment_variables_configure_faults(tmp_path: Path) -> None:
    config = load_config(
        ["--data-dir", str(tmp_path), "--error-rate", "0.1"],
        {
            "HEYGEN_EMULATOR_FAIL_RATE": "0.25",
            "HEYGEN_EMULATOR_LATENCY": "1-2",
            "HEYGEN_EMULATOR_ERROR_RATE": "0.9",
            "HEYGEN_EMULATOR_SEED": "42",
            "HEYGEN_EMULATOR_RENDER": "stub",
            "HEYGEN_EMULATOR_API_KEY": "k",
        },
    )
    assert config.faults.fail_rate == 0.25
    assert config.faults.error_rate == 0.1  # the flag wins over the environment
    assert config.faults.latency == LatencyRange(1.0, 2.0)
    assert config.seed == 42
    assert config.render.value == "stub"
    assert config.api_key == "k"
    with pytest.raises(SystemExit):
        load_config(["--fail-rate", "2"], {})


def test_fail_code_option(tmp_path: Path) -> None:
    assert load_config(["--data-dir", str(tmp_path)], {}).faults.fail_code == "internal_error"
    config = load_config(["--fail-code", "no_face_detected"], {"HEYGEN_EMULATOR_FAIL_CODE": "invalid_media"})
    assert config.faults.fail_code == "no_face_detected"
    assert load_config([], {"HEYGEN_EMULATOR_FAIL_CODE": "invalid_media"}).faults.fail_code == "invalid_media"
    with pytest.raises(SystemExit):
        load_config(["--fail-code", "Not A Code"], {})


def test_fail_code_option_reaches_failed_jobs(make_data_dir: Callable[[], Path]) -> None:
    with run_emulator(make_data_dir(), render="stub", fail_rate=1.0, fail_code="download_failed") as emulator:
        data = wait_final(emulator, submit_ok(emulator, faceswap_body(emulator)))
    assert data["error"]["code"] == "download_failed"
    assert data["error"]["message"].startswith("Face swap failed: an input file could not be downloaded")
