"""
Property-based: whatever wrong value reaches a HeyGen operator or the sensor (non-URLs, other schemes,
empty, huge, non-strings, templates rendering to the wrong type), the task fails with a
``HeyGenInputError`` (a ``ValueError`` that Airflow does not retry) naming the field, and nothing is sent.
"""

from __future__ import annotations

import math
import string
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.operators.heygen import AvatarInferenceOperator, FaceswapOperator, HeyGenWorkflowOperator
from airflow_heygen.sensors.heygen import HeyGenExecutionSensor
from airflow_heygen.validation import MAX_INPUT_BYTES, MAX_URL_LENGTH
from tests.reliability.support import heygen_connection
from tests.support.scripted_server import ScriptedServer, scripted_server

PROPERTY = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
GOOD_URL = "https://media.example.test/a.jpg"
HOST = "https://media.example.test/"

non_strings = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=20),
    st.lists(st.just(GOOD_URL), max_size=2),
    st.dictionaries(st.just("url"), st.just(GOOD_URL), max_size=1),
)
blank = st.text(alphabet=" \t\r\n", max_size=5)
# Without "://" nothing can be an absolute URL with a host.
no_scheme = st.text(min_size=1, max_size=60).filter(lambda s: "://" not in s and bool(s.strip()))
other_scheme = st.one_of(
    st.sampled_from(["ftp", "file", "javascript", "data", "s3", "gs", "ws", "wss", "httpx", "htps"]),
    st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=8).filter(
        lambda s: s not in ("http", "https")
    ),
).map(lambda scheme: f"{scheme}://media.example.test/a.jpg")
huge = st.integers(min_value=MAX_URL_LENGTH - len(HOST) + 1, max_value=50_000).map(lambda n: HOST + "a" * n)
with_whitespace = st.tuples(
    st.text(alphabet=string.ascii_letters, max_size=10),
    st.sampled_from([" ", "\t", "\n", "\r", "\x00", "\x1b", "\u2003"]),
    st.text(alphabet=string.ascii_letters, max_size=10),
).map(lambda parts: f"{HOST}{parts[0]}{parts[1]}{parts[2]}")
no_host = st.sampled_from(
    ["https://", "http:///a.jpg", "https://:443/a.jpg", "http://@/a", "https://?q", "http://[::1"]
)
bad_urls = st.one_of(non_strings, blank, no_scheme, other_scheme, huge, with_whitespace, no_host)
# Inside an input object a value must first be JSON (else the error names "input" as a whole).
json_bad_urls = bad_urls.filter(
    lambda v: not isinstance(v, bytes) and not (isinstance(v, float) and not math.isfinite(v))
)
bad_texts = st.one_of(non_strings, blank)
bad_numbers = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=5),
    st.integers(max_value=0),
    st.floats(max_value=0),
    st.sampled_from([math.nan, math.inf, -math.inf]),
)


@pytest.fixture(scope="module")
def heygen() -> Iterator[ScriptedServer]:
    """The HeyGen the operators would talk to (``heygen_default``); it must never hear from them."""
    with scripted_server() as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection(server.url, "k-never-used"))
        yield server


def refused(operator: Any, field: str, server: ScriptedServer) -> None:
    """
    Assert that running ``operator`` fails on ``field`` before any request.

    :param operator: the operator (templates already rendered).
    :param field: the field the error must name.
    :param server: the HeyGen that must not have been called.
    """
    with pytest.raises(HeyGenInputError) as caught:
        operator.execute({})
    assert isinstance(caught.value, ValueError)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert len(str(caught.value)) < 400, "a huge value is never echoed whole"
    assert server.received == []


@PROPERTY
@given(field=st.sampled_from(["source_image_url", "target_video_url"]), value=bad_urls)
def test_faceswap_refuses_every_bad_url(heygen: ScriptedServer, field: str, value: object) -> None:
    arguments: dict[str, Any] = {"source_image_url": GOOD_URL, "target_video_url": GOOD_URL, field: value}
    refused(FaceswapOperator(task_id="swap", **arguments), field, heygen)


@PROPERTY
@given(
    case=st.one_of(
        bad_urls.map(lambda url: ({"audio_urls": url}, "audio_urls[0]")).filter(
            lambda case: isinstance(case[0]["audio_urls"], str)
        ),
        st.tuples(st.lists(st.just(GOOD_URL), max_size=3), bad_urls).map(
            lambda pair: ({"audio_urls": [*pair[0], pair[1]]}, f"audio_urls[{len(pair[0])}]")
        ),
        st.one_of(st.none(), st.integers(), st.just([]), st.just(())).map(
            lambda value: ({"audio_urls": value}, "audio_urls")
        ),
        bad_texts.map(lambda value: ({"avatar_id": value}, "avatar_id")),
        st.one_of(st.text(max_size=5), st.integers(), st.lists(st.integers(), max_size=2)).map(
            lambda value: ({"extra_input": value}, "extra_input")
        ),
        json_bad_urls.map(
            lambda url: ({"extra_input": {"background": {"image_url": url}}}, "input.background.image_url")
        ),
    )
)
def test_avatar_inference_refuses_every_bad_input(
    heygen: ScriptedServer, case: tuple[dict[str, Any], str]
) -> None:
    changes, field = case
    arguments = {"avatar_id": "Angela-inblackskirt-20220820", "audio_urls": GOOD_URL, **changes}
    refused(AvatarInferenceOperator(task_id="avatar", **arguments), field, heygen)


class Unserialisable:
    """A value json.dumps cannot encode."""


@PROPERTY
@given(
    case=st.one_of(
        bad_texts.map(lambda value: ({"workflow_type": value}, "workflow_type")),
        st.one_of(st.text(max_size=5), st.integers(), st.lists(st.integers(), max_size=2)).map(
            lambda value: ({"input": value}, "input")
        ),
        st.sampled_from([math.nan, math.inf, {1, 2}, Unserialisable(), b"bytes"]).map(
            lambda value: ({"input": {"value": value}}, "input")
        ),
        st.integers(min_value=MAX_INPUT_BYTES, max_value=MAX_INPUT_BYTES * 4).map(
            lambda n: ({"input": {"text": "x" * n}}, "input")
        ),
        st.tuples(st.lists(st.sampled_from(["a", "b", "c"]), max_size=3), json_bad_urls).map(
            lambda pair: (
                {"input": nest(pair[0], {"video_url": pair[1]})},
                ".".join(["input", *pair[0], "video_url"]),
            )
        ),
    )
)
def test_the_generic_operator_refuses_every_bad_request(
    heygen: ScriptedServer, case: tuple[dict[str, Any], str]
) -> None:
    changes, field = case
    arguments = {"workflow_type": "SomeNewNode", "input": {"video_url": GOOD_URL}, **changes}
    refused(HeyGenWorkflowOperator(task_id="workflow", **arguments), field, heygen)


def nest(keys: list[str], leaf: dict[str, Any]) -> dict[str, Any]:
    """
    ``leaf`` under the keys, outermost first.

    :param keys: the path.
    :param leaf: the innermost object.
    """
    for key in reversed(keys):
        leaf = {key: leaf}
    return leaf


@PROPERTY
@given(value=bad_texts)
def test_the_sensor_refuses_a_bad_execution_id(heygen: ScriptedServer, value: object) -> None:
    sensor = HeyGenExecutionSensor(task_id="wait", execution_id=value, poll_interval=0.01, timeout=1)  # type: ignore[arg-type]
    refused(sensor, "execution_id", heygen)


@PROPERTY
@given(field=st.sampled_from(["poll_interval", "timeout"]), value=bad_numbers)
def test_bad_waiting_settings_are_refused_when_the_dag_is_parsed(field: str, value: object) -> None:
    for make in (
        lambda: FaceswapOperator(
            task_id="swap", source_image_url=GOOD_URL, target_video_url=GOOD_URL, **{field: value}
        ),
        lambda: HeyGenExecutionSensor(task_id="wait", execution_id="node-gw-1", **{field: value}),
    ):
        with pytest.raises(HeyGenInputError) as caught:
            make()
        assert caught.value.field == field


@PROPERTY
@given(
    field=st.sampled_from(["source_image_url", "target_video_url"]), value=st.one_of(bad_urls, st.just(None))
)
@pytest.mark.parametrize("native", [True, False], ids=["native-templates", "string-templates"])
def test_templates_that_render_to_a_bad_value_are_refused(
    heygen: ScriptedServer, native: bool, field: str, value: object
) -> None:
    from airflow.sdk import DAG

    with DAG("templated", schedule=None, render_template_as_native_obj=native) as dag:
        arguments = {"source_image_url": GOOD_URL, "target_video_url": GOOD_URL, field: "{{ params.value }}"}
        operator = FaceswapOperator(task_id="swap", **arguments)
    operator.render_template_fields({"params": {"value": value}}, dag.get_template_env())  # type: ignore[arg-type]
    refused(operator, field, heygen)
