"""Operator arguments are checked before anything is sent; results and parse cost."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.job import Job, job_from_single
from airflow_heygen.kinds import JobStatus, find_video_url
from airflow_heygen.operators.heygen import AvatarInferenceOperator, FaceswapOperator, HeyGenWorkflowOperator
from airflow_heygen.sensors.heygen import HeyGenExecutionSensor
from tests.support.fake_heygen import FakeHeyGen

GOOD = "https://example.com/a.jpg"


@pytest.mark.parametrize(
    ("kwargs", "field", "problem"),
    [
        ({"source_image_url": "ftp://example.com/a.jpg"}, "source_image_url", "http(s)"),
        ({"source_image_url": "example.com/a.jpg"}, "source_image_url", "no scheme"),
        ({"source_image_url": ""}, "source_image_url", "source_image_url: is required"),
        ({"source_image_url": None}, "source_image_url", "source_image_url: is required"),
        ({"source_image_url": ["https://x/a.jpg"]}, "source_image_url", "must be a string, got list"),
        ({"target_video_url": "https:///nohost.mp4"}, "target_video_url", "with a host"),
        ({"target_video_url": "https://e.com/a b.mp4"}, "target_video_url", "whitespace"),
        ({"target_video_url": "https://e.com/" + "a" * 3000}, "target_video_url", "at most 2048"),
    ],
)
def test_faceswap_rejects_bad_urls_before_any_request(
    heygen_conn: FakeHeyGen, kwargs: dict[str, Any], field: str, problem: str
) -> None:
    arguments = {"source_image_url": GOOD, "target_video_url": GOOD, **kwargs}
    operator = FaceswapOperator(task_id="swap", **arguments)

    with pytest.raises(HeyGenInputError) as caught:
        operator.execute({})  # type: ignore[arg-type]

    assert caught.value.field == field
    assert problem in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert heygen_conn.requests == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"avatar_id": "  "}, "avatar_id"),
        ({"audio_urls": []}, "audio_urls"),
        ({"audio_urls": 42}, "audio_urls"),
        ({"audio_urls": [GOOD, "file:///etc/passwd"]}, "audio_urls[1]"),
        ({"extra_input": "dimension=720p"}, "extra_input"),
        ({"extra_input": {"background_url": "javascript:alert(1)"}}, "input.background_url"),
    ],
)
def test_avatar_inference_rejects_bad_input(
    heygen_conn: FakeHeyGen, kwargs: dict[str, Any], field: str
) -> None:
    operator = AvatarInferenceOperator(
        task_id="avatar", **{"avatar_id": "Angela", "audio_urls": GOOD, **kwargs}
    )
    with pytest.raises(HeyGenInputError) as caught:
        operator.execute({})  # type: ignore[arg-type]
    assert caught.value.field == field
    assert heygen_conn.requests == []


def test_avatar_inference_builds_the_documented_input() -> None:
    operator = AvatarInferenceOperator(
        task_id="avatar",
        avatar_id="Angela",
        audio_urls=[GOOD, GOOD + "?2"],
        extra_input={"dimension": {"w": 1}},
    )
    assert operator.workflow_input() == {
        "dimension": {"w": 1},
        "avatar": {"avatar_id": "Angela"},
        "audio_list": [{"audio_url": GOOD}, {"audio_url": GOOD + "?2"}],
    }
    single = AvatarInferenceOperator(task_id="one", avatar_id="Angela", audio_urls=GOOD)
    assert single.workflow_input()["audio_list"] == [{"audio_url": GOOD}]


@pytest.mark.parametrize(
    ("workflow_type", "workflow_input", "field"),
    [
        ("", {}, "workflow_type"),
        ("FaceswapNode", {"source_image_url": GOOD}, "input.target_video_url"),
        ("FaceswapNode", "not a dict", "input"),
        (
            "AvatarInferenceNode",
            {"avatar": {"avatar_id": "a"}, "audio_list": [{"audio_url": 3}]},
            "input.audio_list[0].audio_url",
        ),
        ("FutureNode", {"nested": [{"mask_url": "s3://bucket/m.png"}]}, "input.nested[0].mask_url"),
        ("FutureNode", {"when": object()}, "input"),
    ],
)
def test_generic_operator_validates_known_and_future_types(
    heygen_conn: FakeHeyGen, workflow_type: str, workflow_input: Any, field: str
) -> None:
    operator = HeyGenWorkflowOperator(task_id="w", workflow_type=workflow_type, input=workflow_input)
    with pytest.raises(HeyGenInputError) as caught:
        operator.execute({})  # type: ignore[arg-type]
    assert caught.value.field == field
    assert heygen_conn.requests == []


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), "10", True])
@pytest.mark.parametrize("argument", ["poll_interval", "timeout"])
def test_timing_arguments_are_checked_when_the_dag_is_parsed(argument: str, value: Any) -> None:
    with pytest.raises(HeyGenInputError, match=argument):
        FaceswapOperator(task_id="s", source_image_url=GOOD, target_video_url=GOOD, **{argument: value})
    with pytest.raises(HeyGenInputError, match=argument):
        HeyGenExecutionSensor(task_id="w", execution_id="x", **{argument: value})


def test_every_input_renders_from_templates() -> None:
    context: Any = {"params": {"face": "https://e.com/ada.jpg", "id": "node-gw-7"}, "ds": "2026-01-02"}
    swap = FaceswapOperator(
        task_id="swap",
        source_image_url="{{ params.face }}",
        target_video_url="https://e.com/{{ ds }}.mp4",
        heygen_conn_id="heygen_{{ ds[:4] }}",
    )
    avatar = AvatarInferenceOperator(
        task_id="avatar",
        avatar_id="a-{{ ds }}",
        audio_urls=["https://e.com/{{ ds }}.wav"],
        extra_input={"caption": "{{ params.id }}"},
    )
    workflow = HeyGenWorkflowOperator(
        task_id="any", workflow_type="{{ 'Faceswap' }}Node", input={"source_image_url": "{{ params.face }}"}
    )
    sensor = HeyGenExecutionSensor(task_id="wait", execution_id="{{ params.id }}")
    for operator in (swap, avatar, workflow, sensor):
        operator.render_template_fields(context)

    assert swap.workflow_input() == {
        "source_image_url": "https://e.com/ada.jpg",
        "target_video_url": "https://e.com/2026-01-02.mp4",
    }
    assert swap.heygen_conn_id == "heygen_2026"
    assert avatar.workflow_input() == {
        "caption": "node-gw-7",
        "avatar": {"avatar_id": "a-2026-01-02"},
        "audio_list": [{"audio_url": "https://e.com/2026-01-02.wav"}],
    }
    assert (workflow.workflow_type, workflow.input) == (
        "FaceswapNode",
        {"source_image_url": "https://e.com/ada.jpg"},
    )
    assert sensor.execution_id == "node-gw-7"


def test_result_shape_and_video_url_fallbacks() -> None:
    output = {"video_url": "https://v/1.mp4"}
    completed = Job("workflow", "e1", JobStatus.COMPLETED, output={"output": output}).typed("FaceswapNode")
    assert Job.from_result(completed.to_result()).to_result() == completed.to_result()
    assert completed.to_result() == {
        "execution_id": "e1",
        "workflow_type": "FaceswapNode",
        "status": "completed",
        "video_url": "https://v/1.mp4",
        "output": {"video_url": "https://v/1.mp4"},
    }
    assert find_video_url({"video": {"video_url": "https://v/2.mp4"}}, None) == "https://v/2.mp4"
    assert find_video_url({"video": {"video_url": "https://v/3.mp4"}}, "SomeFutureNode") == "https://v/3.mp4"
    assert find_video_url({"video": "not a dict"}, "AvatarInferenceNode") is None


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("completed", "completed"),
        ("COMPLETED", "completed"),
        ("processing", "running"),
        ("queued", "running"),
        (None, "running"),
        (42, "running"),
        ("not_found", "not_found"),
        ("failed", "failed"),
    ],
)
def test_unknown_statuses_mean_still_running(raw: object, status: str) -> None:
    assert job_from_single("workflow", {"status": raw}, "e").status.value == status


def test_importing_operators_pulls_in_nothing_heavy() -> None:
    code = (
        "import sys; import airflow_heygen.operators.heygen, airflow_heygen.sensors.heygen; "
        # The OpenLineage client and our facets load only when the listener asks for lineage; the view's
        # plugin only in the api-server.
        "heavy = {'aiohttp', 'requests', 'cv2', 'av', 'numpy', 'fastapi', 'starlette', "
        "'airflow_heygen.hooks.heygen', 'airflow_heygen.plugins', 'openlineage', "
        "'airflow_heygen.lineage.facets'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
