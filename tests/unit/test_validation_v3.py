"""
Bad bodies of every kind, generated: each rejection is a HeyGenInputError naming a field of the
kind's request schema, raised before anything is sent; a body the checks accept is one HeyGen's
schema accepts too.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.operators.v3 import (
    HeyGenLipsyncOperator,
    HeyGenVideoOperator,
    HeyGenVideoTranslationOperator,
)
from tests.emulator.v3_contract import check_request, operation

URL = "https://media.example.test/x.mp4"
VALID: dict[str, dict[str, Any]] = {
    "video": {"type": "avatar", "avatar_id": "Angela", "audio_url": URL, "aspect_ratio": "16:9"},
    "lipsync": {"video": {"type": "url", "url": URL}, "audio": {"type": "url", "url": URL}, "mode": "speed"},
    "video_translation": {
        "video": {"type": "url", "url": URL},
        "output_languages": ["es", "fr"],
        "mode": "speed",
    },
}
FIELDS = {
    "video": [
        "type",
        "avatar_id",
        "audio_url",
        "script",
        "voice_id",
        "audio_asset_id",
        "aspect_ratio",
        "resolution",
        "output_format",
        "callback_url",
        "image",
        "background",
    ],
    "lipsync": ["video", "audio", "mode", "start_time", "end_time", "callback_url"],
    "video_translation": [
        "video",
        "output_languages",
        "mode",
        "audio",
        "srt",
        "fps_mode",
        "start_time",
        "end_time",
    ],
}
ENDPOINT = {"video": "/v3/videos", "lipsync": "/v3/lipsyncs", "video_translation": "/v3/video-translations"}
OPERATOR = {
    "video": HeyGenVideoOperator,
    "lipsync": HeyGenLipsyncOperator,
    "video_translation": HeyGenVideoTranslationOperator,
}
BAD_VALUES = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.booleans(),
    st.text(max_size=6),
    st.sampled_from(["ftp://x/y", "not a url", "", "https://", "http://h/ a", "speed", "1:1", "es"]),
    st.lists(st.text(max_size=3), max_size=3),
    st.fixed_dictionaries({"type": st.sampled_from(["url", "asset_id", "base64", "file"])}),
    st.fixed_dictionaries({"type": st.just("url"), "url": st.sampled_from(["ftp://a", "", URL])}),
)


def schema_fields(kind: str) -> set[str]:
    schema = operation("POST", ENDPOINT[kind]).request_schema or {}
    names = set(schema.get("properties", {}))
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
        names |= set(branch.get("properties", {}))
    return names | {"body"}


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    body = copy.deepcopy(VALID[kind])
    for _ in range(draw(st.integers(1, 3))):
        field = draw(st.sampled_from(FIELDS[kind]))
        if draw(st.booleans()) and field in body:
            del body[field]
        else:
            body[field] = draw(BAD_VALUES)
    return body


class NothingSent:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the hook was used ({name}) although the input is bad")


@pytest.mark.parametrize("kind", sorted(VALID))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bad_bodies_name_their_field_and_send_nothing(kind: str, data: st.DataObject) -> None:
    body = data.draw(mutated(kind))
    try:
        accepted = OPERATOR[kind](task_id="t", body=body).request_body()
    except HeyGenInputError as err:
        root = err.field.split(".")[0].split("[")[0]
        assert root in schema_fields(kind), (err.field, body)
        assert err.field in str(err)
        return
    check_request("POST", ENDPOINT[kind], accepted)


@pytest.mark.parametrize("kind", sorted(VALID))
def test_a_bad_body_fails_the_task_before_anything_is_sent(kind: str) -> None:
    body = {**VALID[kind], "callback_url": "ftp://example.test/hook"}
    operator = OPERATOR[kind](task_id="t", body=body)
    operator.__dict__["hook"] = NothingSent()
    with pytest.raises(HeyGenInputError) as caught:
        operator.execute({"ti": None})  # type: ignore[arg-type]
    assert caught.value.field == "callback_url"


@pytest.mark.parametrize("kind", sorted(VALID))
def test_the_valid_bodies_pass(kind: str) -> None:
    check_request("POST", ENDPOINT[kind], OPERATOR[kind](task_id="t", body=VALID[kind]).request_body())


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"avatar_id": "a", "script": "hi", "audio_url": URL}, "audio_url"),
        ({"avatar_id": "a"}, "script"),
        ({"avatar_id": "", "script": "hi"}, "avatar_id"),
        ({"avatar_id": "a", "audio_url": "file:///etc/passwd"}, "audio_url"),
    ],
)
def test_video_keyword_arguments(arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(HeyGenInputError) as caught:
        HeyGenVideoOperator(task_id="t", **arguments).request_body()
    assert caught.value.field == field


def test_translation_needs_languages() -> None:
    with pytest.raises(HeyGenInputError) as caught:
        HeyGenVideoTranslationOperator(task_id="t", video_url=URL, output_languages=[]).request_body()
    assert caught.value.field == "output_languages"
