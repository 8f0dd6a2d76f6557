"""
Property-based: whatever a server (or a proxy in front of it) answers (malformed JSON, HTML error pages,
missing or wrongly typed fields, unknown statuses, empty, huge or endlessly nested bodies, slow drips,
broken or lying framing, redirects), the hooks and the trigger return a result or raise a ``HeyGenError``:
never an unhandled ``KeyError``/``TypeError``, never a wait past their timeouts, never a second submission
after an answer that may mean HeyGen took the first one, and an unknown status means "keep polling".
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from airflow_heygen.api import MAX_RESPONSE_BYTES
from airflow_heygen.exceptions import HeyGenError
from airflow_heygen.hooks.heygen import HeyGenAsyncHook, HeyGenHook
from airflow_heygen.models import ExecutionStatus
from airflow_heygen.triggers.heygen import HeyGenExecutionTrigger
from tests.reliability.support import heygen_connection
from tests.support.scripted_server import Answer, ScriptedServer, scripted_server

PROPERTY = settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
API_KEY = "k-bad-responses"
RETRY_LIMIT = 1
REQUEST_TIMEOUT = 0.3
MAX_DELAY = 0.02
LARGEST_RETRY_AFTER = 0.2
# Each attempt may take up to two request timeouts (the socket's own wait, then the body deadline).
BUDGET = (RETRY_LIMIT + 1) * 2 * REQUEST_TIMEOUT + RETRY_LIMIT * (MAX_DELAY + LARGEST_RETRY_AFTER)
SLACK = 1.5
TERMINAL = {"completed", "failed", "not_found"}
COMPLETED = Answer(
    200, json.dumps({"data": {"status": "completed", "output": {"video_url": "https://v/x.mp4"}}}).encode()
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
statuses = st.one_of(
    json_values,
    st.sampled_from(
        ["completed", "failed", "not_found", "processing", "submitted", " COMPLETED ", "Failed", ""]
    ),
    st.text(max_size=15),
)
data_objects = st.fixed_dictionaries(
    {},
    optional={
        "status": statuses,
        "execution_id": json_values,
        "workflow_type": json_values,
        "output": st.one_of(
            json_values, st.fixed_dictionaries({}, optional={"video_url": json_values, "video": json_values})
        ),
        "error": st.one_of(json_values, st.fixed_dictionaries({}, optional={"message": json_values})),
    },
)
documents = st.one_of(
    json_values,
    st.fixed_dictionaries({"data": st.one_of(json_values, data_objects)}, optional={"error": json_values}),
)
html_pages = st.text(max_size=40).map(
    lambda title: (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>502 Bad Gateway</h1>"
        "<hr>nginx</body></html>".encode()
    )
)
huge = st.integers(min_value=1, max_value=2 * MAX_RESPONSE_BYTES).map(
    lambda extra: b'{"data": {"status": "processing", "pad": "' + b"x" * (MAX_RESPONSE_BYTES + extra) + b'"}}'
)
deep = st.integers(min_value=2_000, max_value=200_000).map(lambda depth: b"[" * depth + b"]" * depth)
bodies = st.one_of(
    documents.map(lambda document: json.dumps(document).encode()),
    st.binary(max_size=200),
    html_pages,
    st.just(b""),
    huge,
    deep,
)
statuses_codes = st.sampled_from(
    [200, 200, 200, 201, 204, 301, 302, 307, 400, 401, 403, 404, 409, 418, 429, 500, 502, 503, 504]
)
short_retry_afters = st.sampled_from(["", "soon", "0", "0.2", "-3", "nan", "Wed, 21 Oct 2015 07:28:00 GMT"])
# Beyond any deadline here: honoured up to the policy's cap (120 s), but never past a caller's deadline.
long_retry_afters = st.sampled_from(["3600", "1e400", "Wed, 21 Oct 2099 07:28:00 GMT"])
content_types = st.sampled_from(["application/json", "text/html; charset=utf-8", "application/octet-stream"])
raw_answers = st.sampled_from(
    [
        b"",
        b"garbage\r\n\r\n",
        b"HTTP/1.1 999 Weird\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope",
    ]
)


@st.composite
def answers(draw: st.DrawFn, retry_afters: st.SearchStrategy[str] = short_retry_afters) -> Answer:
    """
    Any answer a broken server or proxy could give.

    :param retry_afters: the ``Retry-After`` values it may send.
    """
    kind = draw(st.sampled_from(["plain", "plain", "plain", "drip", "lie", "raw"]))
    if kind == "raw":
        return Answer(raw=draw(raw_answers))
    status, body = draw(statuses_codes), draw(bodies)
    headers = [("Content-Type", draw(content_types))]
    if draw(st.booleans()):
        headers.append(("Retry-After", draw(retry_afters)))
    if status in (301, 302, 307):
        headers.append(
            ("Location", draw(st.sampled_from(["http://elsewhere.test/steal", "/v1/other", "ftp://x"])))
        )
    if kind == "drip":  # long enough to outlast the request timeout, a byte every 50 ms
        return Answer(status, body.ljust(40, b" "), tuple(headers), drip=0.05)
    if kind == "lie":  # announces more than it sends, then closes
        return Answer(status, body, tuple(headers), announced=len(body) + draw(st.integers(1, 10_000)))
    return Answer(status, body, tuple(headers))


def certainly_refused(answer: Answer) -> bool:
    """
    Whether ``answer`` says for sure that a submission was not taken: a whole, well-formed 429 or 5xx other
    than 504 (a gateway that gave up waiting for HeyGen, which may have taken it).

    The hook reads no more than :data:`MAX_RESPONSE_BYTES` of a body: a body that arrives past that cap
    before the connection closes short of its announced length was, as far as any client can tell, whole.

    :param answer: the first answer to a submission.
    """
    honest = answer.announced is None or len(answer.body) > MAX_RESPONSE_BYTES
    whole = answer.raw is None and honest and not answer.drip
    return whole and (answer.status == 429 or (500 <= answer.status < 600 and answer.status != 504))


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    """The misbehaving HeyGen; ``heygen_default`` points at it with one retry and 0.3 s timeouts."""
    with scripted_server() as scripted, pytest.MonkeyPatch.context() as patch:
        connection = heygen_connection(
            scripted.url,
            API_KEY,
            retry_limit=RETRY_LIMIT,
            retry_min_delay=0.01,
            retry_max_delay=MAX_DELAY,
            request_timeout=REQUEST_TIMEOUT,
            # Submissions are POSTs: the same short timeout, so that BUDGET bounds them too.
            create_timeout=REQUEST_TIMEOUT,
        )
        patch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", connection)
        yield scripted


def assert_key_stayed_home(server: ScriptedServer) -> None:
    """Every request reached the scripted server itself (redirects were not followed anywhere)."""
    assert all(request.headers.get("X-Api-Key") == API_KEY for request in server.received)
    assert all(request.path.startswith("/v1/workflows/executions") for request in server.received)


@PROPERTY
@given(answer=answers())
def test_reading_an_execution_survives_any_answer(server: ScriptedServer, answer: Answer) -> None:
    server.reset([], answer)
    started = time.monotonic()
    try:
        execution = HeyGenHook().get_execution("node-gw-any")
    except HeyGenError as err:
        assert "node-gw-any" in str(err) or "HeyGen" in str(err)
    else:
        assert isinstance(execution.status, ExecutionStatus)
    assert time.monotonic() - started < BUDGET + SLACK
    assert len(server.received) <= RETRY_LIMIT + 1
    assert_key_stayed_home(server)


@PROPERTY
@given(answer=answers())
def test_the_async_hook_survives_any_answer(server: ScriptedServer, answer: Answer) -> None:
    async def read() -> None:
        hook = HeyGenAsyncHook()
        async with hook.session() as http:
            try:
                execution = await hook.get_execution(http, "node-gw-any")
            except HeyGenError:
                return
            assert isinstance(execution.status, ExecutionStatus)

    server.reset([], answer)
    started = time.monotonic()
    asyncio.run(read())
    assert time.monotonic() - started < BUDGET + SLACK
    # aiohttp itself sends a GET again, once, when a server drops a kept-alive connection unanswered.
    assert len(server.received) <= 2 * (RETRY_LIMIT + 1)
    assert_key_stayed_home(server)


@PROPERTY
@given(answer=answers(st.one_of(short_retry_afters, long_retry_afters)))
def test_the_trigger_yields_exactly_one_event_whatever_the_answers(
    server: ScriptedServer, answer: Answer
) -> None:
    async def events() -> list[dict[str, Any]]:
        trigger = HeyGenExecutionTrigger("node-gw-any", poll_interval=0.05, deadline=time.time() + 1.0)
        return [event.payload async for event in trigger.run()]

    server.reset([], answer)
    started = time.monotonic()
    (event,) = asyncio.run(events())
    # The deadline gets one last poll, which may take one full budget.
    assert time.monotonic() - started < 1.0 + BUDGET + SLACK
    assert event["status"] in {"success", "failed", "not_found", "timeout", "error"}
    assert event["execution_id"] == "node-gw-any"
    json.dumps(event)  # trigger events are stored as JSON
    assert_key_stayed_home(server)


@PROPERTY
@given(answer=answers())
# A 429 whose body outgrows the cap, then stops short of its announced length: retried (a full run drew it).
@example(
    answer=Answer(429, b'{"pad": "' + b"x" * MAX_RESPONSE_BYTES + b'"}', announced=MAX_RESPONSE_BYTES + 99)
)
# The same lie within the cap: the broken answer may mean HeyGen took it.
@example(answer=Answer(429, b'{"error": {"message": "slow down"}}', announced=99))
def test_a_submission_is_never_repeated_after_an_answer_that_may_mean_it_was_taken(
    server: ScriptedServer, answer: Answer
) -> None:
    server.reset([answer], Answer(200, b'{"data": {"execution_id": "node-gw-ok", "status": "submitted"}}'))
    started = time.monotonic()
    try:
        execution_id = HeyGenHook().submit_workflow("FaceswapNode", {"source_image_url": "https://x/a.jpg"})
    except HeyGenError:
        execution_id = None
    posts = [request for request in server.received if request.method == "POST"]
    assert time.monotonic() - started < BUDGET + SLACK
    if not certainly_refused(answer):
        assert len(posts) == 1, f"resubmitted after {answer.status} {answer.body[:60]!r}"
    else:
        assert len(posts) == 2 and execution_id == "node-gw-ok"
    assert_key_stayed_home(server)


def test_waiting_in_the_worker_never_sleeps_past_the_timeout_whatever_retry_after_says(
    server: ScriptedServer,
) -> None:
    rate_limited = Answer(429, b'{"error": {"message": "slow down"}}', (("Retry-After", "3600"),))
    server.reset([], rate_limited)
    started = time.monotonic()
    with pytest.raises(HeyGenError, match=r"node-gw-any: .*HeyGenExecutionSensor"):
        HeyGenHook().wait_for_execution("node-gw-any", poll_interval=0.05, timeout=1.0)
    assert time.monotonic() - started < 1.0 + BUDGET + SLACK


unknown_statuses = st.one_of(
    json_values.filter(lambda value: not isinstance(value, str)),
    st.text(max_size=20).filter(lambda text: text.strip().lower() not in TERMINAL),
)


@PROPERTY
@given(polls=st.lists(unknown_statuses, min_size=1, max_size=4))
def test_unknown_statuses_keep_the_worker_polling(server: ScriptedServer, polls: list[Any]) -> None:
    server.reset(
        [Answer(200, json.dumps({"data": {"status": status}}).encode()) for status in polls], COMPLETED
    )
    execution = HeyGenHook().wait_for_execution("node-gw-any", poll_interval=0.01, timeout=30)
    assert execution.status is ExecutionStatus.COMPLETED
    assert len(server.received) == len(polls) + 1


@PROPERTY
@given(polls=st.lists(unknown_statuses, min_size=1, max_size=4))
def test_unknown_statuses_keep_the_trigger_polling(server: ScriptedServer, polls: list[Any]) -> None:
    async def events() -> list[dict[str, Any]]:
        trigger = HeyGenExecutionTrigger("node-gw-any", poll_interval=0.01, deadline=time.time() + 30)
        return [event.payload async for event in trigger.run()]

    server.reset(
        [Answer(200, json.dumps({"data": {"status": status}}).encode()) for status in polls], COMPLETED
    )
    (event,) = asyncio.run(events())
    assert event["status"] == "success"
    assert len(server.received) == len(polls) + 1
