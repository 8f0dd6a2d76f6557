"""Executions and outputs survive a restart; unfinished ones are re-queued."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_heygen.emulator.samples import write_target
from airflow_heygen.emulator.testing import run_emulator
from tests.emulator.conftest import avatar_body, faceswap_body, status_of, submit_ok, wait_final

LONG_TARGET_SECONDS = 20.0


def test_restart_keeps_finished_and_requeues_unfinished(make_data_dir: Callable[[], Path]) -> None:
    data_dir = make_data_dir()
    with run_emulator(data_dir, render="stub") as emulator:
        finished = [submit_ok(emulator, faceswap_body(emulator)), submit_ok(emulator, avatar_body(emulator))]
        before = {execution_id: wait_final(emulator, execution_id) for execution_id in finished}
        emulator.set_faults(latency=30)
        # Files, not URLs: the last start below listens on another port, and stub rendering checks
        # that its inputs can still be fetched.
        samples = data_dir / "samples"
        local = faceswap_body(emulator, source=str(samples / "face.jpg"), target=str(samples / "target.mp4"))
        unfinished = submit_ok(emulator, local)
        old_port = emulator.port
        emulator.restart()
        assert emulator.port == old_port
        for execution_id, data in before.items():
            status, payload = status_of(emulator, execution_id)
            assert status == 200
            assert payload["data"] == data
            assert emulator.request("GET", f"/media/{execution_id}.mp4")[0] == 200
        status, payload = status_of(emulator, unfinished)
        assert payload["data"]["status"] in ("submitted", "running")
    record = json.loads((data_dir / "executions" / f"{unfinished}.json").read_text())
    assert record["status"] in ("submitted", "running")
    record["ready_at"] = record["created_at"]  # let it finish at once on the next start
    (data_dir / "executions" / f"{unfinished}.json").write_text(json.dumps(record))
    with run_emulator(data_dir, render="stub") as emulator:
        assert wait_final(emulator, unfinished)["status"] == "completed"
    # Checked once it stopped: while it runs, a record being replaced has its temporary for a moment.
    assert len(list((data_dir / "executions").glob("*.tmp"))) == 0


def test_a_record_of_an_older_emulator_saying_processing_reads_as_running(
    make_data_dir: Callable[[], Path],
) -> None:
    data_dir = make_data_dir()
    with run_emulator(data_dir, render="stub", latency=30) as emulator:
        samples = data_dir / "samples"
        local = faceswap_body(emulator, source=str(samples / "face.jpg"), target=str(samples / "target.mp4"))
        execution_id = submit_ok(emulator, local)
    path = data_dir / "executions" / f"{execution_id}.json"
    record = json.loads(path.read_text())
    # What emulators wrote before they spoke HeyGen's "running", finishing at once on the next start.
    record.update(status="processing", ready_at=record["created_at"])
    path.write_text(json.dumps(record))
    with run_emulator(data_dir, render="stub", latency=30) as emulator:
        assert wait_final(emulator, execution_id)["status"] == "completed"
    record = json.loads(path.read_text())
    assert record["status"] == "completed"


@pytest.mark.slow
def test_stop_during_a_real_render_then_finish_after_restart(make_data_dir: Callable[[], Path]) -> None:
    data_dir = make_data_dir()
    with run_emulator(data_dir, render="real", workers=1) as emulator:
        samples = data_dir / "samples"
        # Seven times the sample's length: its render takes seconds even on a fast, quiet machine, so the
        # stop below always lands in the middle of it (the 3-s sample could finish within the second).
        target = data_dir / "long_target.mp4"
        write_target(target, samples / "face2.jpg", seconds=LONG_TARGET_SECONDS)
        body = faceswap_body(emulator, source=str(samples / "face.jpg"), target=str(target))
        execution_id = submit_ok(emulator, body)
        deadline = time.monotonic() + 30
        while status_of(emulator, execution_id)[1]["data"]["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(1.0)  # let the worker process start rendering
        port, started = emulator.port, time.monotonic()
        emulator.stop()
        assert time.monotonic() - started < 10, "stopping must not wait for the render"
        # A render writes a hidden temporary and renames it whole: a stopped one leaves nothing under the
        # final name.
        assert list((data_dir / "media").glob(f"{execution_id}*")) == []
        emulator.start(port=port)
        data = wait_final(emulator, execution_id, timeout=180)
        assert data["status"] == "completed"
        assert (data_dir / "media" / f"{execution_id}.mp4").stat().st_size > 10_000
