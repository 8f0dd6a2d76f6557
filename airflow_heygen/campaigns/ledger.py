"""
What a campaign knows of each of its items, kept in ``task_state_store`` across resumes and tries.

Two kinds of keys keep it small to write: the head (``heygen_campaign``) holds the campaign's
fingerprint, its nonce, the items still active (submitting, running, finished but not yet published)
and the batch creates in flight; it is written before every create and after. Items that ended are
moved to chunk keys (``heygen_campaign.<n>``, :data:`CHUNK_ITEMS` items by position each), written
once when they end. An item in neither is pending. A chunk is always written before the head that
stops naming its items, so an item is never lost between the two: where both name it, the chunk's
(ended) record wins.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from enum import Enum
from typing import Any

from airflow_heygen.idempotency import new_nonce

HEAD_KEY = "heygen_campaign"
# Keys hold no "/": Airflow 3.3.0 routes a key as one URL path segment (store/ti/<id>/<key>).
CHUNK_ITEMS = 500


class ItemStatus(str, Enum):
    """Where an item is; the manifest shows :attr:`shown`."""

    SUBMITTING = "submitting"  # its create may be on its way (marker written before the POST)
    RUNNING = "running"
    COMPLETED = "completed"  # the video exists, not yet published
    DONE = "done"  # completed and, where asked, published
    FAILED = "failed"
    IN_DOUBT = "in_doubt"
    SKIPPED = "skipped"  # never submitted: the campaign failed (max_failed) first

    @property
    def ended(self) -> bool:
        """Whether nothing more happens to the item in this try."""
        return self in (ItemStatus.DONE, ItemStatus.FAILED, ItemStatus.IN_DOUBT, ItemStatus.SKIPPED)

    @property
    def shown(self) -> str:
        """The manifest's status."""
        if self in (ItemStatus.DONE, ItemStatus.COMPLETED):
            return "completed"
        return "running" if self is ItemStatus.SUBMITTING else self.value


@dataclass(frozen=True)
class ItemRecord:
    """
    One item's record.

    :param status: where it is.
    :param job_id: HeyGen's id of its job, once known.
    :param batch: the number of the batch create it went in (v3 kinds).
    :param video_url: the finished video's URL.
    :param published_to: where it was published.
    :param failure: HeyGen's reason, or why it is in doubt.
    :param failure_code: HeyGen's code of the failure.
    :param submitted_at: Unix time its create was sent.
    :param finished_at: Unix time it was seen ending.
    :param cost_usd: what its video cost by the rate table, once finished (None when unknown).
    """

    status: ItemStatus
    job_id: str | None = None
    batch: int | None = None
    video_url: str | None = None
    published_to: str | None = None
    failure: str | None = None
    failure_code: str | None = None
    submitted_at: float | None = None
    finished_at: float | None = None
    cost_usd: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The stored form: only the fields that are set."""
        return {k: (v.value if isinstance(v, Enum) else v) for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ItemRecord:
        """The record stored as ``value``."""
        fields: dict[str, Any] = {key: value.get(key) for key in cls.__dataclass_fields__}
        fields["status"] = ItemStatus(value["status"])
        return cls(**fields)

    def ended_as(self, status: ItemStatus, **changes: Any) -> ItemRecord:
        """This record, ended now with ``status``."""
        return replace(self, status=status, finished_at=self.finished_at or time.time(), **changes)


@dataclass
class BatchMarker:
    """
    A batch create on its way (v3): its ``Idempotency-Key`` and items, written before the POST.

    :param key: the key it is sent with.
    :param sent_at: Unix time it was (first) sent.
    :param items: its items' ids, in the body's order (an item's index in the batch).
    :param batch_id: HeyGen's id of the batch, once it answered.
    """

    key: str
    sent_at: float
    items: list[str]
    batch_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {"key": self.key, "sent_at": self.sent_at, "items": self.items, "batch_id": self.batch_id}


class CampaignLedger:
    """
    The items' records of one campaign, loaded from and flushed to ``task_state_store``.

    :param store: the task's ``task_state_store``.
    :param campaign_fingerprint: the campaign's request and items; a record of another is not read.
    :param positions: each item's position, which names its chunk.
    """

    def __init__(self, store: Any, campaign_fingerprint: str, positions: Mapping[str, int]) -> None:
        self.store = store
        self.fingerprint = campaign_fingerprint
        self.positions = positions
        self.records: dict[str, ItemRecord] = {}
        self.batches: dict[int, BatchMarker] = {}
        self.next_batch = 0
        self.nonce = ""
        self.resumed = False
        self._dirty_chunks: set[int] = set()
        self._dirty_head = False
        self._load()

    def _load(self) -> None:
        head = self.store.get(HEAD_KEY)
        if not isinstance(head, Mapping) or head.get("fingerprint") != self.fingerprint:
            self.nonce = new_nonce()
            self._dirty_head = True
            return
        self.resumed = True
        self.nonce = str(head.get("nonce", ""))
        self.next_batch = int(head.get("next_batch", 0))
        for number, marker in (head.get("batches") or {}).items():
            self.batches[int(number)] = BatchMarker(
                marker["key"], float(marker["sent_at"]), list(marker["items"]), marker.get("batch_id")
            )
        for item_id, value in (head.get("active") or {}).items():
            self.records[item_id] = ItemRecord.from_json(value)
        for chunk in range(int(head.get("chunks", 0))):
            stored = self.store.get(f"{HEAD_KEY}.{chunk}")
            if isinstance(stored, Mapping) and stored.get("fingerprint") == self.fingerprint:
                for item_id, value in (stored.get("items") or {}).items():
                    self.records[item_id] = ItemRecord.from_json(value)  # an ended record wins

    def get(self, item_id: str) -> ItemRecord | None:
        """The item's record; None while it is pending."""
        return self.records.get(item_id)

    def set(self, item_id: str, record: ItemRecord) -> None:
        """Change an item's record (written at the next :meth:`flush`)."""
        self.records[item_id] = record
        if record.status.ended:
            self._dirty_chunks.add(self.positions[item_id] // CHUNK_ITEMS)
        self._dirty_head = True

    def forget(self, item_id: str) -> None:
        """Make an item pending again (a create that certainly made nothing, or a failed one retried)."""
        if self.records.pop(item_id, None) is not None:
            self._dirty_chunks.add(self.positions[item_id] // CHUNK_ITEMS)
            self._dirty_head = True

    def mark_batch(self, marker: BatchMarker) -> int:
        """Note a batch create about to be sent; returns its number."""
        number = self.next_batch
        self.next_batch += 1
        self.batches[number] = marker
        self._dirty_head = True
        return number

    def batch_started(self, number: int, batch_id: str) -> None:
        """Note HeyGen's id of a batch that was answered."""
        self.batches[number].batch_id = batch_id
        self._dirty_head = True

    def batch_done(self, number: int) -> None:
        """Forget a batch whose items all ended (or that certainly made nothing)."""
        if self.batches.pop(number, None) is not None:
            self._dirty_head = True

    def with_status(self, *statuses: ItemStatus) -> list[str]:
        """The ids of the items in any of ``statuses``."""
        return [item_id for item_id, record in self.records.items() if record.status in statuses]

    def flush(self) -> None:
        """Write what changed: chunks of ended items first, then the head."""
        chunks = max(1, -(-len(self.positions) // CHUNK_ITEMS))
        if self._dirty_chunks:
            by_chunk: dict[int, dict[str, Any]] = {chunk: {} for chunk in self._dirty_chunks}
            for item_id, record in self.records.items():
                chunk = self.positions[item_id] // CHUNK_ITEMS
                if chunk in by_chunk and record.status.ended:
                    by_chunk[chunk][item_id] = record.to_json()
            for chunk, items in sorted(by_chunk.items()):
                self.store.set(f"{HEAD_KEY}.{chunk}", {"fingerprint": self.fingerprint, "items": items})
            self._dirty_chunks.clear()
        if self._dirty_head:
            active = {k: r.to_json() for k, r in self.records.items() if not r.status.ended}
            self.store.set(
                HEAD_KEY,
                {
                    "fingerprint": self.fingerprint,
                    "nonce": self.nonce,
                    "chunks": chunks,
                    "next_batch": self.next_batch,
                    "batches": {str(n): m.to_json() for n, m in self.batches.items()},
                    "active": active,
                },
            )
            self._dirty_head = False

    def clear(self) -> None:
        """Forget the campaign (it succeeded): clearing the task then starts a new one."""
        chunks = max(1, -(-len(self.positions) // CHUNK_ITEMS))
        for chunk in range(chunks):
            self.store.delete(f"{HEAD_KEY}.{chunk}")
        self.store.delete(HEAD_KEY)

    def counts(self, item_ids: Iterable[str]) -> dict[str, int]:
        """How many items are in each manifest status."""
        counted: dict[str, int] = {}
        for item_id in item_ids:
            record = self.records.get(item_id)
            shown = record.status.shown if record is not None else "pending"
            counted[shown] = counted.get(shown, 0) + 1
        return counted
