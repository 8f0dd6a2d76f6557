"""Counters served by ``GET /_admin/stats``."""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from typing import Any

# Kinds of created jobs: v1 workflow executions, v3 renders, and uploaded assets.
JOB_KINDS = ("workflow_execution", "video", "lipsync", "video_translation", "asset")
# Kinds of v3 create endpoints (idempotency is scoped per endpoint).
CREATE_KINDS = (
    "video",
    "video_batch",
    "lipsync",
    "lipsync_batch",
    "video_translation",
    "video_translation_batch",
    "asset",
)
BULK_KINDS = ("video", "lipsync", "video_translation", "asset")
FAULT_KINDS = (
    "rate_limited",
    "server_error",
    "failed_job",
    "insufficient_credit",
    "lost_reply",
    "slow_create",
    "workflows_retired",
    "concurrency_limited",
)
_KEPT_BULK_SIZES = 1000


class StatsRecorder:
    """Counts requests, created jobs, idempotent replays and conflicts, bulk reads and faults."""

    def __init__(self) -> None:
        self._requests: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._submissions: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._created: Counter[str] = Counter()
        self._batches: Counter[str] = Counter()
        self._replays: Counter[str] = Counter()
        self._in_progress: Counter[str] = Counter()
        self._bulk_requests: Counter[str] = Counter()
        self._bulk_ids: Counter[str] = Counter()
        self._bulk_sizes: defaultdict[str, deque[int]] = defaultdict(lambda: deque(maxlen=_KEPT_BULK_SIZES))

    def record_request(self, endpoint: str, status: int | str) -> None:
        """
        Count one answered request.

        :param endpoint: method and route pattern, e.g. ``GET /v1/workflows/executions/{execution_id}``.
        :param status: HTTP status code, or ``lost`` for a reply that was never sent.
        """
        self._requests[endpoint][str(status)] += 1

    def record_submission(self, workflow_type: str) -> None:
        """
        Count one accepted v1 submission (also a created ``workflow_execution`` job).

        :param workflow_type: its workflow type.
        """
        self._submissions[workflow_type] += 1
        self._created["workflow_execution"] += 1

    def record_created(self, kind: str, count: int = 1) -> None:
        """
        Count created v3 jobs or assets.

        :param kind: ``video``, ``lipsync``, ``video_translation`` or ``asset``.
        :param count: how many.
        """
        self._created[kind] += count

    def record_batch(self, kind: str) -> None:
        """
        Count one created batch.

        :param kind: ``video``, ``lipsync`` or ``video_translation``.
        """
        self._batches[kind] += 1

    def record_replay(self, kind: str) -> None:
        """
        Count one create answered from its ``Idempotency-Key`` (no new job).

        :param kind: one of :data:`CREATE_KINDS`.
        """
        self._replays[kind] += 1

    def record_in_progress(self, kind: str) -> None:
        """
        Count one 409 ``request_in_progress``.

        :param kind: one of :data:`CREATE_KINDS`.
        """
        self._in_progress[kind] += 1

    def record_bulk_status(self, kind: str, ids: int) -> None:
        """
        Count one bulk statuses request.

        :param kind: one of :data:`BULK_KINDS`.
        :param ids: ids it asked for (``batch_ids`` count as ids too).
        """
        self._bulk_requests[kind] += 1
        self._bulk_ids[kind] += ids
        self._bulk_sizes[kind].append(ids)

    def record_fault(self, kind: str) -> None:
        """
        Count one injected fault.

        :param kind: one of :data:`FAULT_KINDS`.
        """
        self._faults[kind] += 1

    def reset(self) -> None:
        """Zero every counter."""
        for counter in (
            self._requests,
            self._submissions,
            self._faults,
            self._created,
            self._batches,
            self._replays,
            self._in_progress,
            self._bulk_requests,
            self._bulk_ids,
            self._bulk_sizes,
        ):
            counter.clear()

    def snapshot(
        self, executions_by_status: dict[str, int], jobs: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """
        The counters as JSON.

        :param executions_by_status: current v1 execution counts per status (state: not reset by
            :meth:`reset`).
        :param jobs: current v3 job counts per kind and status, and the asset count (state too).
        """
        return {
            "submissions": dict(self._submissions),
            "requests": {endpoint: dict(codes) for endpoint, codes in sorted(self._requests.items())},
            "faults": {kind: self._faults.get(kind, 0) for kind in FAULT_KINDS},
            "executions": executions_by_status,
            "jobs_created": {kind: self._created.get(kind, 0) for kind in JOB_KINDS},
            "batches_created": {kind: self._batches.get(kind, 0) for kind in BULK_KINDS[:3]},
            "idempotent_replays": {kind: self._replays.get(kind, 0) for kind in CREATE_KINDS},
            "request_in_progress": {kind: self._in_progress.get(kind, 0) for kind in CREATE_KINDS},
            "bulk_statuses": {
                kind: {
                    "requests": self._bulk_requests.get(kind, 0),
                    "ids": self._bulk_ids.get(kind, 0),
                    "ids_per_request": list(self._bulk_sizes.get(kind, ())),
                }
                for kind in BULK_KINDS
            },
            "jobs": jobs or {},
        }
