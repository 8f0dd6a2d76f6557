"""
The plan's concurrency: HeyGen renders at most ``plan_concurrency`` jobs of an account at once
(pay-as-you-go: 10), across the workflows API and API v3.

A job holds a slot from its create until it is terminal (completed, failed or deleted). A single
create that finds too few free slots is refused with 429 before it creates anything (see
:mod:`airflow_heygen.emulator.creates`); a batch is always accepted, and its items beyond the free
slots wait, in order, for slots to free up.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable, Iterable


class SlotStart(str, enum.Enum):
    """How a job got its slot, which says when its injected latency runs."""

    AT_ONCE = "at_once"  # at its create (or at start-up): latency counted from its create
    AFTER_WAIT = "after_wait"  # it waited for the slot: latency counted from now, when it starts
    RELEASED = "released"  # it waited, and a release came meanwhile: no latency left


# Hands a job that got its slot to the render queue.
StartJob = Callable[[str, SlotStart], None]


class PlanSlots:
    """
    The slots of the plan: which jobs hold one, which wait for one, and the most ever held at once.

    Every method is synchronous: a check of :attr:`free` and the :meth:`reserve` after it happen with
    no ``await`` between, so two creates cannot both take the last slot.

    :param limit: the current ``plan_concurrency`` (read at each use: it can change at run time).
    :param start: hands a job that got its slot to the render queue.
    """

    def __init__(self, limit: Callable[[], int], start: StartJob) -> None:
        self._limit = limit
        self._start = start
        self._held: set[str] = set()
        # An ordered dict, not a deque: a deleted waiting job leaves it in O(1). The value says
        # whether a release came while it waited.
        self._waiting: OrderedDict[str, bool] = OrderedDict()
        self._max = 0

    @property
    def limit(self) -> int:
        """The plan concurrency in force."""
        return self._limit()

    @property
    def in_flight(self) -> int:
        """Jobs holding a slot: accepted and not terminal, batch items still waiting excluded."""
        return len(self._held)

    @property
    def waiting(self) -> int:
        """Jobs accepted (batch items) that wait for a slot."""
        return len(self._waiting)

    @property
    def max_in_flight(self) -> int:
        """The highest :attr:`in_flight` since start or the last :meth:`reset_max`."""
        return self._max

    @property
    def free(self) -> int:
        """Slots a single create can take now."""
        if self._waiting:
            return 0  # waiting batch items come first, whatever a lowered limit left
        return max(self._limit() - len(self._held), 0)

    def reserve(self, job_ids: Iterable[str]) -> bool:
        """
        Take a slot for each job of one single create, or none when too few are free.

        The jobs are not started: the caller queues them once they are stored.

        :param job_ids: the create's job ids (a translation creates one per language).
        :return: whether the slots were taken.
        """
        ids = list(job_ids)
        if len(ids) > self.free:
            return False
        self._held.update(ids)
        self._observe()
        return True

    def admit(self, job_id: str) -> None:
        """
        Start a stored job now if a slot is free, else queue it behind the jobs already waiting.

        :param job_id: a batch item, or an unfinished job found at start.
        """
        if self.free > 0:
            self._held.add(job_id)
            self._observe()
            self._start(job_id, SlotStart.AT_ONCE)
        else:
            self._waiting[job_id] = False

    def release(self, job_id: str) -> None:
        """
        The job is terminal: free its slot (or its place in the queue) and start who waits.
        Releasing a job twice, or one that held nothing, does nothing.

        :param job_id: the job.
        """
        self._held.discard(job_id)
        self._waiting.pop(job_id, None)
        self.fill()

    def fill(self) -> None:
        """Give free slots to waiting jobs, oldest first (also after the limit was raised)."""
        while self._waiting and len(self._held) < self._limit():
            job_id, released = self._waiting.popitem(last=False)
            self._held.add(job_id)
            self._observe()
            self._start(job_id, SlotStart.RELEASED if released else SlotStart.AFTER_WAIT)

    def release_waiting(self) -> int:
        """
        Mark every job waiting for a slot released: it completes as soon as it has rendered.

        :return: how many were not marked yet.
        """
        fresh = [job_id for job_id, released in self._waiting.items() if not released]
        for job_id in fresh:
            self._waiting[job_id] = True
        return len(fresh)

    def reset_max(self) -> None:
        """Start :attr:`max_in_flight` again from the jobs in flight now."""
        self._max = len(self._held)

    def _observe(self) -> None:
        self._max = max(self._max, len(self._held))

    def to_json(self) -> dict[str, int]:
        """The figures ``GET /_admin/stats`` shows."""
        return {
            "plan_concurrency": self.limit,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "waiting_for_slot": self.waiting,
        }
