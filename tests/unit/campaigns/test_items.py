"""A campaign's items: read from CSV, JSONL or a list, filled per item, every problem named at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_heygen.campaigns.items import CampaignKind, checked_items, fill, items_fingerprint, read_rows
from airflow_heygen.exceptions import HeyGenInputError

FACESWAP = CampaignKind.named("faceswap")
REQUEST = {"source_image_url": "{face_url}", "target_video_url": "https://cdn.example/target.mp4"}


def rows(count: int) -> list[dict[str, str]]:
    return [{"id": f"c{n}", "face_url": f"https://cdn.example/{n}.jpg"} for n in range(count)]


def test_placeholders_take_the_item_s_columns_and_a_whole_placeholder_keeps_the_type() -> None:
    filled = fill({"a": "{x}", "b": "hi {name}!", "c": ["{x}"], "d": 3}, {"x": 7, "name": "Ada"})
    assert filled == {"a": 7, "b": "hi Ada!", "c": [7], "d": 3}


def test_csv_and_jsonl_files_and_lists_give_the_same_items(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,face_url\nc0,https://cdn.example/0.jpg\n")
    (tmp_path / "a.jsonl").write_text(json.dumps(rows(1)[0]) + "\n\n")
    from_csv = read_rows(f"file://{tmp_path}/a.csv")
    assert from_csv == read_rows(str(tmp_path / "a.jsonl")) == read_rows(rows(1))


@pytest.mark.parametrize(
    ("items", "said"),
    [
        ("/nowhere/x.csv", "does not exist"),
        ("/nowhere/x.parquet", "must be a .csv or .jsonl file"),
        ([{"id": "a"}, "b"], "rows 2 are not"),
        ("", "is required"),
    ],
)
def test_unreadable_items_are_refused_naming_items(items: object, said: str) -> None:
    with pytest.raises(HeyGenInputError, match=said) as raised:
        read_rows(items)
    assert raised.value.field == "items"


def test_every_bad_item_is_named_by_row_and_field_in_one_error() -> None:
    bad = rows(8)
    bad[1]["id"] = ""
    bad[3]["id"] = "c0"
    bad[4]["face_url"] = "ftp://x/y.jpg"
    del bad[6]["face_url"]
    bad[7]["id"] = "has space"
    with pytest.raises(HeyGenInputError) as raised:
        checked_items(FACESWAP, bad, "id", REQUEST, file_safe_ids=True)
    message = str(raised.value)
    assert "5 problem(s), nothing was submitted" in message
    assert "row 2: id: is empty or missing" in message
    assert "row 4: id: 'c0' repeats row 1" in message
    assert "row 5: input.source_image_url" in message
    assert "row 7: request.source_image_url: the item has no value in column 'face_url'" in message
    assert "row 8: id: 'has space' cannot name a file" in message


def test_ids_need_not_be_file_names_when_nothing_is_published() -> None:
    items = rows(2)
    items[0]["id"] = "has space"
    first = checked_items(FACESWAP, items, "id", REQUEST, file_safe_ids=False)[0]
    assert first.item_id == "has space"


def test_v3_bodies_are_checked_and_a_translation_item_has_one_language() -> None:
    video = CampaignKind.named("video")
    body = {"type": "avatar", "avatar_id": "{avatar}", "script": "Hi {name}", "voice_id": "v1"}
    (item,) = checked_items(
        video, [{"id": "a", "avatar": "Ann", "name": "Bo"}], "id", body, file_safe_ids=True
    )
    assert item.body["script"] == "Hi Bo" and video.batched
    translation = CampaignKind.named("video_translation")
    request = {"video": {"type": "url", "url": "https://cdn.example/v.mp4"}, "output_languages": ["es", "fr"]}
    with pytest.raises(HeyGenInputError, match="row 1: output_languages: a campaign item translates"):
        checked_items(translation, [{"id": "a"}], "id", request, file_safe_ids=True)


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(
        HeyGenInputError, match="faceswap, avatar_inference, video, lipsync, video_translation"
    ):
        CampaignKind.named("dub")


def test_the_fingerprint_follows_the_items() -> None:
    first = checked_items(FACESWAP, rows(3), "id", REQUEST, file_safe_ids=True)
    changed = rows(3)
    changed[2]["face_url"] = "https://cdn.example/other.jpg"
    second = checked_items(FACESWAP, changed, "id", REQUEST, file_safe_ids=True)
    assert items_fingerprint(first) == items_fingerprint(
        checked_items(FACESWAP, rows(3), "id", REQUEST, file_safe_ids=True)
    )
    assert items_fingerprint(first) != items_fingerprint(second)
