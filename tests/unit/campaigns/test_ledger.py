"""The campaign ledger in a task_state_store: small head writes, ended items in chunks, reloaded whole."""

from __future__ import annotations

from typing import Any

from airflow_heygen.campaigns.ledger import (
    CHUNK_ITEMS,
    HEAD_KEY,
    BatchMarker,
    CampaignLedger,
    ItemRecord,
    ItemStatus,
)


class Store:
    """A task_state_store keeping values as JSON would (copies), counting writes by key."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.writes: list[str] = []

    def get(self, key: str) -> Any:
        import json

        return json.loads(json.dumps(self.values[key])) if key in self.values else None

    def set(self, key: str, value: Any) -> None:
        import json

        self.values[key] = json.loads(json.dumps(value))
        self.writes.append(key)

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


POSITIONS = {f"c{n}": n for n in range(CHUNK_ITEMS + 10)}


def test_ended_items_go_to_their_chunk_before_the_head_and_reload() -> None:
    store = Store()
    ledger = CampaignLedger(store, "fp", POSITIONS)
    ledger.set("c1", ItemRecord(ItemStatus.RUNNING, job_id="j1"))
    ledger.set(f"c{CHUNK_ITEMS + 1}", ItemRecord(ItemStatus.SUBMITTING))
    ledger.flush()
    assert store.writes == [HEAD_KEY], "active items live in the head only"
    ledger.set(
        "c1",
        ItemRecord(ItemStatus.RUNNING, job_id="j1").ended_as(ItemStatus.DONE, published_to="s3://b/c1.mp4"),
    )
    ledger.flush()
    assert store.writes[1:] == [f"{HEAD_KEY}.0", HEAD_KEY], "the chunk first, then the head"

    again = CampaignLedger(store, "fp", POSITIONS)
    assert again.resumed and again.nonce == ledger.nonce
    assert again.get("c1") == ledger.get("c1") and again.get("c1").status is ItemStatus.DONE
    assert again.get(f"c{CHUNK_ITEMS + 1}").status is ItemStatus.SUBMITTING
    assert again.get("c2") is None, "pending"


def test_another_campaign_does_not_read_this_one_s_records() -> None:
    store = Store()
    ledger = CampaignLedger(store, "fp", POSITIONS)
    ledger.set("c1", ItemRecord(ItemStatus.FAILED).ended_as(ItemStatus.FAILED, failure="no face"))
    ledger.flush()
    other = CampaignLedger(store, "another", POSITIONS)
    assert not other.resumed and other.get("c1") is None and other.nonce != ledger.nonce


def test_batch_markers_keep_their_key_and_forgotten_items_leave_their_chunk() -> None:
    store = Store()
    ledger = CampaignLedger(store, "fp", POSITIONS)
    number = ledger.mark_batch(BatchMarker("airflow:key", 1.0, ["c1", "c2"]))
    ledger.set("c3", ItemRecord(ItemStatus.FAILED).ended_as(ItemStatus.FAILED))
    ledger.flush()
    again = CampaignLedger(store, "fp", POSITIONS)
    assert again.batches[number].key == "airflow:key" and again.batches[number].batch_id is None
    again.batch_started(number, "b1")
    again.forget("c3")
    again.flush()
    third = CampaignLedger(store, "fp", POSITIONS)
    assert third.batches[number].batch_id == "b1" and third.get("c3") is None
    third.clear()
    assert store.values == {}
