"""
The storm: 50 mapped face swaps while the emulator answers 20 % of every request 503 and 10 % 429
(``Retry-After: 1``). Every swap must succeed on its first try, with exactly one paid submission each,
and no request retried beyond the connection's ``retry_limit`` or sooner than ``Retry-After`` allows.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle
from tests.dags.heygen_reliability_dags import STORM_SIZE, faces
from tests.reliability.conftest import API_KEY
from tests.reliability.support import (
    DagRunner,
    ReliabilityReport,
    RequestLog,
    RetryAudit,
    ScenarioCounts,
    heygen_connection,
    hook_retries,
    video_bytes_lost,
)

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(300)]

ERROR_RATE = 0.2
RATE_LIMIT_RATE = 0.1
RETRY_AFTER = 1
# 30 % of requests fail; ten in a row happen about twice in a million requests.
RETRY_LIMIT = 10


def test_fifty_face_swaps_survive_a_storm_of_503_and_429(
    calm_emulator: EmulatorHandle,
    request_log: RequestLog,
    dag_runner: DagRunner,
    report: ReliabilityReport,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    emulator = calm_emulator
    monkeypatch.setenv(
        "AIRFLOW_CONN_HEYGEN_STORM",
        heygen_connection(
            emulator.base_url, API_KEY, retry_limit=RETRY_LIMIT, retry_min_delay=0.05, retry_max_delay=0.5
        ),
    )
    emulator.set_faults(
        error_rate=ERROR_RATE, rate_limit_rate=RATE_LIMIT_RATE, retry_after=RETRY_AFTER, latency=0
    )
    emulator.reset_stats()
    started = time.time()

    run = dag_runner.run("heygen_reliability_storm", capfd)

    stats = emulator.stats()
    emulator.set_faults(error_rate=0, rate_limit_rate=0)
    tis = run.get_task_instances()
    results: list[dict[str, Any]] = [
        ti.xcom_pull(task_ids=ti.task_id, map_indexes=ti.map_index) for ti in tis
    ]
    entries = [
        entry
        for entry in request_log.entries(since=started)
        if entry.method == "GET" or (entry.source_image_url or "").startswith(faces("storm"))
    ]
    audit = RetryAudit.of(entries, RETRY_AFTER)
    retries = hook_retries(dag_runner.console[-1])
    lost = video_bytes_lost(emulator, [result for result in results if result])
    report.add(
        ScenarioCounts(
            scenario="Storm: 50 mapped face swaps",
            injected=f"{ERROR_RATE:.0%} 503 + {RATE_LIMIT_RATE:.0%} 429 (Retry-After {RETRY_AFTER}s) "
            "on every request; 25 sync + 25 deferrable",
            jobs=STORM_SIZE,
            submissions=stats["submissions"].get("FaceswapNode", 0),
            http_retries=retries,
            task_retries=sum(ti.try_number - 1 for ti in tis),
            failures=sum(ti.state != "success" for ti in tis),
            bytes_lost=lost,
            seconds=round(time.time() - started, 1),
            notes=f"longest run of faults on one request: {audit.longest_fault_run} (limit {RETRY_LIMIT}); "
            f"{stats['faults']['server_error']} x 503, {stats['faults']['rate_limited']} x 429 injected",
        )
    )

    assert run.state == "success"
    assert len(tis) == STORM_SIZE
    assert {(ti.state, ti.try_number) for ti in tis} == {("success", 1)}, "no task needed an Airflow retry"
    assert stats["submissions"] == {"FaceswapNode": STORM_SIZE}, "exactly one paid submission per swap"
    assert len({result["execution_id"] for result in results}) == STORM_SIZE
    assert all(result["status"] == "completed" and result["video_url"] for result in results)
    assert lost == 0
    # The storm really hit both endpoints, and every fault was answered by a bounded, polite retry.
    assert stats["requests"]["POST /v1/workflows/executions"].get("503", 0) > 0
    assert stats["requests"]["GET /v1/workflows/executions/{execution_id}"].get("429", 0) > 0
    assert audit.retries == stats["faults"]["server_error"] + stats["faults"]["rate_limited"]
    assert retries == audit.retries, "the hooks retried each fault once, and nothing else"
    assert 0 < audit.longest_fault_run <= RETRY_LIMIT
    assert audit.retry_after_violations == 0, "a 429 was retried before its Retry-After"
