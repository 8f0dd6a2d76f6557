"""
What a HeyGen task leaves in ``task_state_store`` between tries, driven through ``execute()`` with a
store that behaves like Airflow's (a dict per task instance) against the fake HeyGen on 127.0.0.1.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_heygen.exceptions import HeyGenExecutionError, HeyGenSubmissionInDoubtError
from airflow_heygen.operators.heygen import AvatarInferenceOperator, FaceswapOperator
from airflow_heygen.state import SubmissionRecord
from tests.support.fake_heygen import FakeHeyGen

URL = "https://example.com/a.jpg"


class Store:
    """``task_state_store`` of one task instance: kept across its tries."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        assert value is not None
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


class TI:
    dag_id, run_id, task_id, map_index, try_number = "d", "r", "swap", -1, 1

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def context(store: Store) -> Any:
    return {"ti": TI(), "task_state_store": store}


def swap(**kwargs: Any) -> FaceswapOperator:
    return FaceswapOperator(
        task_id="swap", source_image_url=URL, target_video_url=URL, poll_interval=0.01, **kwargs
    )


def test_a_fire_and_forget_task_clears_its_record_so_clearing_it_makes_a_new_video(
    heygen_conn: FakeHeyGen,
) -> None:
    store = Store()

    first = swap(wait_for_completion=False).execute(context(store))
    assert store.values == {}, "submitted and succeeded: nothing left to reattach to"
    second = swap(wait_for_completion=False).execute(context(store))  # the task cleared in the UI

    assert heygen_conn.submissions == 2
    assert first["execution_id"] != second["execution_id"]
    assert first["status"] == second["status"] == "submitted"


def test_a_fire_and_forget_retry_before_success_reattaches(heygen_conn: FakeHeyGen) -> None:
    store = Store()
    execution_id = heygen_conn.add_execution(polls=5)
    request = {"workflow_type": "FaceswapNode", "input": {"source_image_url": URL, "target_video_url": URL}}
    record = SubmissionRecord.for_task(
        context(store), durable=True, request=request, description="FaceswapNode workflow"
    )
    record.save(execution_id)  # what a try that died after submitting left

    result = swap(wait_for_completion=False).execute(context(store))

    assert result["execution_id"] == execution_id
    assert heygen_conn.submissions == 1, "no second job"


def test_a_marker_without_an_id_refuses_to_submit_and_says_how_to(heygen_conn: FakeHeyGen) -> None:
    store = Store()
    heygen_conn.lose_submission_replies = 1
    with pytest.raises(HeyGenSubmissionInDoubtError):
        swap().execute(context(store))
    assert heygen_conn.submissions == 1
    (marker,) = store.values.values()
    assert "execution_id" not in marker and marker["sent_at"] > 0

    with pytest.raises(HeyGenSubmissionInDoubtError, match="an earlier try sent the FaceswapNode workflow"):
        swap().execute(context(store))  # the task cleared by hand: still no guessing
    assert heygen_conn.count("POST") == 1

    result = swap(resubmit_unconfirmed=True).execute(context(store))
    assert result["status"] == "completed"
    assert heygen_conn.submissions == 2
    assert store.values == {}


def test_a_refused_submission_leaves_no_marker(heygen_conn: FakeHeyGen) -> None:
    from tests.support.fake_heygen import Reply

    store = Store()
    heygen_conn.replies.append(Reply(400, {"error": {"message": "bad input"}}, method="POST"))
    with pytest.raises(Exception, match="bad input"):
        swap().execute(context(store))

    assert store.values == {}, "HeyGen said no: nothing can exist there, a retry may submit"


def test_without_a_store_a_lost_reply_fails_without_retries(heygen_conn: FakeHeyGen) -> None:
    heygen_conn.lose_submission_replies = 1
    with pytest.raises(HeyGenSubmissionInDoubtError, match="keeps no task_state_store record"):
        swap().execute({"ti": TI()})
    assert heygen_conn.submissions == 1


def test_a_failure_without_heygens_message_names_the_workflow_type(heygen_conn: FakeHeyGen) -> None:
    heygen_conn.plan.status = "failed"
    heygen_conn.plan.error = ""
    avatar = AvatarInferenceOperator(
        task_id="avatar", avatar_id="a", audio_urls=URL, poll_interval=0.01, timeout=10
    )
    with pytest.raises(HeyGenExecutionError, match="failed: AvatarInferenceNode failed"):
        avatar.execute(context(Store()))


def test_the_sync_session_is_closed_when_the_task_is_done(heygen_conn: FakeHeyGen) -> None:
    operator = swap()
    session = operator.hook.session
    adapter = session.get_adapter(heygen_conn.base_url)

    operator.execute(context(Store()))

    assert "hook" not in operator.__dict__
    assert len(adapter.poolmanager.pools) == 0, "its pooled connections were closed"
