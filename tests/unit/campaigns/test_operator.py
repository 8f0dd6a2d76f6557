"""The campaign operator's own handling of its arguments (no run)."""

from __future__ import annotations

from pathlib import Path

from airflow_heygen.operators.heygen import HeyGenCampaignOperator


def test_publish_to_names_the_same_folder_with_or_without_its_trailing_slash(tmp_path: Path) -> None:
    operator = HeyGenCampaignOperator(
        task_id="personalize",
        kind="faceswap",
        items=[{"id": "a", "face_url": "https://example.test/a.jpg"}],
        request={"source_image_url": "{face_url}", "target_video_url": "https://example.test/t.mp4"},
    )
    bare = operator._folder("publish_to", f"file://{tmp_path}/videos")
    assert str(operator._folder("publish_to", f"file://{tmp_path}/videos/")) == str(bare)
    assert str(bare / "a.mp4").endswith("/videos/a.mp4")
