"""
One step of a campaign, run by its task at every start and resume: take in the jobs that ended,
publish the finished videos, submit what may start, and say what to watch next. Every create is
preceded by its marker in the ledger (``task_state_store``), so no item is ever paid twice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_heygen.campaigns.costs import CampaignCosts
from airflow_heygen.campaigns.items import CampaignKind, Item
from airflow_heygen.campaigns.ledger import BatchMarker, CampaignLedger, ItemRecord, ItemStatus
from airflow_heygen.exceptions import (
    HeyGenAuthError,
    HeyGenInputError,
    HeyGenNoAnswerError,
    HeyGenRequestError,
    HeyGenSpendLimitError,
    HeyGenUnavailableError,
)
from airflow_heygen.hooks.batches import MAX_BATCH_ITEMS
from airflow_heygen.idempotency import KEY_TRUSTED_SECONDS, idempotency_key
from airflow_heygen.kinds import JobStatus
from airflow_heygen.spend.estimate import finished_cost
from airflow_heygen.state import fingerprint
from airflow_heygen.triggers.campaign import batch_key

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from airflow_heygen.hooks.heygen import HeyGenHook
    from airflow_heygen.publishing import DownloadSettings

LOST_REPLY = "its create got no answer: HeyGen may have made (and charged) the job; not resubmitted"
STALE_KEY = "its batch create got no answer over 23 hours ago; its Idempotency-Key no longer replays"


@dataclass(frozen=True)
class CampaignSettings:
    """
    How a campaign runs.

    :param kind: what it creates.
    :param max_in_flight: jobs submitted and not ended, at most.
    :param max_failed: failed and in-doubt items tolerated; one more stops new submissions and fails
        the task once the running ones ended.
    :param publish_to: the folder each finished video is published to as ``<item id>.mp4``, or None.
    :param destination_conn_id: the storage's connection.
    :param resubmit_unconfirmed: submit again an item whose create got no answer.
    :param retry_failed: a new try submits the failed items again.
    :param task: ``(dag_id, task_id, run_id, map_index)``, which the batches' keys derive from.
    """

    kind: CampaignKind
    max_in_flight: int
    max_failed: int
    publish_to: ObjectStoragePath | None
    destination_conn_id: str | None
    resubmit_unconfirmed: bool
    retry_failed: bool
    task: tuple[str, str, str, int]


class CampaignRunner:
    """
    A campaign's items and ledger, and what one step does with them.

    :param hook: the sync hook.
    :param ledger: the items' records.
    :param items: the checked items.
    :param settings: how the campaign runs.
    :param log: the task's logger.
    :param costs: the items' estimates and the rates.
    """

    def __init__(
        self,
        hook: HeyGenHook,
        ledger: CampaignLedger,
        items: Sequence[Item],
        settings: CampaignSettings,
        log: Any,
        costs: CampaignCosts,
    ) -> None:
        self.costs = costs
        # Why submitting stopped for good in this try (HeyGen refused for lack of money), if it did.
        self.stopped: str | None = None
        self.hook = hook
        self.ledger = ledger
        self.items = items
        self.by_id = {item.item_id: item for item in items}
        self.item_ids = [item.item_id for item in items]
        # Seconds from submit to seen ending of the jobs taken in by this process (pacing learns them).
        self.render_seen: list[float] = []
        self.settings = settings
        self.log = log
        self._download_settings: DownloadSettings | None = None

    # -- a new try -------------------------------------------------------------------------------

    def recover(self) -> None:
        """
        At a try's start: an earlier try's unanswered creates are resent with their key (v3 batches
        under 23 h) or put in doubt; with the switches, in-doubt and failed items become pending.
        """
        for number, marker in list(self.ledger.batches.items()):
            if marker.batch_id is not None:
                continue  # answered: its items are watched
            if time.time() - marker.sent_at < KEY_TRUSTED_SECONDS:
                self.log.info("Resending HeyGen batch %d with its Idempotency-Key %s", number, marker.key)
                self._send_batch(number, marker)
            else:
                self._end_unconfirmed(marker.items, STALE_KEY)
                self.ledger.batch_done(number)
        self._end_unconfirmed(self.ledger.with_status(ItemStatus.SUBMITTING), LOST_REPLY)
        again = [ItemStatus.FAILED] if self.settings.retry_failed else []
        again += [ItemStatus.IN_DOUBT] if self.settings.resubmit_unconfirmed else []
        for item_id in self.ledger.with_status(*again):
            self.ledger.forget(item_id)
        self.ledger.flush()

    def _end_unconfirmed(self, item_ids: Sequence[str], why: str) -> None:
        for item_id in item_ids:
            record = self.ledger.get(item_id)
            if record is None or record.status is not ItemStatus.SUBMITTING:
                continue
            if self.settings.resubmit_unconfirmed:
                self.ledger.forget(item_id)
            else:
                self.ledger.set(item_id, record.ended_as(ItemStatus.IN_DOUBT, failure=why))

    # -- jobs that ended -------------------------------------------------------------------------

    def take_ended(self, ended: Sequence[Mapping[str, Any]], *, flush: bool = True) -> None:
        """
        Note the jobs a trigger event reports as ended (completed ones get their video URL).

        :param ended: the event's ``ended`` entries.
        :param flush: write the ledger now; a caller that writes it next may leave it (an ended job
            not yet noted is read again by a later try, never paid again).
        """
        by_key = self._running_by_key()
        row = self.settings.kind.row
        for entry in ended:
            item_id = by_key.get(str(entry.get("key")))
            record = self.ledger.get(item_id) if item_id else None
            if item_id is None or record is None:
                continue  # already taken in (a resume after a lost acknowledgement)
            job_id = str(entry.get("job_id") or record.job_id or "")
            status = str(entry.get("status"))
            if isinstance(entry.get("seen_at"), int | float) and record.submitted_at:
                self.render_seen.append(float(entry["seen_at"]) - record.submitted_at)
            if status == JobStatus.COMPLETED.value:
                url, duration = entry.get("video_url"), None
                if not url:  # a bulk entry: the job's own read has the URL and the duration
                    job = self.hook.get_job(row, job_id)
                    url, duration = job.video_url, job.output.get("duration")
                body = self.by_id[item_id].body
                cost, _ = finished_cost(row.name, body, self.costs.spend.rates, duration, url)
                done = record.ended_as(ItemStatus.COMPLETED, job_id=job_id, video_url=url, cost_usd=cost)
                self.ledger.set(item_id, done)
            else:
                failure = entry.get("failure") or (
                    "HeyGen does not know the job"
                    if status == JobStatus.NOT_FOUND.value
                    else "no reason given"
                )
                self.ledger.set(
                    item_id,
                    record.ended_as(
                        ItemStatus.FAILED,
                        job_id=job_id,
                        failure=failure,
                        failure_code=entry.get("failure_code"),
                    ),
                )
                self.log.warning("Campaign item %s: HeyGen job %s %s: %s", item_id, job_id, status, failure)
        for number, marker in list(self.ledger.batches.items()):
            records = [self.ledger.get(item_id) for item_id in marker.items]
            if marker.batch_id is not None and all(
                r is None or r.status.ended or r.status is ItemStatus.COMPLETED for r in records
            ):
                self.ledger.batch_done(number)
        if flush:
            self.ledger.flush()

    def _running_by_key(self) -> dict[str, str]:
        """The watched key of every running item."""
        keys: dict[str, str] = {}
        for item_id in self.ledger.with_status(ItemStatus.RUNNING):
            key = self._watch_key(item_id)
            if key is not None:
                keys[key] = item_id
        return keys

    def _watch_key(self, item_id: str) -> str | None:
        record = self.ledger.get(item_id)
        if record is None:
            return None
        if record.batch is None:
            return record.job_id
        marker = self.ledger.batches.get(record.batch)
        if marker is None or marker.batch_id is None:
            return None
        return batch_key(marker.batch_id, marker.items.index(item_id))

    def running_since(self) -> dict[str, float]:
        """Every running item's watched key and its submit time."""
        since: dict[str, float] = {}
        for key, item_id in self._running_by_key().items():
            record = self.ledger.get(item_id)
            if record is not None and record.submitted_at:
                since[key] = record.submitted_at
        return since

    def watch(self) -> list[str]:
        """What the trigger watches: every running item's key."""
        return list(self._running_by_key())

    # -- publishing ------------------------------------------------------------------------------

    def publish_completed(self) -> list[dict[str, Any]]:
        """
        Publish every completed video not yet published; returns the published results. The ledger is
        not written here: the publications ride on its next write (a create's marker, the window's, the
        step's end), which the caller makes.
        """
        completed = self.ledger.with_status(ItemStatus.COMPLETED)
        if not completed:
            return []
        published: list[dict[str, Any]] = []
        if self.settings.publish_to is None:
            for item_id in completed:
                record = self.ledger.get(item_id)
                assert record is not None
                self.ledger.set(item_id, record.ended_as(ItemStatus.DONE))
            return published
        from airflow_heygen.publishing import (
            DownloadSettings,
            PublishRequest,
            VideoDownloader,
            VideoPublisher,
        )

        # The publications are noted by the ledger's next write, of the head, which names ended items until
        # the step's end writes their chunk. A try dying before that write publishes those videos again
        # over their own landings, which costs a copy, not a payment, while writing the chunk at every pass
        # would rewrite up to 60,000 bytes for each video or two.
        if self._download_settings is None:  # one read of the connection per process, not per pass
            self._download_settings = DownloadSettings.for_connection(self.hook.heygen_conn_id)
        with VideoDownloader(self._download_settings) as downloader:
            publisher = VideoPublisher(downloader)
            for item_id in completed:
                record = self.ledger.get(item_id)
                assert record is not None
                request = PublishRequest.checked(
                    video_url=record.video_url,
                    destination=self.settings.publish_to / f"{item_id}.mp4",
                    destination_conn_id=self.settings.destination_conn_id,
                    # Nothing stood there when the campaign began (checked): anything there now is
                    # this item's own earlier landing, from a try that died before noting it.
                    overwrite=True,
                )
                result = publisher.publish(request).to_dict()
                self.ledger.set(item_id, record.ended_as(ItemStatus.DONE, published_to=result["uri"]))
                published.append({**result, "item_id": item_id})
        return published

    # -- submitting ------------------------------------------------------------------------------

    @property
    def failed_count(self) -> int:
        """Items failed or in doubt."""
        return self.ledger.count(ItemStatus.FAILED, ItemStatus.IN_DOUBT)

    @property
    def over_budget(self) -> bool:
        """Whether more items failed than the campaign tolerates."""
        return self.failed_count > self.settings.max_failed

    def creates_to_come(self) -> bool:
        """Whether more items will be submitted (each create's marker then writes the ledger's head)."""
        return not self.over_budget and self.stopped is None and bool(self.pending(1))

    def in_flight(self) -> int:
        """Items submitted and not ended."""
        return self.ledger.count(ItemStatus.SUBMITTING, ItemStatus.RUNNING)

    def pending(self, limit: int | None = None) -> list[Item]:
        """
        Items never submitted (or to submit again), in order, from the ledger's cursor (every item
        before it has a record), so a step looks at the items it may submit, not at all of them.

        :param limit: how many at most (None: all).
        """
        self.ledger.advance_cursor(self.item_ids)
        found: list[Item] = []
        for item in self.items[self.ledger.cursor :]:
            if limit is not None and len(found) >= limit:
                break
            if self.ledger.get(item.item_id) is None:
                found.append(item)
        return found

    def submit(self) -> None:
        """Submit pending items while there is room and the failures are within budget."""
        if self.over_budget or self.stopped:
            return
        room = max(0, self.settings.max_in_flight - self.in_flight())
        if room == 0:
            return
        # v3: a batch's worth more, so a short batch is sent only when it holds the last items.
        pending = self.pending(room + MAX_BATCH_ITEMS if self.settings.kind.batched else room)
        try:
            if self.settings.kind.batched:
                self._submit_batches(pending)
            else:
                self._submit_singly(pending)
        finally:
            self.ledger.flush(head_only=True)  # the last create's id, also when a create raised

    def _submit_singly(self, pending: Sequence[Item]) -> None:
        row = self.settings.kind.row
        for item in pending[: max(0, self.settings.max_in_flight - self.in_flight())]:
            self.ledger.set(item.item_id, ItemRecord(ItemStatus.SUBMITTING, submitted_at=time.time()))
            # The marker is stored before the POST, in the same write as the id of the item before it
            # (HeyGen's answer, then this write, as with a write of its own: the same window of doubt).
            self.ledger.flush(head_only=True)
            try:
                (job_id,) = self.hook.create_job(row, item.body, None)
            except HeyGenUnavailableError as err:
                # Every attempt was refused (429 past the plan's concurrency) or never connected:
                # nothing was made. Later steps try again.
                self.log.warning("HeyGen is not taking new jobs now (%s); submitting later", err)
                self.ledger.forget(item.item_id)
                return
            except HeyGenNoAnswerError as err:
                self.log.warning("Campaign item %s: %s", item.item_id, err)
                self._end_unconfirmed([item.item_id], LOST_REPLY)
                continue
            except HeyGenSpendLimitError as err:
                self._stop(item.item_id, err)
                return
            except (HeyGenRequestError, HeyGenInputError) as err:
                if isinstance(err, HeyGenAuthError):
                    self.ledger.forget(item.item_id)
                    raise  # no item can be created with this key: stop the campaign
                record = ItemRecord(ItemStatus.FAILED, submitted_at=time.time())
                self.ledger.set(item.item_id, record.ended_as(ItemStatus.FAILED, failure=str(err)))
                continue
            record = ItemRecord(ItemStatus.RUNNING, job_id=job_id, submitted_at=time.time())
            # Stored by the next item's marker write, or by submit()'s write after the last create.
            self.ledger.set(item.item_id, record)

    def _submit_batches(self, pending: Sequence[Item]) -> None:
        queue = list(pending)
        while queue:
            room = self.settings.max_in_flight - self.in_flight()
            size = min(MAX_BATCH_ITEMS, len(queue))
            if room < size:
                return  # a batch waits until it can go full (or holds the last items)
            batch, queue = queue[:size], queue[size:]
            ids = [item.item_id for item in batch]
            dag_id, task_id, run_id, map_index = self.settings.task
            key = idempotency_key(
                dag_id=dag_id,
                task_id=task_id,
                run_id=run_id,
                map_index=map_index,
                request_fingerprint=fingerprint([self.ledger.fingerprint, ids]),
                nonce=self.ledger.nonce,
            )
            marker = BatchMarker(key, time.time(), ids)
            number = self.ledger.mark_batch(marker)
            for item_id in ids:
                self.ledger.set(
                    item_id, ItemRecord(ItemStatus.SUBMITTING, batch=number, submitted_at=marker.sent_at)
                )
            self.ledger.flush(head_only=True)  # the marker and its key are stored before the POST
            try:
                self._send_batch(number, marker)
            except HeyGenSpendLimitError as err:
                self._stop(None, err)
                return

    def _stop(self, item_id: str | None, err: Exception) -> None:
        """HeyGen refused for lack of money: the item goes back to pending, nothing more is submitted."""
        if item_id is not None:
            self.ledger.forget(item_id)
        self.stopped = str(err)
        self.log.error("Campaign stops submitting: %s", err)

    def _send_batch(self, number: int, marker: BatchMarker) -> None:
        """Send (or resend, with its key) a marked batch; its items run once HeyGen answers."""
        row = self.settings.kind.row
        bodies = [self.by_id[item_id].body for item_id in marker.items]
        try:
            batch_id = self.hook.create_batch(row, bodies, marker.key)
        except (HeyGenRequestError, HeyGenInputError, HeyGenSpendLimitError):
            # Refused: HeyGen made nothing and released the key.
            for item_id in marker.items:
                self.ledger.forget(item_id)
            self.ledger.batch_done(number)
            raise
        self.ledger.batch_started(number, batch_id)
        for item_id in marker.items:
            record = self.ledger.get(item_id)
            if record is not None and record.status is ItemStatus.SUBMITTING:
                self.ledger.set(
                    item_id, ItemRecord(ItemStatus.RUNNING, batch=number, submitted_at=record.submitted_at)
                )
        self.ledger.flush()

    # -- the end ---------------------------------------------------------------------------------

    def ended(self) -> bool:
        """Whether nothing runs and nothing more will be submitted."""
        if self.in_flight() or self.ledger.count(ItemStatus.COMPLETED):
            return False
        return self.over_budget or self.stopped is not None or not self.pending(1)

    def skip_pending(self) -> None:
        """Mark the items never submitted as skipped (the campaign stopped: too many failures)."""
        for item in self.pending():
            self.ledger.set(item.item_id, ItemRecord(ItemStatus.SKIPPED).ended_as(ItemStatus.SKIPPED))
        self.ledger.flush()

    def summary(self, manifest: str | None) -> dict[str, Any]:
        """The task's result: counts by status and the manifest's URI."""
        counts = self.ledger.counts(self.by_id)
        costs = [r.cost_usd for r in (self.ledger.get(i) for i in self.by_id) if r and r.cost_usd is not None]
        return {
            "total": len(self.items),
            "completed": counts.get("completed", 0),
            "failed": counts.get("failed", 0),
            "in_doubt": counts.get("in_doubt", 0),
            "skipped": counts.get("skipped", 0),
            "manifest": manifest,
            "estimated_cost_usd": self.costs.total,
            "cost_usd": round(sum(costs), 4) if costs else None,
            "rate": self.costs.rate(self.items[0].item_id) if self.items else None,
        }
