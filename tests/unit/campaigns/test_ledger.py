"""The campaign ledger in a task_state_store: small head writes, ended items in chunks, reloaded whole."""

from __future__ import annotations

from typing import Any

from airflow_heygen.campaigns.ledger import (
    CHUNK_BYTES,
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


POSITIONS = {f"c{n}": n for n in range(510)}


def test_ended_items_go_to_their_chunk_before_the_head_and_reload() -> None:
    store = Store()
    ledger = CampaignLedger(store, "fp", POSITIONS)
    ledger.set("c1", ItemRecord(ItemStatus.RUNNING, job_id="j1"))
    ledger.set("c501", ItemRecord(ItemStatus.SUBMITTING))
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
    assert again.get("c501").status is ItemStatus.SUBMITTING
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


def test_ten_thousand_ended_items_fit_in_chunks_under_airflow_s_value_limit() -> None:
    store = Store()
    positions = {f"customer-{n:05d}": n for n in range(10_000)}
    ledger = CampaignLedger(store, "fp", positions)
    url = "https://resource.heygen.ai/video/" + "v" * 120 + ".mp4?Expires=1&Signature=" + "s" * 200
    for n, item_id in enumerate(positions):
        running = ItemRecord(ItemStatus.RUNNING, job_id=f"job-{n:032d}", submitted_at=1.7e9)
        ledger.set(item_id, running)
        if n % 7 == 0:
            ended = running.ended_as(ItemStatus.FAILED, failure="x" * 5_000, failure_code="bad_face")
        else:
            ended = running.ended_as(
                ItemStatus.DONE, video_url=url, published_to=f"s3://b/{item_id}.mp4", cost_usd=0.5
            )
        ledger.set(item_id, ended)
        if n % 250 == 0:
            ledger.flush()
    ledger.flush()
    import json

    sizes = {key: len(json.dumps(value)) for key, value in store.values.items()}
    assert max(sizes.values()) <= CHUNK_BYTES < 65_535
    again = CampaignLedger(store, "fp", positions)
    assert len(again.records) == 10_000 and again.count(ItemStatus.DONE, ItemStatus.FAILED) == 10_000
    assert again.get("customer-00007").failure.endswith("...")
    # An item failed and retried moves to the newest chunk; the reload finds it there, once.
    again.forget("customer-00007")
    assert again.cursor == 0 or again.cursor <= 7
    again.set("customer-00007", ItemRecord(ItemStatus.FAILED).ended_as(ItemStatus.DONE, video_url=url))
    again.flush()
    third = CampaignLedger(store, "fp", positions)
    assert third.get("customer-00007").status is ItemStatus.DONE and len(third.records) == 10_000


def test_status_index_and_cursor_follow_every_change() -> None:
    store = Store()
    ledger = CampaignLedger(store, "fp", POSITIONS)
    ids = list(POSITIONS)
    for item_id in ids[:5]:
        ledger.set(item_id, ItemRecord(ItemStatus.RUNNING, job_id=item_id))
    ledger.set("c1", ItemRecord(ItemStatus.RUNNING).ended_as(ItemStatus.FAILED))
    assert ledger.count(ItemStatus.RUNNING) == 4 and ledger.with_status(ItemStatus.FAILED) == ["c1"]
    ledger.advance_cursor(ids)
    assert ledger.cursor == 5
    ledger.forget("c1")
    assert ledger.cursor == 1 and ledger.count(ItemStatus.FAILED) == 0
    ledger.flush()
    again = CampaignLedger(store, "fp", POSITIONS)
    assert again.cursor == 1 and again.count(ItemStatus.RUNNING) == 4


def test_a_head_only_write_names_the_ended_items_until_their_chunk_is_written() -> None:
    store = Store()
    ledger = CampaignLedger(store, "fp", POSITIONS)
    ledger.set("c1", ItemRecord(ItemStatus.RUNNING, job_id="j1"))
    ledger.flush()
    ledger.set("c1", ItemRecord(ItemStatus.RUNNING, job_id="j1").ended_as(ItemStatus.DONE))
    ledger.set("c2", ItemRecord(ItemStatus.SUBMITTING))  # a create's marker
    ledger.flush(head_only=True)
    assert store.writes == [HEAD_KEY, HEAD_KEY], "the marker's write is the head alone"
    again = CampaignLedger(store, "fp", POSITIONS)  # the worker died here
    assert again.get("c1").status is ItemStatus.DONE and again.get("c2").status is ItemStatus.SUBMITTING
    again.flush()
    assert store.writes[2:] == [f"{HEAD_KEY}.0", HEAD_KEY]
    # An item leaving its chunk (retried) needs the chunk written before any marker: a whole write.
    again.forget("c1")
    again.set("c1", ItemRecord(ItemStatus.SUBMITTING))
    again.flush(head_only=True)
    assert store.writes[4:] == [f"{HEAD_KEY}.0", HEAD_KEY]
    assert CampaignLedger(store, "fp", POSITIONS).get("c1").status is ItemStatus.SUBMITTING
