"""check_inputs: every input URL of a request is found, and a 4xx refuses before anything is paid."""

from __future__ import annotations

import logging

import pytest

from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.preflight import check_input_urls, input_urls
from tests.support.media_server import MediaServer, answer_status


def test_every_input_url_is_found_but_callbacks() -> None:
    body = {
        "video": {"type": "url", "url": "https://m.test/v.mp4"},
        "audio_list": [{"audio_url": "http://m.test/a.mp3"}],
        "callback_url": "https://me.test/hook",
        "title": "not a url",
    }
    assert list(input_urls(body, "body")) == [
        ("body.video.url", "https://m.test/v.mp4"),
        ("body.audio_list[0].audio_url", "http://m.test/a.mp3"),
    ]


def test_a_404_is_refused_naming_the_field_and_a_200_passes() -> None:
    media = MediaServer()  # answers HEAD with 501: the check falls back to a one-byte GET
    media.routes["/face.jpg"] = answer_status(206)
    try:
        good, bad = media.url("/face.jpg"), media.url("/nope.jpg")
        check_input_urls({"source_image_url": good}, "input", log=logging.getLogger(__name__))
        with pytest.raises(HeyGenInputError, match=r"^input.target_video_url: .*answered HTTP 404"):
            check_input_urls(
                {"source_image_url": good, "target_video_url": bad}, "input", log=logging.getLogger(__name__)
            )
    finally:
        media.stop()
    assert media.requests_to("/face.jpg")[0].headers.get("Range") == "bytes=0-0"
    assert all("X-Api-Key" not in seen.headers for seen in media.seen), "no key goes to media hosts"
