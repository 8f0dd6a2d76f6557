"""
A resume's working window (workflows kinds): while jobs are expected to end before a deferral could
bring the task back ahead of them, the task stays up, reads the jobs due to end, takes in the ended,
refills the freed slots and publishes. The timing is :mod:`airflow_heygen.campaigns.pacing`'s; this
module does the reads and keeps the learned figures in the ledger's head.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_heygen.campaigns.pacing import (
    DEFAULT_LATENCY,
    PacingPolicy,
    due,
    keep_working,
    learned,
    next_end,
    next_read,
    wake_at,
)
from airflow_heygen.exceptions import HeyGenError
from airflow_heygen.triggers.campaign import ended_entry

if TYPE_CHECKING:
    from airflow_heygen.campaigns.runner import CampaignRunner


@dataclass
class Pace:
    """
    What a campaign learned, kept in its ledger's head (``meta``) across resumes and tries.

    :param render: seconds from a job's submit to its end being seen, or None before any ended.
    :param latency: seconds from a trigger's event to the task's resume.
    :param policy: the window's and deferral's bounds.
    """

    render: float | None
    latency: float
    policy: PacingPolicy

    @classmethod
    def of(cls, runner: CampaignRunner, policy: PacingPolicy) -> Pace:
        """The figures in the runner's ledger."""
        meta = runner.ledger.meta
        render = meta.get("render_s")
        latency = meta.get("latency_s")
        return cls(
            float(render) if isinstance(render, int | float) else None,
            float(latency) if isinstance(latency, int | float) else DEFAULT_LATENCY,
            policy,
        )

    def learn(self, runner: CampaignRunner, latency: float | None = None) -> None:
        """
        Fold the runner's newly seen render times (and a resume's latency) into the figures.

        :param runner: the campaign.
        :param latency: the latency of the resume that just began, if measured.
        """
        render = learned(self.render, runner.render_seen, self.policy.weight)
        runner.render_seen.clear()
        if latency is not None:
            self.latency = learned(self.latency, [latency], self.policy.weight) or self.latency
        if render != self.render or latency is not None:
            self.render = render
            runner.ledger.note(render_s=self.render, latency_s=self.latency)

    def wake_at(self, runner: CampaignRunner) -> float | None:
        """When the trigger should wake the task (None: only when jobs ended)."""
        now = time.time()
        return wake_at(next_end(list(runner.running_since().values()), self.render, now), self.latency, now)


def work_window(
    runner: CampaignRunner,
    pace: Pace,
    window_end: float,
    poll: float,
    publish: Callable[[], list[dict[str, Any]]],
    log: Any,
) -> list[dict[str, Any]]:
    """
    Work until no end is expected soon enough to stay for (or the window closes); returns what it
    published. Every create goes through ``runner.submit`` (its marker stored before its POST).

    :param runner: the campaign.
    :param pace: the learned figures and bounds.
    :param window_end: Unix time the window closes.
    :param poll: seconds between reads.
    :param publish: submits into freed slots, then publishes the finished videos; returns them.
    :param log: the task's logger.
    """
    published: list[dict[str, Any]] = []
    row = runner.settings.kind.row
    reads = 0
    read_at: dict[str, float] = {}  # when each job was last read: once a poll, whatever else becomes due
    while True:
        pace.learn(runner)
        since = runner.running_since()
        now = time.time()
        if not keep_working(
            next_end(list(since.values()), pace.render, now), pace.latency, now, window_end, pace.policy
        ):
            break
        time.sleep(max(0.0, min(next_read(since, pace.render, now, poll, read_at), window_end - now)))
        ended: list[Mapping[str, Any]] = []
        try:
            for key in due(since, pace.render, time.time(), lead=poll, read_at=read_at, gather=poll):
                job = runner.hook.get_job(row, key)
                read_at[key] = time.time()
                reads += 1
                if job.status.is_terminal:
                    ended.append(ended_entry(key, job))
        except HeyGenError as err:
            log.warning("Campaign window ends early, the trigger reads on: %s", err)
            break
        if ended:
            runner.take_ended(ended, flush=False)  # written by the refill's first marker, or below
            published += publish()
            if not runner.creates_to_come():
                # No create's marker will write the head soon: note the publications now (the step
                # writes the chunks at its end). While creates come, the next one's marker notes them:
                # a write fewer per video, and a try dying before it copies those videos again.
                runner.ledger.flush(head_only=True)
    if reads:
        log.info("Campaign window: %d status reads, %d videos published", reads, len(published))
    return published
