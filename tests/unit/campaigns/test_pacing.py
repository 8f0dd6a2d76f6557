"""The campaign's wake-ahead timing, as pure functions of learned figures and submit times (no clocks)."""

from __future__ import annotations

import pytest

from airflow_heygen.campaigns.pacing import (
    PacingPolicy,
    due,
    expected_end,
    keep_working,
    learned,
    next_end,
    next_read,
    wake_at,
)

POLICY = PacingPolicy(window=30.0, min_defer=5.0, poll=1.0, weight=0.5)


def test_learned_figures_average_new_observations_and_ignore_negative_ones() -> None:
    assert learned(None, [], 0.5) is None
    assert learned(None, [10.0], 0.5) == 10.0
    assert learned(10.0, [12.0, -3.0], 0.5) == 11.0
    assert learned(4.0, [], 0.5) == 4.0


def test_a_job_is_expected_at_submit_plus_render_and_a_late_one_no_longer() -> None:
    assert expected_end(100.0, 10.0, now=105.0) == 110.0
    assert expected_end(100.0, 10.0, now=112.0) == 110.0, "late within a quarter render: still due"
    assert expected_end(100.0, 10.0, now=113.0) is None, "later: slow or stuck, woken by its end"
    assert next_end([100.0, 103.0], 10.0, now=105.0) == 110.0
    assert next_end([90.0, 103.0], 10.0, now=105.0) == 113.0, "the stuck one does not count"
    assert next_end([80.0, 90.0], 10.0, now=105.0) is None, "all held: no wake ahead, no window"
    assert next_end([], 10.0, now=105.0) is None and next_end([100.0], None, now=105.0) is None


def test_the_trigger_wakes_the_task_its_latency_ahead_of_the_next_end() -> None:
    # Ten jobs submitted together at 100 s rendering 10 s, resumes taking 4 s: wake at 106 for 110.
    assert wake_at(110.0, latency=4.0, now=100.5) == 106.0
    # After a closed window, an end nearer than the latency: wake at once (never in the past).
    assert wake_at(103.0, latency=4.0, now=100.0) == 100.0
    assert wake_at(None, latency=4.0, now=100.0) is None


def test_the_default_policy_defers_only_when_no_end_is_near_enough_to_be_worth_staying_for() -> None:
    policy = PacingPolicy()
    # Ends 10 s apart (short renders): staying costs a sleep, a resume a process; stay.
    assert keep_working(110.0, 4.0, now=100.0, window_end=160.0, policy=policy)
    # The next end a minute away (HeyGen's real renders, few in flight): defer, the slot is freed.
    assert not keep_working(160.0, 4.0, now=100.0, window_end=160.0, policy=policy)
    # However near the ends, a window closes: the task defers and is woken ahead of the next end.
    assert not keep_working(101.0, 4.0, now=160.0, window_end=160.0, policy=policy)


def test_the_task_stays_while_an_end_comes_before_a_deferral_could_return_it_ahead() -> None:
    window_end = 130.0
    # The next end 8 s away, latency 4: deferring would wake it at 104 < now + min_defer: stay.
    assert keep_working(108.0, 4.0, now=100.0, window_end=window_end, policy=POLICY)
    # The next end 10 s away: a deferral can wake it 4 s ahead, after at least 5 s: defer.
    assert not keep_working(110.0, 4.0, now=100.0, window_end=window_end, policy=POLICY)
    # The window is closed: defer whatever is expected.
    assert not keep_working(130.5, 4.0, now=130.0, window_end=window_end, policy=POLICY)
    assert not keep_working(None, 4.0, now=100.0, window_end=window_end, policy=POLICY)


def test_only_jobs_whose_render_time_passed_are_read_unless_none_is_known() -> None:
    since = {"a": 100.0, "b": 104.0, "c": 90.0}
    assert due(since, 10.0, now=110.0) == ["a", "c"]
    assert due(since, None, now=110.0) == ["a", "b", "c"]
    assert due(since, 10.0, now=110.0, lead=1.0) == ["a", "c"]
    assert due(since, 10.0, now=113.0, lead=1.0) == ["a", "b", "c"], "b is read from a poll before 114"


def test_the_window_reads_again_a_poll_later_or_sooner_when_a_job_becomes_due() -> None:
    # "a" is due (read a poll before 110) and still running: read again in a poll, not at once.
    assert next_read({"a": 100.0}, 10.0, now=109.5, poll=1.0, read_at={"a": 109.5}) == 1.0
    # "b" becomes due at 113.0, 0.3 s from now: read then.
    assert next_read(
        {"a": 100.0, "b": 104.0}, 10.0, now=112.7, poll=1.0, read_at={"a": 112.7}
    ) == pytest.approx(0.3)
    assert next_read({"a": 100.0}, None, now=109.5, poll=1.0, read_at={}) == 1.0


def test_a_job_read_in_the_window_is_read_again_a_poll_later_whatever_else_becomes_due() -> None:
    # Ten jobs submitted 6 ms apart become due 6 ms apart: each is read once, not once per job due.
    since = {f"j{n}": 100.0 + n * 0.006 for n in range(10)}
    read_at = {"j0": 109.0}
    assert due(since, 10.0, now=109.007, lead=1.0, read_at=read_at) == ["j1"]
    assert next_read(since, 10.0, now=109.007, poll=1.0, read_at=read_at) == 0.0, "j1 is due, unread"
    read_at.update({f"j{n}": 109.06 for n in range(1, 10)})
    assert due(since, 10.0, now=109.5, lead=1.0, read_at=read_at) == []
    assert next_read(since, 10.0, now=109.5, poll=1.0, read_at=read_at) == pytest.approx(0.5), "j0 at 110"
    # Without a render time: every job, once a poll.
    assert due(since, None, now=109.5, lead=1.0, read_at={"j0": 109.0}) == [f"j{n}" for n in range(1, 10)]


def test_jobs_of_one_refill_are_read_together_and_stay_together() -> None:
    # A refill's ten jobs were submitted a create (12 ms) apart: read one by one, each end would be seen,
    # and refilled, alone. Gathering a poll's worth reads them in one pass.
    since = {f"j{n}": 100.0 + n * 0.012 for n in range(10)}
    assert due(since, 10.0, now=109.0, lead=1.0, read_at={}) == ["j0"]
    assert due(since, 10.0, now=109.0, lead=1.0, read_at={}, gather=1.0) == list(since)
    # Read together, they are due together again a poll later.
    read_at = dict.fromkeys(since, 109.0)
    assert due(since, 10.0, now=109.5, lead=1.0, read_at=read_at, gather=1.0) == list(since)
    assert due(since, 10.0, now=108.9, lead=1.0, read_at=read_at, gather=0.0) == []
    assert next_read(since, 10.0, now=109.0, poll=1.0, read_at=read_at) == 1.0


@pytest.mark.parametrize(("lead", "creeps"), [(0.0, True), (1.0, False)])
def test_reading_from_a_poll_ahead_keeps_the_learned_render_time_from_creeping_up(
    lead: float, creeps: bool
) -> None:
    """
    Waves of jobs that truly render 10 s, read every second from their due time; each end is seen a
    tenth of a second after the read that finds it (the pass's own work). Learned from ends as seen, a
    render time read only from its learned end grows by that tenth every wave; read from a poll ahead,
    it stays within a poll of the truth.
    """
    true_render, poll, overhead, weight = 10.0, 1.0, 0.1, 0.3
    render: float | None = true_render + 0.5
    for _wave in range(100):
        read_at = 0.0 + render - lead  # a wave submitted at 0
        while not due({"job": 0.0}, render, read_at, lead) or read_at < true_render:
            read_at += poll
        render = learned(render, [read_at + overhead], weight)
    assert render is not None
    assert (render > true_render + 1.5 * poll) is creeps, render


@pytest.mark.parametrize("policy", [POLICY, PacingPolicy()], ids=["short-window", "default"])
def test_resumes_are_bounded_by_the_campaign_s_length_not_its_items(policy: PacingPolicy) -> None:
    """
    Simulate a campaign of staggered 10 s renders (one end a second, ten slots) with the policy: each
    resume works until no end is near or the window closes, then defers until its wake. Resumes per
    second stay under 1 / min(window, min_defer) however many items there are.
    """
    render, latency, slots = 10.0, 4.0, 10
    for items in (100, 1_000):
        now, submitted, started, resumes = 0.0, [], 0, 0
        while started < slots:  # staggered: one a second
            submitted.append(float(started))
            started += 1
        now = 0.0
        ended = 0
        while ended < items:
            resumes += 1
            window_end = now + policy.window
            while True:
                # Ends seen each poll; each ended slot refilled at once.
                for index, at in enumerate(submitted):
                    if at + render <= now:
                        ended += 1
                        submitted[index] = now if started < items else float("inf")
                        started += 1 if started < items else 0
                submitted = [at for at in submitted if at != float("inf")]
                soonest = next_end(submitted, render, now)
                if ended >= items or not keep_working(soonest, latency, now, window_end, policy):
                    break
                now += policy.poll
            if ended >= items:
                break
            wake = wake_at(next_end(submitted, render, now), latency, now)
            assert (wake is not None and wake - now >= policy.min_defer) or now >= window_end
            now = max(wake or now, now) + latency
        floor = items * render / slots
        assert resumes <= 1 + now / min(policy.window, policy.min_defer)
        assert now <= 1.2 * floor + policy.window, (items, now, floor)
