"""
The campaign operator: one task, thousands of personalized HeyGen videos, each paid once and
published as it finishes. Design: ``docs/campaigns.md``.

Importing this module stays cheap for DAG parsing: the campaign machinery, the hooks and the trigger
are imported when the task runs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import AssetAlias
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_heygen.campaigns.items import CampaignKind
from airflow_heygen.campaigns.pacing import PacingPolicy
from airflow_heygen.exceptions import HeyGenInputError, HeyGenSpendLimitError, HeyGenUnavailableError
from airflow_heygen.lineage.report import LineageMixin
from airflow_heygen.operators._common import HeyGenOperator
from airflow_heygen.operators.publish import HeyGenPublishVideoOperator
from airflow_heygen.task_base import DEFER_TIMEOUT_BUFFER, HeyGenTaskMixin
from airflow_heygen.validation import optional_amount, require_positive_number

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_heygen.campaigns.runner import CampaignRunner
    from airflow_heygen.lineage.report import LineageReport

# Jobs in flight by default: the workflows API renders 10 at once on pay-as-you-go plans (past it,
# 429); v3 batches queue at HeyGen, so two full batches keep the plan busy while the next is made.
DEFAULT_IN_FLIGHT_WORKFLOWS = 10
DEFAULT_IN_FLIGHT_BATCHED = 200
DEFAULT_TIMEOUT = 24 * 3600.0
# The XCom where a campaign says, at every step, where its manifest is and what bounds it (the HeyGen
# view reads it while the campaign runs; the result names the manifest only at the end).
CAMPAIGN_XCOM = "heygen_campaign"


class HeyGenCampaignOperator(LineageMixin, HeyGenTaskMixin, HeyGenOperator):
    """
    Make one HeyGen video per item (a face swap, an avatar video, a lip-sync, a translation), each
    paid exactly once across retries and worker or triggerer deaths, publish each as it finishes,
    and write a manifest as the campaign goes.

    Every item is checked before anything is paid (ids present, unique and file names where videos
    are published; request filled and valid); all problems are reported together by row and field.
    v3 kinds are created in batches of up to 100 under one ``Idempotency-Key`` per batch (derived
    from the task instance and the batch's items); workflows kinds one execution per item, never
    more than ``max_in_flight`` at HeyGen, each item's in-flight marker stored in
    ``task_state_store`` before its POST. A 429 slows submission down; it never fails an item.
    While jobs run the task waits deferred: one trigger watches all of them and wakes the task to
    publish what finished and submit what may start.

    The manifest (JSONL, one row per item: ``item_id``, ``status``, ``job_id``, ``video_url``,
    ``published_to``, ``failure``, ``submitted_at``, ``finished_at``) is rewritten at every step and
    complete at the end. The result is a summary, never the items: ``{"total", "completed",
    "failed", "in_doubt", "skipped", "manifest"}``. Each published video is announced as an Asset
    through the task's aliases, as ``HeyGenPublishVideoOperator`` does.

    A task retry resumes the campaign: finished items are not published again, running ones are
    watched again, none is submitted twice. An item whose create got no answer is ``in_doubt``
    (not resubmitted unless ``resubmit_unconfirmed``); a failed item is listed with HeyGen's reason
    and submitted again by a retry only with ``retry_failed``. Both count against ``max_failed``;
    past it no new item is submitted, the rest are ``skipped`` and the task fails naming the
    failed items once the running ones ended.

    :param kind: ``faceswap``, ``avatar_inference`` (workflows API), ``video``, ``lipsync`` or
        ``video_translation`` (v3; a translation item has exactly one output language).
    :param items: a ``.csv`` or ``.jsonl`` file at an object-storage path, or a list of dicts (or an
        XComArg giving either) (templated).
    :param item_id: the column naming each item (default ``id``).
    :param request: the create body (for workflows kinds, the workflow's ``input``) whose strings
        are filled per item from its columns: ``"{face_url}"`` (templated).
    :param publish_to: folder (object-storage path) receiving each finished video as
        ``<item_id>.mp4``; None keeps HeyGen's URLs only (templated).
    :param manifest: object-storage path of the JSONL manifest; None writes none (templated).
    :param max_in_flight: jobs submitted and not ended at once; by default 10 for workflows kinds
        (the plan's concurrency) and 200 for v3 kinds (their batches queue at HeyGen).
    :param max_failed: failed and in-doubt items tolerated: a share of the items (float) or a count
        (int).
    :param heygen_conn_id: id of the HeyGen connection (templated).
    :param destination_conn_id: the storage's connection for ``publish_to`` (templated).
    :param overwrite: replace videos already in ``publish_to``; without it, one there fails the task
        before anything is paid.
    :param poll_interval: seconds between status reads.
    :param timeout: seconds one try may wait for the campaign (a retry resumes it).
    :param resubmit_unconfirmed: submit again the items whose create got no answer.
    :param retry_failed: a task retry submits the failed items again.
    :param max_cost_usd: refuse the whole campaign, before any create, when its estimate (the sum of its
        items') exceeds this (US dollars); None: no cap.
    :param expected_seconds: each item's expected output seconds, for the estimate.
    """

    # Workflows kinds: the share of max_in_flight whose ending wakes the task, and how many intervals
    # the first ended job may wait for others before it does.
    resume_share: float = 0.5
    hold_intervals: float = 1.0
    # Workflows kinds: how a resume works a window ahead of expected ends (campaigns.pacing).
    pacing: PacingPolicy = PacingPolicy()
    # Seconds between two manifest writes while the campaign runs (it is always written at the end).
    manifest_interval: float = 30.0

    template_fields: Sequence[str] = (
        "items",
        "request",
        "publish_to",
        "manifest",
        "heygen_conn_id",
        "destination_conn_id",
    )

    def __init__(
        self,
        *,
        kind: str,
        items: Any,
        request: Mapping[str, Any],
        item_id: str = "id",
        publish_to: Any = None,
        manifest: Any = None,
        max_in_flight: int | None = None,
        max_failed: float | int = 0.01,
        destination_conn_id: str | None = None,
        overwrite: bool = False,
        poll_interval: float = 10.0,
        timeout: float = DEFAULT_TIMEOUT,
        resubmit_unconfirmed: bool = False,
        retry_failed: bool = False,
        max_cost_usd: float | None = None,
        expected_seconds: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        try:
            default = (
                DEFAULT_IN_FLIGHT_BATCHED if CampaignKind.named(kind).batched else DEFAULT_IN_FLIGHT_WORKFLOWS
            )
            in_flight = default if max_in_flight is None else max_in_flight
            if isinstance(in_flight, bool) or not isinstance(in_flight, int) or in_flight < 1:
                raise HeyGenInputError("max_in_flight", f"must be a positive integer, got {max_in_flight!r}")
            if isinstance(max_failed, bool) or not isinstance(max_failed, (int, float)) or max_failed < 0:
                raise HeyGenInputError(
                    "max_failed", f"must be a share (float) or a count (int), got {max_failed!r}"
                )
            if isinstance(max_failed, float) and max_failed > 1:
                raise HeyGenInputError("max_failed", f"a share is at most 1.0, got {max_failed!r}")
            self.max_cost_usd = optional_amount("max_cost_usd", max_cost_usd)
            self.expected_seconds = optional_amount("expected_seconds", expected_seconds)
            poll_interval = require_positive_number("poll_interval", poll_interval)
            timeout = require_positive_number("timeout", timeout)
        except HeyGenInputError as err:
            raise err.for_task(self.task_id) from None
        self.kind = kind
        self.items = items
        self.item_id = item_id
        self.request = request
        self.publish_to = publish_to
        self.manifest = manifest
        self.max_in_flight = in_flight
        self.max_failed = max_failed
        self.destination_conn_id = destination_conn_id
        self.overwrite = overwrite
        self.poll_interval = float(poll_interval)
        self.timeout = float(timeout)
        self.deferrable = True
        self.resubmit_unconfirmed = resubmit_unconfirmed
        self.retry_failed = retry_failed
        if publish_to is not None and not any(isinstance(o, AssetAlias) for o in self.outlets):
            self.outlets = [*self.outlets, AssetAlias(HeyGenPublishVideoOperator.DEFAULT_ASSET_ALIAS)]

    def execute(self, context: Context) -> dict[str, Any]:
        """Check every item, then start (or, in a retry, resume) the campaign."""
        runner = self._runner(context, starting=True)
        return self._step(context, runner, time.time() + self.timeout)

    def resume(
        self, context: Context, event: dict[str, Any], deadline: float | None = None
    ) -> dict[str, Any]:
        """
        After the trigger's event: take in the jobs that ended, then go on.

        :param context: the task's context.
        :param event: the :class:`~airflow_heygen.triggers.campaign.HeyGenCampaignTrigger` event.
        :param deadline: the Unix time this try's waiting ends.
        """
        # How long the trigger's event took to resume the task (scheduler, worker, task start).
        fired_at = event.get("fired_at")
        latency = time.time() - float(fired_at) if isinstance(fired_at, int | float) else None
        runner = self._runner(context, starting=False)
        runner.take_ended(event.get("ended") or [])
        status = event.get("status")
        if status == "timeout":
            self._write_manifest(runner)
            raise AirflowException(
                f"The campaign was still running after {self.timeout:.0f}s: {event.get('message')}. "
                "Its jobs keep running at HeyGen; a retry (or clearing the task) resumes it without "
                "submitting any item again"
            )
        if status == "error":
            self._write_manifest(runner)
            raise HeyGenUnavailableError(f"{event.get('message')}; a retry resumes the campaign")
        return self._step(context, runner, deadline or time.time() + self.timeout, latency)

    def _runner(self, context: Context, *, starting: bool) -> CampaignRunner:
        from airflow_heygen.campaigns.costs import CampaignCosts
        from airflow_heygen.campaigns.items import (
            CampaignKind,
            checked_items,
            filled_items,
            items_fingerprint,
            read_rows,
            rows_fingerprint,
            same_bodies,
        )
        from airflow_heygen.campaigns.ledger import HEAD_KEY, CampaignLedger
        from airflow_heygen.campaigns.runner import CampaignRunner, CampaignSettings
        from airflow_heygen.state import fingerprint

        kind = CampaignKind.named(self.kind)
        rows = read_rows(self.items)
        # Items are checked once per try: a resume of a try that checked the same rows fills them only.
        checked_as = rows_fingerprint(kind, rows, self.item_id, [self.request, self.publish_to is not None])
        store = context.get("task_state_store")
        head: Any = store.get(HEAD_KEY) if store is not None and not starting else None
        meta = head.get("meta") if isinstance(head, dict) else None
        if isinstance(meta, dict) and meta.get("checked") == checked_as:
            items, checked_now = filled_items(kind, rows, self.item_id, self.request), False
        else:
            items = checked_items(
                kind, rows, self.item_id, self.request, file_safe_ids=self.publish_to is not None
            )
            checked_now = same_bodies(items, filled_items(kind, rows, self.item_id, self.request))
        publish_to = self._folder("publish_to", self.publish_to)
        campaign = fingerprint(
            {"kind": self.kind, "items": items_fingerprint(items), "publish_to": str(self.publish_to or "")}
        )
        if store is None:
            raise HeyGenInputError(
                "task_state_store", "a campaign needs Airflow 3.3's task_state_store to pay each item once"
            )
        ledger = CampaignLedger(store, campaign, {item.item_id: item.position for item in items})
        if checked_now:
            ledger.note(checked=checked_as)
        ti = context["ti"]
        map_index = getattr(ti, "map_index", -1)
        max_failed = (
            int(self.max_failed * len(items)) if isinstance(self.max_failed, float) else int(self.max_failed)
        )
        settings = CampaignSettings(
            kind=kind,
            max_in_flight=self.max_in_flight,
            max_failed=max_failed,
            publish_to=publish_to,
            destination_conn_id=self.destination_conn_id,
            resubmit_unconfirmed=self.resubmit_unconfirmed,
            retry_failed=self.retry_failed,
            task=(
                str(ti.dag_id),
                str(ti.task_id),
                str(ti.run_id),
                map_index if isinstance(map_index, int) else -1,
            ),
        )
        costs = CampaignCosts.for_step(
            kind,
            items,
            self.hook.settings.spend,
            store,
            first=starting and not ledger.resumed,
            max_cost_usd=self.max_cost_usd,
            expected_seconds=self.expected_seconds,
            account=self.hook.get_account,
            log=self.log,
        )
        runner = CampaignRunner(self.hook, ledger, items, settings, self.log, costs)
        if starting:
            if not ledger.resumed:
                self._check_nothing_published(runner)
                self.log.info("Starting a HeyGen campaign of %d %s items", len(items), self.kind)
            else:
                self.log.info("Resuming the HeyGen campaign of %d items from an earlier try", len(items))
            runner.recover()
        return runner

    def _folder(self, field: str, value: Any) -> Any:
        if value is None or value == "":
            return None
        from airflow_heygen.publishing.destination import resolve_destination

        if field == "publish_to" and isinstance(value, str):
            value = value.rstrip("/")  # a folder is often written with its trailing slash
        try:
            return resolve_destination(value, self.destination_conn_id)
        except HeyGenInputError as err:
            raise HeyGenInputError(field, err.problem) from None

    def _check_nothing_published(self, runner: CampaignRunner) -> None:
        """Before paying: no item's video may already stand in ``publish_to`` (unless ``overwrite``)."""
        folder = runner.settings.publish_to
        if folder is None or self.overwrite or not folder.exists():
            return
        names = {path.name for path in folder.iterdir()}
        clashes = [item.item_id for item in runner.items if f"{item.item_id}.mp4" in names]
        if clashes:
            shown = ", ".join(clashes[:10]) + (f" and {len(clashes) - 10} more" if len(clashes) > 10 else "")
            raise HeyGenInputError(
                "publish_to",
                f"{len(clashes)} video(s) already there ({shown}); set overwrite=True to replace",
            )

    def _step(
        self, context: Context, runner: CampaignRunner, deadline: float, latency: float | None = None
    ) -> dict[str, Any]:
        from airflow_heygen.campaigns.window import Pace, work_window

        pace = Pace.of(runner, self.pacing)
        pace.learn(runner, latency)

        def refill_and_publish() -> list[dict[str, Any]]:
            # Refill the slots first: the finished videos are copied while the new jobs render, rather
            # than holding the plan's freed slots idle for the copies. The publications ride on the
            # ledger's next write (the window's, the next create's marker, the step's end).
            runner.submit()
            done = runner.publish_completed()
            self._write_manifest(runner, final=False)
            return done

        try:
            published = refill_and_publish()
            if not runner.settings.kind.batched:
                window_end = min(deadline, time.time() + self.pacing.window)
                poll = min(self.pacing.poll, self.poll_interval)
                published += work_window(runner, pace, window_end, poll, refill_and_publish, self.log)
            pace.learn(runner)
            runner.ledger.flush()
        finally:
            self.close_hook()
        self._push_progress(context, runner)
        watch = runner.watch()
        going_on = bool(watch) or not runner.ended()
        self._write_manifest(runner, final=not going_on)
        if going_on:
            wake = pace.wake_at(runner) if not runner.settings.kind.batched else None
            self._defer(runner, watch, deadline, published, wake)
        return self._finish(context, runner)

    def _defer(
        self,
        runner: CampaignRunner,
        watch: list[str],
        deadline: float,
        published: list[Any],
        wake_at: float | None = None,
    ) -> None:
        from airflow_heygen.triggers.campaign import HeyGenCampaignTrigger

        batched = runner.settings.kind.batched
        # Wake the task when a batch's worth of room is free (v3) or a share of the slots is
        # (workflows), or when an ended job has waited a few intervals, so videos are published promptly.
        # Every wake is a task start (the most of a campaign's Airflow CPU): fewer, fuller wakes cost less.
        resume_after = (
            min(100, len(watch)) if batched else max(1, int(self.max_in_flight * self.resume_share))
        )
        hold = self.poll_interval * (5 if batched else self.hold_intervals)
        self.defer(
            trigger=HeyGenCampaignTrigger(
                kind=runner.settings.kind.row.name,
                watch=watch,
                heygen_conn_id=self.heygen_conn_id,
                poll_interval=self.poll_interval,
                deadline=deadline,
                resume_after=resume_after,
                hold=hold,
                wake_at=wake_at,
            ),
            method_name="resume",
            kwargs={"deadline": deadline},
            timeout=timedelta(
                seconds=max(0.0, deadline - time.time()) + self.poll_interval + DEFER_TIMEOUT_BUFFER
            ),
        )

    def _manifest_uri(self) -> str | None:
        path = self._folder("manifest", self.manifest)
        if path is None:
            return None
        from airflow_heygen.publishing.destination import published_uri

        return published_uri(path)

    def _push_progress(self, context: Context, runner: CampaignRunner) -> None:
        """
        XCom :data:`CAMPAIGN_XCOM`: ``{"kind", "total", "manifest", "destination_conn_id",
        "max_cost_usd", "estimated_cost_usd"}``, where the manifest lives and the campaign's bounds.
        """
        context["ti"].xcom_push(
            key=CAMPAIGN_XCOM,
            value={
                "kind": self.kind,
                "total": len(runner.items),
                "manifest": self._manifest_uri(),
                "destination_conn_id": self.destination_conn_id,
                "max_cost_usd": self.max_cost_usd,
                "estimated_cost_usd": runner.costs.total,
            },
        )

    def _write_manifest(self, runner: CampaignRunner, *, final: bool = True) -> None:
        """
        Rewrite the manifest: always at the end, else at most once per :attr:`manifest_interval`
        (each write is every item's row: writing it at every resume would cost items x resumes).

        :param runner: the campaign.
        :param final: whether the campaign ends (or fails) now.
        """
        path = self._folder("manifest", self.manifest)
        if path is None:
            return
        written = float(runner.ledger.meta.get("manifest_at") or 0.0)
        if not final and time.time() - written < self.manifest_interval:
            return
        from airflow_heygen.campaigns.manifest import manifest_rows, write_manifest

        write_manifest(path, manifest_rows(runner.items, runner.ledger, runner.costs))
        runner.ledger.note(manifest_at=time.time())
        runner.ledger.flush()

    def _finish(self, context: Context, runner: CampaignRunner) -> dict[str, Any]:
        if runner.stopped is not None:
            runner.skip_pending()
            self._write_manifest(runner)
            raise HeyGenSpendLimitError(
                f"The campaign stopped submitting: {runner.stopped}. Every item's state is in the manifest; "
                "the items never submitted are 'skipped'"
            )
        if runner.over_budget:
            runner.skip_pending()
            self._write_manifest(runner)
            from airflow_heygen.campaigns.manifest import failed_items

            failed = failed_items(runner.ledger)
            shown = "; ".join(failed[:20]) + (f"; and {len(failed) - 20} more" if len(failed) > 20 else "")
            error = AirflowException if self.retry_failed else AirflowFailException
            raise error(
                f"{len(failed)} campaign item(s) failed or are in doubt, more than max_failed "
                f"({runner.settings.max_failed}); the manifest lists every item: {shown}"
            )
        summary = runner.summary(self._manifest_uri())
        self._announce(context, runner)
        runner.ledger.clear()
        runner.costs.forget(context["task_state_store"])
        self.heygen_result = summary
        spent = summary["cost_usd"]
        self.log.info(
            "HeyGen campaign ended: %s; spent %s", summary, "unknown" if spent is None else f"${spent:,.2f}"
        )
        return summary

    def _announce(self, context: Context, runner: CampaignRunner) -> None:
        """An Asset event for every published video, through the task's aliases."""
        from airflow.sdk import Asset, AssetAlias

        from airflow_heygen.campaigns.ledger import ItemStatus

        aliases = [outlet for outlet in self.outlets if isinstance(outlet, AssetAlias)]
        if not aliases:
            return
        events = context["outlet_events"]
        for item_id in runner.ledger.with_status(ItemStatus.DONE):
            record = runner.ledger.get(item_id)
            if record is None or record.published_to is None:
                continue
            extra: dict[str, Any] = {"uri": record.published_to, "item_id": item_id, "job_id": record.job_id}
            for alias in aliases:
                events[alias].add(Asset(uri=record.published_to), extra=extra)

    def lineage_report(self, task_instance: Any, *, failed: bool) -> LineageReport:
        """
        The items file in; the manifest and the published folder out (never one dataset per item: a
        campaign has thousands), both also on a failure, which writes the manifest and keeps what was
        published; the counts and costs as ``heygenJob``.

        :param task_instance: the listener's task instance.
        :param failed: whether the task failed.
        """
        from airflow_heygen.lineage.campaign import campaign_report

        return campaign_report(self, self.result_for_lineage(task_instance))
