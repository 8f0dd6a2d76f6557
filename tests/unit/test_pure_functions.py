"""
Property tests of the pure functions under the hooks and operators: how a response is read, how an
input is checked, how a status is parsed, how a request is fingerprinted, how text is scrubbed and how
long a retry waits. Fast (no sockets); the socket-level tests prove the wiring.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_heygen.answers import read_response
from airflow_heygen.api import ConnectionSettings, Retry, RetryPolicy
from airflow_heygen.exceptions import HeyGenError, HeyGenInputError, HeyGenUnavailableError
from airflow_heygen.job import job_from_single
from airflow_heygen.state import fingerprint
from airflow_heygen.transport import Transport
from airflow_heygen.validation import validate_workflow

KEY = "k3y-AbC123-never-shown"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    status=st.integers(100, 699),
    body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()),
)
def test_any_response_is_read_as_data_a_retry_or_a_heygen_error(status: int, body: bytes) -> None:
    try:
        outcome = read_response(status, body, None, not_found_ok=True)
    except HeyGenError as err:
        assert status < 200 or (300 <= status < 500 and status not in (404, 429)), "1xx, 3xx, 4xx refuse"
        assert len(str(err)) < 600, "messages stay short whatever the body"
        return
    if isinstance(outcome, Retry):
        assert status == 429 or status >= 500 or 200 <= status < 300
    else:
        assert status == 404 or 200 <= status < 300
        assert isinstance(outcome, dict) or hasattr(outcome, "keys")


@settings(max_examples=200, deadline=None)
@given(prefix=st.text(max_size=40), suffix=st.text(max_size=40), status=st.sampled_from([400, 422, 500, 503]))
def test_the_key_never_survives_in_what_is_read_from_a_body(prefix: str, suffix: str, status: int) -> None:
    body = f"{prefix}X-Api-Key: {KEY}{suffix}".encode()
    try:
        outcome = read_response(status, body, None, not_found_ok=False, secret=KEY)
        text = outcome.reason if isinstance(outcome, Retry) else json.dumps(outcome)
    except HeyGenError as err:
        text = str(err)
    assert KEY not in text


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_scrub_removes_every_copy_of_the_key(text: str) -> None:
    settings_ = ConnectionSettings(base_url="https://h", api_key=KEY)
    scrubbed = settings_.scrub(f"{text}{KEY}{text}{KEY}")
    assert KEY not in scrubbed
    assert scrubbed.count("***") >= 2


@given(raw=json_values)
def test_any_status_value_parses_and_only_known_ones_end_the_wait(raw: object) -> None:
    status = job_from_single("workflow", {"status": raw}, "e").status
    if status.is_terminal:
        assert isinstance(raw, str) and raw.strip().lower() in ("completed", "failed", "not_found")


@given(request=st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_fingerprints_ignore_key_order_and_see_every_value(request: dict[str, object]) -> None:
    reordered = dict(reversed(list(request.items())))
    assert fingerprint(request) == fingerprint(reordered)
    assert len(fingerprint(request)) == 32
    changed = {**request, "__extra__": 1}
    assert fingerprint(changed) != fingerprint(request)


@settings(max_examples=200, deadline=None)
@given(source=st.text(max_size=30), target=st.text(max_size=30))
def test_a_faceswap_input_is_accepted_only_with_two_http_urls(source: str, target: str) -> None:
    try:
        workflow_type, checked = validate_workflow(
            "FaceswapNode", {"source_image_url": source, "target_video_url": target}
        )
    except HeyGenInputError as err:
        assert err.field in ("input.source_image_url", "input.target_video_url"), err.field
        return
    assert workflow_type == "FaceswapNode"
    assert all(url.startswith(("http://", "https://")) for url in checked.values())


@given(
    retries=st.integers(0, 20),
    retry_after=st.none() | st.floats(0, 10_000),
    remaining=st.none() | st.floats(-5, 1_000),
)
def test_a_retry_never_waits_past_the_deadline_or_the_budget(
    retries: int, retry_after: float | None, remaining: float | None
) -> None:
    policy = RetryPolicy(max_retries=5, min_delay=1, max_delay=30, max_retry_after=120)
    try:
        delay = policy.next_delay(retries, "HTTP 503", retry_after, remaining)
    except HeyGenUnavailableError:
        assert retries >= 5 or (remaining is not None and remaining <= 0)
        return
    assert 0 <= delay <= max(30, min(retry_after or 0, 120))
    if remaining is not None:
        assert delay <= remaining


@given(
    verify=st.sampled_from([True, False, "true", "False", "/etc/ca.pem"]),
    trust_env=st.sampled_from([True, False, "false"]),
)
def test_transport_extras_parse_like_the_http_provider_reads_them(verify: object, trust_env: object) -> None:
    transport = Transport.from_extra({"verify": verify, "trust_env": trust_env, "cert": ["/c.pem", "/k.pem"]})
    assert transport.verify in (True, False, "/etc/ca.pem")
    assert transport.verify == (
        verify if not isinstance(verify, str) or "/" in verify else verify.lower() == "true"
    )
    assert transport.trust_env is (trust_env is True)
    assert transport.cert == ("/c.pem", "/k.pem")
    assert (transport.ca_bundle() is None) == (transport.verify is False)
