"""What a job task instance's records say, read without a database: kinds, a translation's videos,
HeyGen's URL expiring, the timeline, and the UI's map index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from airflow_heygen.plugins.jobs import TaskKind, job_view, task_kind
from airflow_heygen.plugins.records import Pushed, TaskKey, TaskRecord

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def record(state: str = "success", **xcoms: tuple[object, datetime]) -> TaskRecord:
    return TaskRecord(
        key=TaskKey("d", "r", "t"),
        state=state,
        operator="HeyGenVideoTranslationOperator",
        try_number=1,
        queued_at=T0 + timedelta(seconds=30),
        started_at=T0,
        ended_at=T0 + timedelta(seconds=40),
        xcoms={key: Pushed(value, at) for key, (value, at) in xcoms.items()},
    )


def test_a_translation_shows_each_languages_video() -> None:
    urls = {"es": "https://cdn.example/es.mp4", "fr": "https://cdn.example/fr.mp4"}
    result = {"kind": "video_translation", "ids": ["a", "b"], "status": "completed", "video_urls": urls}
    translated = record(
        job_ids=(["a", "b"], T0 + timedelta(seconds=5)), return_value=(result, T0 + timedelta(seconds=35))
    )

    view = job_view(translated, now=T0 + timedelta(hours=1))

    assert task_kind(translated) is TaskKind.JOB
    assert (view.job_ids, view.videos, view.video_url) == (["a", "b"], urls, urls["es"])
    assert [m.what for m in view.timeline] == [
        "try 1 started",
        "HeyGen job a, b created",
        "queued to resume",
        "HeyGen job completed",
        "task success",
    ]


def test_heygens_url_is_not_shown_once_it_expired() -> None:
    result = {"kind": "video", "id": "v", "status": "completed", "video_url": "https://cdn.example/v.mp4"}
    finished = record(return_value=(result, T0))

    fresh = job_view(finished, now=T0 + timedelta(days=6))
    old = job_view(finished, now=T0 + timedelta(days=8))

    assert (fresh.heygen_video_url, fresh.url_expired) == ("https://cdn.example/v.mp4", False)
    assert (old.heygen_video_url, old.url_expired, old.to_dict()["videos"]) == (None, True, {})


def test_a_task_without_heygen_records_is_none_of_ours() -> None:
    assert task_kind(record()) is TaskKind.NONE
    assert task_kind(record(heygen_campaign=({"total": 3}, T0))) is TaskKind.CAMPAIGN
    published = {"uri": "file:///v.mp4", "bytes": 1, "sha256": "0"}
    assert task_kind(record(return_value=(published, T0))) is TaskKind.PUBLISH


@pytest.mark.parametrize(
    ("given", "index"),
    [
        (None, -1),
        ("", -1),
        ("{MAP_INDEX}", -1),
        ("3", 3),
        ("-1", -1),
        ("../1", None),
        ("1e3", None),
        ("٣", None),
    ],
)
def test_the_uis_map_index(given: str | None, index: int | None) -> None:
    assert TaskKey.map_index_of(given) == index
