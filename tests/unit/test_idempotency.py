"""The Idempotency-Key of a task instance's create: deterministic, in HeyGen's charset, per record."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_heygen.exceptions import HeyGenSubmissionInDoubtError
from airflow_heygen.idempotency import MAX_KEY_LENGTH, idempotency_key, is_valid_key
from airflow_heygen.operators.job_base import submission_key
from airflow_heygen.state import SubmissionRecord

CHARSET = re.compile(r"^[A-Za-z0-9_:.-]{1,255}$")


class Store:
    """An in-memory task_state_store."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


def context(store: Store | None, try_number: int = 1, **ti: Any) -> dict[str, Any]:
    fields = {"dag_id": "d", "task_id": "t", "run_id": "manual__2026-01-01T00:00:00+00:00", "map_index": -1}
    fields.update(ti)
    return {"ti": SimpleNamespace(try_number=try_number, **fields), "task_state_store": store}


def record_for(ctx: dict[str, Any], body: dict[str, Any]) -> SubmissionRecord:
    return SubmissionRecord.for_task(ctx, durable=True, request=body, description="video create")


@given(
    dag_id=st.text(min_size=1, max_size=300),
    task_id=st.text(min_size=1, max_size=300),
    run_id=st.text(min_size=1, max_size=300),
    map_index=st.integers(min_value=-1, max_value=10**6),
)
def test_keys_are_within_heygens_charset_and_length(
    dag_id: str, task_id: str, run_id: str, map_index: int
) -> None:
    key = idempotency_key(
        dag_id=dag_id,
        task_id=task_id,
        run_id=run_id,
        map_index=map_index,
        request_fingerprint="f" * 32,
        nonce="n",
    )
    assert CHARSET.match(key) and len(key) <= MAX_KEY_LENGTH and is_valid_key(key)


def test_every_input_but_the_try_changes_the_key() -> None:
    base = {
        "dag_id": "d",
        "task_id": "t",
        "run_id": "r",
        "map_index": 0,
        "request_fingerprint": "f",
        "nonce": "n",
    }
    key = idempotency_key(**base)
    assert idempotency_key(**base) == key
    for name, other in (
        ("dag_id", "e"),
        ("task_id", "u"),
        ("run_id", "s"),
        ("map_index", 1),
        ("request_fingerprint", "g"),
        ("nonce", "m"),
    ):
        assert idempotency_key(**{**base, name: other}) != key, name


def test_every_try_reuses_the_saved_key_and_a_cleared_record_makes_a_new_one() -> None:
    store = Store()
    body = {"kind": "video", "body": {"type": "avatar", "avatar_id": "a", "script": "hi"}}
    first_ctx = context(store, try_number=1)
    record = record_for(first_ctx, body)
    key, fresh = submission_key(record, record.load(), first_ctx, resubmit_unconfirmed=False)
    assert fresh
    record.mark_in_flight(idempotency_key=key)

    # Try 2 (the first died after the POST): the same key, not a new one.
    retry_ctx = context(store, try_number=2)
    again = record_for(retry_ctx, body)
    assert submission_key(again, again.load(), retry_ctx, resubmit_unconfirmed=False) == (key, False)

    # The task succeeded (record cleared) and is cleared: a new key, so a new video.
    again.clear()
    new_key, fresh = submission_key(again, again.load(), retry_ctx, resubmit_unconfirmed=False)
    assert fresh and new_key != key

    # A changed request is another record with another key.
    changed = record_for(retry_ctx, {**body, "body": {**body["body"], "script": "bye"}})
    assert submission_key(changed, changed.load(), retry_ctx, resubmit_unconfirmed=False)[0] not in (
        key,
        new_key,
    )


def test_a_marker_older_than_the_key_window_refuses_to_guess() -> None:
    store = Store()
    ctx = context(store)
    record = record_for(ctx, {"kind": "lipsync", "body": {}})
    record.mark_in_flight(idempotency_key="airflow:d:t:m:abc")
    saved = store.values[SubmissionRecord.KEY]
    store.values[SubmissionRecord.KEY] = {**saved, "sent_at": time.time() - 25 * 3600}

    with pytest.raises(HeyGenSubmissionInDoubtError, match="A HeyGen job may already exist"):
        submission_key(record, record.load(), ctx, resubmit_unconfirmed=False)
    key, fresh = submission_key(record, record.load(), ctx, resubmit_unconfirmed=True)
    assert fresh and key != "airflow:d:t:m:abc"


def test_without_a_store_the_key_is_the_same_in_every_try() -> None:
    keys = set()
    for try_number in (1, 2, 3):
        ctx = context(None, try_number=try_number)
        record = record_for(ctx, {"kind": "video", "body": {"x": 1}})
        keys.add(submission_key(record, record.load(), ctx, resubmit_unconfirmed=False)[0])
    assert len(keys) == 1
