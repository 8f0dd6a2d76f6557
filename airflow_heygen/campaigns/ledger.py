"""
What a campaign knows of each of its items, kept in ``task_state_store`` across resumes and tries.

Two kinds of keys keep it small to write: the head (``heygen_campaign``) holds the campaign's
fingerprint, its nonce, the items still active (submitting, running, finished but not yet published)
and the batch creates in flight; it is written before every create and after. Items that ended are
moved to chunk keys (``heygen_campaign.<n>``), filled in the order items end up to
:data:`CHUNK_BYTES` serialized each, written when one of their items ends. An item in neither is
pending. A chunk is always written before the head that stops naming its items, so an item is never
lost between the two: where both name it, the chunk's (ended) record wins.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from airflow_heygen.idempotency import new_nonce

HEAD_KEY = "heygen_campaign"
# Keys hold no "/": Airflow 3.3.0 routes a key as one URL path segment (store/ti/<id>/<key>).
# A chunk's serialized size at most: under Airflow's [state_store] max_value_storage_bytes (65,535),
# with room for the key's wrapper. Sizes are counted as json.dumps writes them (ASCII escapes: never
# fewer bytes than UTF-8).
CHUNK_BYTES = 60_000
MAX_FAILURE = 2_000
# Ended items the head names while their chunk waits for a write, at most (the head stays small).
UNWRITTEN_ITEMS = 100


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
        """The stored form: only the fields that are set (a failure cut to :data:`MAX_FAILURE`)."""
        values = ((name, getattr(self, name)) for name in self.__dataclass_fields__)
        stored = {k: v.value if isinstance(v, Enum) else v for k, v in values if v is not None}
        if isinstance(stored.get("failure"), str) and len(stored["failure"]) > MAX_FAILURE:
            stored["failure"] = stored["failure"][:MAX_FAILURE] + "..."
        return stored

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


def _entry_bytes(item_id: str, record: ItemRecord) -> int:
    """An item's bytes in its chunk's JSON: ``"<id>": {...}, ``."""
    return len(json.dumps(item_id)) + len(json.dumps(record.to_json())) + 4


class ChunkMap:
    """
    Which chunk holds each ended item, and each chunk's serialized size: a new ended item goes to the
    newest chunk while it fits in :data:`CHUNK_BYTES`, else opens a new one.
    """

    OVERHEAD = 200  # the fingerprint and the wrapper

    def __init__(self) -> None:
        self.chunk_of: dict[str, int] = {}
        self.sizes: list[int] = []
        self._members: list[dict[str, int]] = []

    @property
    def count(self) -> int:
        """Chunks in use (some may be empty)."""
        return len(self.sizes)

    def members(self, chunk: int) -> list[str]:
        """The items a chunk holds."""
        return list(self._members[chunk]) if chunk < len(self._members) else []

    def place(self, item_id: str, chunk: int | None, record: ItemRecord) -> set[int]:
        """
        Put an ended item in ``chunk`` (loading), or where it fits; returns the chunks that changed.

        :param item_id: the item.
        :param chunk: its chunk as stored, or None to choose one.
        :param record: its ended record.
        """
        size = _entry_bytes(item_id, record)
        changed: set[int] = set()
        current = self.chunk_of.get(item_id)
        if chunk is None and current is not None:
            grown = self.sizes[current] - self._members[current][item_id] + size
            if grown <= CHUNK_BYTES:
                chunk = current  # stays where it is
        if current is not None and current != chunk:
            changed |= self.remove(item_id)
        if chunk is None:
            chunk = self.count - 1
            if chunk < 0 or self.sizes[chunk] + size > CHUNK_BYTES:
                chunk = self.count
        while self.count <= chunk:
            self.sizes.append(self.OVERHEAD)
            self._members.append({})
        self.sizes[chunk] += size - self._members[chunk].get(item_id, 0)
        self._members[chunk][item_id] = size
        self.chunk_of[item_id] = chunk
        return changed | {chunk}

    def remove(self, item_id: str) -> set[int]:
        """Take an item out of its chunk; returns the chunk that changed."""
        chunk = self.chunk_of.pop(item_id, None)
        if chunk is None:
            return set()
        self.sizes[chunk] -= self._members[chunk].pop(item_id)
        return {chunk}


class CampaignLedger:
    """
    The items' records of one campaign, loaded from and flushed to ``task_state_store``.

    Kept with an index by status (a step asks "which are running?" without scanning every item) and
    a cursor below which every item has a record (pending items are found from there, not from the
    first item).

    :param store: the task's ``task_state_store``.
    :param campaign_fingerprint: the campaign's request and items; a record of another is not read.
    :param positions: each item's position (the cursor counts in positions).
    """

    def __init__(self, store: Any, campaign_fingerprint: str, positions: Mapping[str, int]) -> None:
        self.store = store
        self.fingerprint = campaign_fingerprint
        self.positions = positions
        self.records: dict[str, ItemRecord] = {}
        self.by_status: dict[ItemStatus, dict[str, None]] = {status: {} for status in ItemStatus}
        self.batches: dict[int, BatchMarker] = {}
        self.next_batch = 0
        self.nonce = ""
        self.resumed = False
        # Every item before this position has a record (lowered when one is forgotten).
        self.cursor = 0
        # What the campaign learned and when it last wrote its manifest (see campaigns.pacing).
        self.meta: dict[str, Any] = {}
        self.chunks = ChunkMap()
        self._dirty_chunks: set[int] = set()
        # Ended items whose chunk is not written yet (a head-only write names them), and whether an
        # item left a chunk (then only a whole write will do: the chunk must stop naming it first).
        self._unwritten: set[str] = set()
        self._removed = False
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
        self.cursor = int(head.get("cursor", 0))
        self.meta = dict(head.get("meta") or {})
        for number, marker in (head.get("batches") or {}).items():
            self.batches[int(number)] = BatchMarker(
                marker["key"], float(marker["sent_at"]), list(marker["items"]), marker.get("batch_id")
            )
        # Chunks past the head's count are read too: a new chunk is written before the head counting it.
        chunk = 0
        while True:
            stored = self.store.get(f"{HEAD_KEY}.{chunk}")
            if not (isinstance(stored, Mapping) and stored.get("fingerprint") == self.fingerprint):
                if chunk >= int(head.get("chunks", 0)):
                    break
                chunk += 1
                continue
            for item_id, value in (stored.get("items") or {}).items():
                record = ItemRecord.from_json(value)  # an ended record wins; a later chunk's wins
                self._index(item_id, record)
                self.chunks.place(item_id, chunk, record)
            chunk += 1
        for item_id, value in (head.get("active") or {}).items():
            record = ItemRecord.from_json(value)
            if record.status.ended:
                self.set(item_id, record)  # ended after its chunk's last write: newer than the chunk's
            elif item_id not in self.records:
                self._index(item_id, record)  # (a chunk's ended record wins over an active one)
        self._dirty_head = bool(self._unwritten)

    def _index(self, item_id: str, record: ItemRecord | None) -> None:
        old = self.records.pop(item_id, None)
        if old is not None:
            self.by_status[old.status].pop(item_id, None)
        if record is not None:
            self.records[item_id] = record
            self.by_status[record.status][item_id] = None

    def get(self, item_id: str) -> ItemRecord | None:
        """The item's record; None while it is pending."""
        return self.records.get(item_id)

    def set(self, item_id: str, record: ItemRecord) -> None:
        """Change an item's record (written at the next :meth:`flush`)."""
        self._index(item_id, record)
        if record.status.ended:
            self._dirty_chunks.update(self.chunks.place(item_id, None, record))
            self._unwritten.add(item_id)
        else:
            self._removed |= self._leave_chunk(item_id)
        self._dirty_head = True

    def _leave_chunk(self, item_id: str) -> bool:
        self._unwritten.discard(item_id)
        left = self.chunks.remove(item_id)
        self._dirty_chunks.update(left)
        return bool(left)

    def forget(self, item_id: str) -> None:
        """Make an item pending again (a create that certainly made nothing, or a failed one retried)."""
        if item_id in self.records:
            self._index(item_id, None)
            self._removed |= self._leave_chunk(item_id)
            self.cursor = min(self.cursor, self.positions[item_id])
            self._dirty_head = True

    def count(self, *statuses: ItemStatus) -> int:
        """How many items are in any of ``statuses``."""
        return sum(len(self.by_status[status]) for status in statuses)

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
        """The ids of the items in any of ``statuses`` (from the index: no scan of every item)."""
        return [item_id for status in statuses for item_id in self.by_status[status]]

    def note(self, **meta: Any) -> None:
        """Keep what the campaign learned (render time, resume latency, manifest time) in the head."""
        self.meta.update(meta)
        self._dirty_head = True

    def advance_cursor(self, ordered_ids: Sequence[str]) -> None:
        """
        Move the cursor past the items that have a record (it is stored with the head).

        :param ordered_ids: every item's id in position order.
        """
        cursor = self.cursor
        while cursor < len(ordered_ids) and ordered_ids[cursor] in self.records:
            cursor += 1
        if cursor != self.cursor:
            self.cursor = cursor
            self._dirty_head = True

    def flush(self, *, head_only: bool = False) -> None:
        """
        Write what changed: chunks of ended items first (the newest first), then the head.

        :param head_only: write the head alone when that is safe (no item left a chunk): the ended items
            whose chunk is not written yet are named in the head meanwhile. A create's marker needs only
            this one small write.
        """
        if head_only and not self._removed and len(self._unwritten) < UNWRITTEN_ITEMS:
            if self._dirty_head:
                self._write_head()
            return
        for chunk in sorted(self._dirty_chunks, reverse=True):
            # An item moved to a newer chunk is written there before it leaves the older one.
            items = {item_id: self.records[item_id].to_json() for item_id in self.chunks.members(chunk)}
            self.store.set(f"{HEAD_KEY}.{chunk}", {"fingerprint": self.fingerprint, "items": items})
        self._dirty_chunks.clear()
        self._unwritten.clear()
        self._removed = False
        if self._dirty_head:
            self._write_head()

    def _write_head(self) -> None:
        active = {k: self.records[k].to_json() for s in ItemStatus if not s.ended for k in self.by_status[s]}
        active.update((k, self.records[k].to_json()) for k in self._unwritten)
        self.store.set(
            HEAD_KEY,
            {
                "fingerprint": self.fingerprint,
                "nonce": self.nonce,
                "chunks": self.chunks.count,
                "cursor": self.cursor,
                "meta": self.meta,
                "next_batch": self.next_batch,
                "batches": {str(n): m.to_json() for n, m in self.batches.items()},
                "active": active,
            },
        )
        self._dirty_head = False

    def clear(self) -> None:
        """Forget the campaign (it succeeded): clearing the task then starts a new one."""
        for chunk in range(self.chunks.count + 1):
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
