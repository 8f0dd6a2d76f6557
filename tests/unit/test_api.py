"""
``HEYGEN_API_URL`` (where requests go without a connection's host) must be ``http(s)://host[:port]``:
anything else is refused before a request, naming the variable, what is wrong and the form expected,
as an error no task retry repeats.
"""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_heygen.api import ConnectionSettings, default_base_url
from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.hooks.heygen import HeyGenHook
from tests.conftest import TEST_KEY

FORM = "expected http(s)://host[:port]"


def settings_without_a_host() -> ConnectionSettings:
    return ConnectionSettings.from_parts(
        "heygen_default", host=None, schema=None, port=None, password=TEST_KEY, extra={}
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("127.0.0.1:8765", "'127.0.0.1:8765' has no scheme (did you mean 'http://127.0.0.1:8765'?)"),
        ("localhost:8765", "'localhost:8765' has no scheme (did you mean 'http://localhost:8765'?)"),
        ("api.heygen.com", "'api.heygen.com' has no scheme"),
        ("http://host:1/v1", "'http://host:1/v1' has a path ('/v1')"),
        ("https://api.heygen.com/v3/", "has a path ('/v3/')"),
        ("http://host:1?debug=1", "'http://host:1?debug=1' has a query ('?debug=1')"),
        ("http://host:1/?", "has a query"),
        ("http://host:1#top", "has a fragment ('#top')"),
        ("ftp://host:1", "has the scheme 'ftp', not http or https"),
        ("http://", "'http://' has no host"),
        ("http://host:99999", "is not a valid URL"),
        ("http://host :1", "contains whitespace"),
    ],
)
def test_a_malformed_heygen_api_url_is_refused_naming_the_variable_and_the_form(
    monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setenv("HEYGEN_API_URL", value)

    with pytest.raises(HeyGenInputError) as caught:
        settings_without_a_host()

    assert caught.value.field == "HEYGEN_API_URL"
    assert problem in caught.value.problem
    assert FORM in caught.value.problem
    assert str(caught.value).startswith("HEYGEN_API_URL: ")
    assert isinstance(caught.value, AirflowFailException), "no retry makes the variable right"


def test_credentials_in_heygen_api_url_are_refused_without_echoing_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEYGEN_API_URL", "http://user:s3cret@host:1")

    with pytest.raises(HeyGenInputError, match="user name or password") as caught:
        default_base_url()

    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "base_url"),
    [
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
        ("https://api.heygen.com", "https://api.heygen.com"),
        ("  https://eu.example.com:8443/  ", "https://eu.example.com:8443"),
        ("HTTP://Host:1", "http://Host:1"),
        ("", "https://api.heygen.com"),
    ],
)
def test_a_well_formed_heygen_api_url_is_used(
    monkeypatch: pytest.MonkeyPatch, value: str, base_url: str
) -> None:
    monkeypatch.setenv("HEYGEN_API_URL", value)

    assert settings_without_a_host().base_url == base_url


def test_a_connection_with_a_host_does_not_read_heygen_api_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEYGEN_API_URL", "127.0.0.1:8765")

    settings = ConnectionSettings.from_parts(
        "heygen_default", host="https://api.heygen.com", schema=None, port=None, password=TEST_KEY, extra={}
    )

    assert settings.base_url == "https://api.heygen.com"


def test_test_connection_reports_a_malformed_heygen_api_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_HEYGEN_DEFAULT", raising=False)
    monkeypatch.setenv("HEYGEN_API_KEY", TEST_KEY)
    monkeypatch.setenv("HEYGEN_API_URL", "http://host:1/v1")

    ok, message = HeyGenHook().test_connection()

    assert not ok
    assert message.startswith("HEYGEN_API_URL: 'http://host:1/v1' has a path ('/v1')")
