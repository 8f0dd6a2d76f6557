"""
The bulk poller: HeyGenJobTriggers of one event loop share bulk status reads (at most 100 ids each),
keep their own schedules, and keep faults, cancellations and connections apart. The fake HeyGen counts
every bulk request and the ids in it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Awaitable
from typing import Any

import pytest

from airflow_heygen.triggers import bulk
from airflow_heygen.triggers import jobs as jobs_trigger
from airflow_heygen.triggers.jobs import HeyGenJobTrigger
from tests.conftest import heygen_connection_uri
from tests.support.fake_heygen import FakeHeyGen, Reply


def trigger(
    video_id: str, interval: float = 0.05, conn_id: str = "heygen_default", **kw: Any
) -> HeyGenJobTrigger:
    return HeyGenJobTrigger(
        "video", video_id, conn_id, poll_interval=interval, deadline=time.time() + 60, **kw
    )


async def events_of(trigger_: HeyGenJobTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger_.run()]


async def staggered_waits(ids: list[str], interval: float, apart: float, until: Awaitable[None]) -> None:
    """Start a trigger per id, ``apart`` seconds after one another; cancel them all once ``until`` is done."""
    tasks = []
    for video_id in ids:
        tasks.append(asyncio.ensure_future(events_of(trigger(video_id, interval))))
        await asyncio.sleep(apart)
    await until
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_many_waits_share_bulk_requests_of_at_most_100_ids(heygen_conn: FakeHeyGen) -> None:
    ids = [heygen_conn.add_video(polls=2) for _ in range(250)]

    results = await asyncio.gather(*(events_of(trigger(i)) for i in ids))

    assert [event["status"] for (event,) in results] == ["success"] * 250
    assert {event["job"]["id"] for (event,) in results} == set(ids)
    # The triggerer reads statuses only; the task reads a completed video's URL once, in the worker.
    assert {event["job"]["video_url"] for (event,) in results} == {None}
    sizes = [len(request) for request in heygen_conn.bulk_requests]
    assert max(sizes) <= 100
    assert sum(sizes) == 250 * 3, "each job read three times in bulk: processing, processing, completed"
    assert len(sizes) <= 3 * 4, "three reads of 250 ids: a few requests each, not 750"
    singles = [r for r in heygen_conn.requests if r.path.startswith("/v3/videos/vid")]
    assert singles == [], "no single read in the triggerer"
    assert bulk.pollers() == {}, "the poller stopped with its last trigger"


async def test_each_trigger_keeps_its_own_interval_and_reads_at_once(heygen_conn: FakeHeyGen) -> None:
    fast = [heygen_conn.add_video(polls=10_000) for _ in range(3)]
    slow = [heygen_conn.add_video(polls=10_000) for _ in range(3)]
    started = time.monotonic()
    tasks = [asyncio.ensure_future(events_of(trigger(i, 0.05))) for i in fast]
    tasks += [asyncio.ensure_future(events_of(trigger(i, 0.5))) for i in slow]

    def reads() -> Counter[str]:
        return Counter(i for request in list(heygen_conn.bulk_requests) for i in request)

    # Counted in reads, not seconds: a loaded machine may run the loop late, never the schedule wrong.
    while min(reads()[i] for i in slow) < 3 and time.monotonic() - started < 60:
        await asyncio.sleep(0.01)
    elapsed = time.monotonic() - started
    seen = reads()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    assert set(heygen_conn.bulk_requests[0]) == set(fast + slow), "every trigger read at once, together"
    assert elapsed >= 0.9, "a 0.5 s trigger's third read comes after two intervals, not sooner"
    assert all(3 <= seen[i] <= elapsed / 0.5 + 2 for i in slow), (seen, elapsed)
    assert min(seen[i] for i in fast) >= 2 * max(seen[i] for i in slow), "each on its own interval"
    assert bulk.pollers() == {}, "cancelled triggers left, and the poller with them"


async def test_later_reads_wait_part_of_their_interval_to_share_a_request(
    heygen_conn: FakeHeyGen, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Patience of half the 2 s interval: reads arriving 0.2 s apart, too far apart for the first
    # reads' 0.1 s window, share one request from the second read on.
    monkeypatch.setattr(jobs_trigger, "READ_PATIENCE", 0.5)
    ids = [heygen_conn.add_video(polls=10_000) for _ in range(3)]

    async def four_requests() -> None:
        started = time.monotonic()
        while len(heygen_conn.bulk_requests) < 4 and time.monotonic() - started < 30:
            await asyncio.sleep(0.01)

    await staggered_waits(ids, interval=2.0, apart=0.2, until=four_requests())

    requests = [list(request) for request in heygen_conn.bulk_requests]
    assert requests[:3] == [[video_id] for video_id in ids], "first reads go out at once, each alone"
    assert sorted(requests[3]) == sorted(ids), "the second reads waited for each other"


async def test_reads_held_back_to_share_a_request_never_go_more_than_one_interval_apart(
    heygen_conn: FakeHeyGen, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each read after the first is asked for half an interval early and may wait until it is due; the
    # next one is due one interval after the request went out, not after the read was asked for.
    monkeypatch.setattr(jobs_trigger, "READ_PATIENCE", 0.5)
    ids = [heygen_conn.add_video(polls=10_000) for _ in range(4)]

    await staggered_waits(ids, interval=1.0, apart=0.15, until=asyncio.sleep(4.5))

    reads: dict[str, list[float]] = {video_id: [] for video_id in ids}
    for when, request in zip(heygen_conn.bulk_request_times, heygen_conn.bulk_requests, strict=True):
        for video_id in request:
            reads[video_id].append(when)
    gaps = [b - a for times in reads.values() for a, b in itertools.pairwise(times)]
    assert min(len(times) for times in reads.values()) >= 4, reads
    assert max(gaps) <= 1.0 + 0.15, f"a read came later than one interval after the last: {gaps}"
    assert min(gaps) >= 0.5 - 0.05, f"a read came earlier than its lead: {gaps}"
    assert len(heygen_conn.bulk_requests) < sum(len(times) for times in reads.values()), "reads shared"


async def test_failed_bulk_requests_are_retried_without_failing_any_job(heygen_conn: FakeHeyGen) -> None:
    ids = [heygen_conn.add_video(polls=1) for _ in range(20)]
    heygen_conn.replies.extend(
        [
            Reply(503, {"error": {"message": "busy"}}),
            Reply(429, {"error": {"message": "slow"}}, {"Retry-After": "0"}),
        ]
    )

    results = await asyncio.gather(*(events_of(trigger(i)) for i in ids))

    assert [event["status"] for (event,) in results] == ["success"] * 20
    assert any(r.path.startswith("/v3/videos/statuses") for r in heygen_conn.requests)


async def test_an_id_missing_from_the_bulk_answer_is_read_singly(heygen_conn: FakeHeyGen) -> None:
    shown, left_out = heygen_conn.add_video(polls=1), heygen_conn.add_video(polls=0)
    heygen_conn.omit_from_bulk.add(left_out)

    results = await asyncio.gather(events_of(trigger(shown)), events_of(trigger(left_out)))

    assert [event["status"] for (event,) in results] == ["success", "success"]
    assert any(r.path == f"/v3/videos/{left_out}" for r in heygen_conn.requests)


async def test_not_found_and_failed_end_only_their_own_trigger(heygen_conn: FakeHeyGen) -> None:
    good = heygen_conn.add_video(polls=2)
    bad = heygen_conn.add_video(polls=0, status="failed")

    results = await asyncio.gather(
        events_of(trigger(good)), events_of(trigger("vid-unknown")), events_of(trigger(bad))
    )

    assert [event["status"] for (event,) in results] == ["success", "not_found", "failed"]
    assert "No face detected" in results[2][0]["message"]


async def test_connections_never_share_a_request(fake: FakeHeyGen, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_A", heygen_connection_uri(fake.base_url))
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_B", heygen_connection_uri(fake.base_url))
    a = [fake.add_video(polls=1) for _ in range(5)]
    b = [fake.add_video(polls=1) for _ in range(5)]

    results = await asyncio.gather(
        *(events_of(trigger(i, conn_id="heygen_a")) for i in a),
        *(events_of(trigger(i, conn_id="heygen_b")) for i in b),
    )

    assert [event["status"] for (event,) in results] == ["success"] * 10
    for request in fake.bulk_requests:
        assert set(request) <= set(a) or set(request) <= set(b), request


async def test_a_restarted_triggerer_re_registers_every_trigger_with_one_event_each(
    heygen_conn: FakeHeyGen,
) -> None:
    ids = [heygen_conn.add_video(polls=6) for _ in range(30)]
    first = [trigger(i) for i in ids]
    tasks = [asyncio.ensure_future(events_of(t)) for t in first]
    await asyncio.sleep(0.15)
    for task in tasks:  # the triggerer stops: every trigger is cancelled mid-wait
        task.cancel()
    stopped = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(outcome, asyncio.CancelledError) for outcome in stopped), "no event on shutdown"
    assert bulk.pollers() == {}

    revived = [HeyGenJobTrigger(**t.serialize()[1]) for t in first]  # the new triggerer, from the database
    results = await asyncio.gather(*(events_of(t) for t in revived))

    assert [len(events) for events in results] == [1] * 30
    assert [event["status"] for (event,) in results] == ["success"] * 30


async def test_a_bulk_outage_longer_than_the_retries_fails_no_job(
    fake: FakeHeyGen, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri(fake.base_url, retry_limit=1))
    ids = [fake.add_video(polls=1) for _ in range(5)]
    fake.replies.extend([Reply(503, {"error": {"message": "down"}})] * 2)  # both attempts of one read

    results = await asyncio.gather(*(events_of(trigger(i)) for i in ids))

    assert [event["status"] for (event,) in results] == ["success"] * 5, "read again at the next interval"


async def test_the_task_reads_a_completed_video_once_for_its_url(heygen_conn: FakeHeyGen) -> None:
    from airflow_heygen.hooks.heygen import HeyGenHook
    from airflow_heygen.triggers.jobs import job_from_event

    done, failed = heygen_conn.add_video(polls=1), heygen_conn.add_video(polls=0, status="failed")
    (event,), (failure,) = await asyncio.gather(events_of(trigger(done)), events_of(trigger(failed)))
    singles_in_the_triggerer = heygen_conn.count("GET", "/v3/videos/vid")
    hook = HeyGenHook(heygen_conn_id="heygen_default")

    job = await asyncio.to_thread(hook.detailed, job_from_event(event, 60))

    assert singles_in_the_triggerer == 0
    assert (job.id, job.status.value, job.video_url) == (done, "completed", heygen_conn.video_url(done))
    assert heygen_conn.count("GET", f"/v3/videos/{done}") == 1, "one read, in the worker"
    assert await asyncio.to_thread(hook.detailed, job) is job, "a job with its URL is not read again"
    assert failure["status"] == "failed" and heygen_conn.count("GET", f"/v3/videos/{failed}") == 0
