"""
Validation messages: a missing field (None or empty) says ``<field>: is required``, a value of the wrong
type names its type, and a workflow type one slip away from a known one is refused with the type meant.
"""

from __future__ import annotations

import pytest

from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.validation import (
    require_http_url,
    require_positive_number,
    require_text,
    validate_workflow,
)

FACESWAP_INPUT = {
    "source_image_url": "https://example.com/a.jpg",
    "target_video_url": "https://example.com/b.mp4",
}
KNOWN = "Known types: FaceswapNode, AvatarInferenceNode"


@pytest.mark.parametrize("check", [require_text, require_http_url, require_positive_number])
@pytest.mark.parametrize("missing", [None, "", "   "])
def test_a_missing_value_is_required(check: object, missing: object) -> None:
    with pytest.raises(HeyGenInputError) as caught:
        check("avatar_id", missing)  # type: ignore[operator]

    assert str(caught.value) == "avatar_id: is required"
    assert caught.value.field == "avatar_id"


@pytest.mark.parametrize(
    ("check", "value", "problem"),
    [
        (require_text, 123, "must be a string, got int 123"),
        (require_text, ["a"], "must be a string, got list ['a']"),
        (require_http_url, {"url": "x"}, "must be a string, got dict"),
        (require_positive_number, "10", "must be a number, got str '10'"),
        (require_positive_number, 0, "must be a finite number above zero, got 0"),
    ],
)
def test_a_value_of_the_wrong_type_names_its_type(check: object, value: object, problem: str) -> None:
    with pytest.raises(HeyGenInputError) as caught:
        check("field", value)  # type: ignore[operator]

    assert problem in str(caught.value)
    assert "is required" not in str(caught.value)


@pytest.mark.parametrize(
    ("workflow_type", "workflow_input", "message"),
    [
        (None, FACESWAP_INPUT, "workflow_type: is required"),
        ("", FACESWAP_INPUT, "workflow_type: is required"),
        ("FaceswapNode", None, "input: is required"),
        ("FaceswapNode", {"target_video_url": "https://e.com/b.mp4"}, "input.source_image_url: is required"),
        ("FaceswapNode", {**FACESWAP_INPUT, "source_image_url": None}, "input.source_image_url: is required"),
        (
            "AvatarInferenceNode",
            {"audio_list": [{"audio_url": "https://e.com/a.wav"}]},
            "input.avatar.avatar_id",
        ),
        ("AvatarInferenceNode", {"avatar": {"avatar_id": "a1"}}, "input.audio_list: is required"),
        (
            "AvatarInferenceNode",
            {"avatar": {"avatar_id": "a1"}, "audio_list": []},
            "input.audio_list: is required",
        ),
        (
            "AvatarInferenceNode",
            {"avatar": {"avatar_id": "a1"}, "audio_list": [{}]},
            "input.audio_list[0].audio_url: is required",
        ),
    ],
)
def test_a_workflow_request_missing_a_field_says_it_is_required(
    workflow_type: object, workflow_input: object, message: str
) -> None:
    with pytest.raises(HeyGenInputError) as caught:
        validate_workflow(workflow_type, workflow_input)

    assert message in str(caught.value)
    assert "NoneType" not in str(caught.value)


def test_a_workflow_input_of_the_wrong_type_names_its_type() -> None:
    with pytest.raises(HeyGenInputError, match="input: must be a dict, got list"):
        validate_workflow("FaceswapNode", ["https://e.com/a.jpg"])


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("faceswapnode", "FaceswapNode"),
        ("FACESWAPNODE", "FaceswapNode"),
        ("FaceSwapNode", "FaceswapNode"),
        ("FaceswapNod", "FaceswapNode"),
        ("FaceswapNodes", "FaceswapNode"),
        ("FacesawpNode", "FaceswapNode"),
        ("FaceswapNoda", "FaceswapNode"),
        ("avatarinferencenode", "AvatarInferenceNode"),
        ("AvatarInferanceNode", "AvatarInferenceNode"),
    ],
)
def test_a_near_miss_of_a_known_workflow_type_is_refused_with_the_type_meant(given: str, meant: str) -> None:
    with pytest.raises(HeyGenInputError) as caught:
        validate_workflow(given, FACESWAP_INPUT)

    assert caught.value.field == "workflow_type"
    assert caught.value.problem == f"unknown workflow type {given!r}; did you mean {meant!r}? {KNOWN}"


@pytest.mark.parametrize(
    "workflow_type", ["TextToSpeechNode", "Faceswap", "FaceswapNodeV2", "VideoTranslateNode"]
)
def test_a_workflow_type_far_from_every_known_one_is_passed_through(workflow_type: str) -> None:
    name, checked = validate_workflow(workflow_type, {"anything": 1})

    assert name == workflow_type
    assert checked == {"anything": 1}


@pytest.mark.parametrize("workflow_type", ["FaceswapNode", "AvatarInferenceNode"])
def test_known_workflow_types_are_accepted_as_they_are(workflow_type: str) -> None:
    workflow_input = (
        FACESWAP_INPUT
        if workflow_type == "FaceswapNode"
        else {"avatar": {"avatar_id": "a1"}, "audio_list": [{"audio_url": "https://e.com/a.wav"}]}
    )

    assert validate_workflow(workflow_type, workflow_input) == (workflow_type, workflow_input)
