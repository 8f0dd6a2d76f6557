"""
When a campaign's task should be awake: pure functions of what the campaign learned (how long a job
renders, how long a resume takes to start) and of its running jobs' submit times.

A task woken *after* jobs end leaves their slots idle for the resume's latency ``L`` (trigger event,
scheduler, Celery, task start: 3-5 s on the production topology) plus the wait for the ``k`` ends that
wake it: an idle overhead of about ``k / (2c) + L / T`` for ``c`` slots and ``T``-second renders, 1.75x
the concurrency floor for ``k = 5, L = 5, c = 10, T = 10``. The campaign therefore wakes the task
*ahead* of the next expected end by the learned latency, and the task then works a bounded window in
its process (reading the jobs due to end every ``poll`` seconds, refilling freed slots, publishing)
while an end is expected before a deferral could bring it back, then defers again.

Bounds (see :class:`PacingPolicy`): a window lasts at most ``window`` seconds; a deferral that ends a
window before it closed lasts at least ``min_defer`` seconds (the task stays while an end is expected
sooner); so a campaign has at most one resume per ``min(window, min_defer)`` seconds of its length,
whatever its number of items. ``min_defer`` is the break-even of a resume (a process start, a scheduler
round trip, about a second of Airflow CPU and the latency ``L``) against holding the worker slot: the task
defers whenever no job is expected to end within ``min_defer + L``, and stays, working, while ends come
closer together than that (a short render, or many jobs in flight). A window's second costs a status
read per due job; a closed window's deferral wakes the task ahead of the next end, however near.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# Before a campaign measured its resumes: about what the production topology takes.
DEFAULT_LATENCY = 4.0


@dataclass(frozen=True)
class PacingPolicy:
    """
    How the task paces itself.

    :param window: seconds a resume may work in its process, at most.
    :param min_defer: the task defers only when no job is expected to end within this many seconds plus
        its resume latency; so a deferral before the window closes lasts at least this long.
    :param poll: seconds between two status reads inside a window.
    :param weight: how much a new observation moves a learned figure (exponential average).
    """

    window: float = 60.0
    min_defer: float = 15.0
    poll: float = 1.0
    weight: float = 0.3


def learned(previous: float | None, observed: Iterable[float], weight: float) -> float | None:
    """
    A figure's exponential average after ``observed``; ``previous`` when nothing was observed.

    :param previous: the figure so far, or None.
    :param observed: new observations (negative ones are ignored).
    :param weight: each observation's weight.
    """
    value = previous
    for sample in observed:
        if sample < 0:
            continue
        value = sample if value is None else (1 - weight) * value + weight * sample
    return value


def expected_end(submitted_at: float, render: float, now: float) -> float | None:
    """
    When a running job should end: its submit time plus the learned render time; None for a job later
    than that by a quarter of a render (a slow or stuck job neither keeps the task awake nor wakes it:
    the trigger wakes the task when it ends, as before anything was learned).

    :param submitted_at: Unix time the job was submitted.
    :param render: the learned seconds from submit to end.
    :param now: the current Unix time.
    """
    end = submitted_at + render
    slack = 0.25 * render
    return None if now > end + slack else end


def next_end(submitted: Sequence[float], render: float | None, now: float) -> float | None:
    """
    The soonest expected end of the running jobs on time; None when none is, or no render time is known.

    :param submitted: the running jobs' submit times.
    :param render: the learned render time, or None.
    :param now: the current Unix time.
    """
    if render is None:
        return None
    ends = [end for at in submitted if (end := expected_end(at, render, now)) is not None]
    return min(ends) if ends else None


def wake_at(soonest: float | None, latency: float, now: float) -> float | None:
    """
    When the trigger wakes the task: ``latency`` before the soonest expected end, so the task is up as it
    comes (at once, when that is already past); None when no end is expected. A deferral the window's
    rule chose (:func:`keep_working`) is therefore at least ``min_defer`` long; one after a closed window
    may be shorter.

    :param soonest: the soonest expected end (:func:`next_end`).
    :param latency: the learned resume latency.
    :param now: the current Unix time (the deferral's).
    """
    if soonest is None:
        return None
    return max(soonest - latency, now)


def keep_working(
    soonest: float | None, latency: float, now: float, window_end: float, policy: PacingPolicy
) -> bool:
    """
    Whether the task stays in its window rather than defer: an end is expected before a deferral could
    wake it ahead of that end (its ``min_defer`` plus the resume's latency), and the window has time left.

    :param soonest: the soonest expected end (:func:`next_end`).
    :param latency: the learned resume latency.
    :param now: the current Unix time.
    :param window_end: when this resume's window closes.
    :param policy: the bounds.
    """
    if soonest is None or now >= window_end:
        return False
    return soonest - latency < now + policy.min_defer


def due(
    submitted: dict[str, float],
    render: float | None,
    now: float,
    lead: float = 0.0,
    read_at: Mapping[str, float] | None = None,
    gather: float = 0.0,
) -> list[str]:
    """
    The running jobs worth reading now: those whose submit time plus the render time, less ``lead``,
    has come (all, when no render time is known), and that were not read in the last ``lead`` seconds;
    with them, those that would be so within ``gather`` seconds.

    The render time is learned from ends *as seen*, which come after the true ends by up to a read's
    interval and a pass's work. Reading a job only from its learned end on would see it later still, and
    feed that back: the learned time would creep up wave after wave (measured on the topology: 10-s
    renders read every 12, then 15 s), holding the plan's slots idle. Reading from a poll ahead keeps
    the learned time within a poll of the truth.

    :param submitted: each running job's key and submit time.
    :param render: the learned render time, or None.
    :param now: the current Unix time.
    :param lead: seconds ahead of the expected end to start reading (the window's poll).
    :param read_at: when each job was last read in this window: a job is read again a ``lead`` later,
        not each time another job becomes due (jobs submitted a few ms apart were read once per job).
    :param gather: read early, with the jobs due now, those due within this many seconds (the window
        gathers a poll). A refill's jobs are submitted a create apart (about 12 ms on the production
        topology), so they become due that far apart: read one by one, each end was seen alone and
        refilled alone, with a state-store write for its marker and one for its id (1.9 writes per item,
        counted in the API server's access log), where a refill of ``k`` ends writes ``k + 1``.
        Gathered, they are read, ended and refilled together, and stay together; a job is read at most
        a poll earlier than it would be.
    """
    horizon = now + gather
    return [key for key, at in submitted.items() if read_time(key, at, render, lead, read_at) <= horizon]


def read_time(
    key: str, submitted_at: float, render: float | None, poll: float, read_at: Mapping[str, float] | None
) -> float:
    """
    When a job is next worth reading: from a poll before its expected end (:func:`first_read`; at once
    when no render time is known), and a poll after its last read.

    :param key: the job's key.
    :param submitted_at: Unix time the job was submitted.
    :param render: the learned render time, or None.
    :param poll: seconds between two reads of a job (and the lead before its expected end).
    :param read_at: when each job was last read, if known.
    """
    first = first_read(submitted_at, render, poll) if render is not None else float("-inf")
    last = (read_at or {}).get(key)
    return first if last is None else max(first, last + poll)


def first_read(submitted_at: float, render: float, lead: float) -> float:
    """
    When a job is first worth reading: ``lead`` before its expected end (see :func:`due`).

    :param submitted_at: Unix time the job was submitted.
    :param render: the learned render time.
    :param lead: seconds ahead of the expected end.
    """
    return submitted_at + render - lead


def next_read(
    submitted: dict[str, float],
    render: float | None,
    now: float,
    poll: float,
    read_at: Mapping[str, float],
) -> float:
    """
    Seconds until the window's next status reads: a poll, or less when a job becomes due (:func:`due`,
    a poll ahead of its end, a poll after its last read) sooner. Jobs already due and not ended are read
    again a poll later, never at once: a job read a poll early is, by design, often still running.

    :param submitted: each running job's key and submit time.
    :param render: the learned render time, or None (then a poll).
    :param now: the current Unix time.
    :param poll: seconds between two reads of a job.
    :param read_at: when each job was last read in this window (a job due and never read: at once).
    """
    if render is None:
        return poll
    times = (read_time(key, at, render, poll, read_at) for key, at in submitted.items())
    return max(0.0, min([poll, *(t - now for t in times)]))
