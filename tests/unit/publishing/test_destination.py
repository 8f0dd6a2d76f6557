"""Destination checks and the Asset URI of a published file: pure functions, property-tested."""

from __future__ import annotations

import string
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.publishing import published_uri, resolve_destination, shown_url, url_origin

FAST = settings(max_examples=60, deadline=None, database=None)
# Names a templated destination may really contain: letters, digits, spaces, dots, dashes, percent signs.
NAME = st.text(string.ascii_letters + string.digits + " ._-%é", min_size=1, max_size=12).filter(
    lambda name: name.strip() == name and name not in (".", "..") and "%2e%2e" not in name.lower()
)
FOLDERS = st.lists(NAME, max_size=4)


@pytest.fixture(scope="module", autouse=True)
def memory_store() -> None:
    """``memory://`` as an object store, the way ``airflow.sdk.io.attach`` registers one."""
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    attach(protocol="memory", fs=MemoryFileSystem())


def stub(protocol: str, path: str) -> Any:
    """What ``published_uri`` reads of an ``ObjectStoragePath``, as some universal-pathlib has it."""
    return SimpleNamespace(protocol=protocol, path=path)


@pytest.mark.parametrize(
    ("protocol", "path", "uri"),
    [
        ("memory", "/bucket/videos/v.mp4", "memory://bucket/videos/v.mp4"),  # universal-pathlib < 0.2
        ("memory", "bucket/videos/v.mp4", "memory://bucket/videos/v.mp4"),  # and later
        ("s3", "bucket/videos/v.mp4", "s3://bucket/videos/v.mp4"),
        ("gs", "bucket/v.mp4", "gs://bucket/v.mp4"),
        ("file", "/data/videos/v.mp4", "file:///data/videos/v.mp4"),
        ("", "/data/videos/v.mp4", "file:///data/videos/v.mp4"),
        ("local", "/data/v.mp4", "file:///data/v.mp4"),
    ],
)
def test_the_uri_does_not_depend_on_how_the_path_library_spells_the_path(
    protocol: str, path: str, uri: str
) -> None:
    assert published_uri(stub(protocol, path)) == uri


def test_the_connection_id_is_not_part_of_the_uri() -> None:
    path = resolve_destination("s3://aws_default@bucket/videos/v.mp4")

    assert path.conn_id == "aws_default"
    assert published_uri(path) == "s3://bucket/videos/v.mp4"


@FAST
@given(folders=FOLDERS, name=NAME)
def test_a_local_destination_is_named_by_its_absolute_path(folders: list[str], name: str) -> None:
    text = "/" + "/".join([*folders, name])

    for given_as in (text, f"file://{text}"):
        path = resolve_destination(given_as)
        assert published_uri(path) == f"file://{text}"
        assert path.path == text


@FAST
@given(bucket=NAME.filter(lambda b: "%" not in b and " " not in b), folders=FOLDERS, name=NAME)
def test_an_object_store_uri_is_protocol_bucket_and_key(bucket: str, folders: list[str], name: str) -> None:
    key = "/".join([*folders, name])

    uri = published_uri(resolve_destination(f"memory://{bucket}/{key}"))

    assert uri == f"memory://{bucket}/{key}"
    assert published_uri(resolve_destination(uri)) == uri, "the URI names the same destination again"


@FAST
@given(text=st.text(max_size=40).filter(lambda text: "://" not in text))
def test_any_text_is_refused_naming_destination_or_resolves_to_a_local_file(text: str) -> None:
    try:
        path = resolve_destination(text)
    except HeyGenInputError as err:
        assert err.field == "destination"
        return
    assert text.startswith("/") and ".." not in text.split("/")
    assert published_uri(path).startswith("file:///")


@FAST
@given(
    folders=FOLDERS,
    climb=st.sampled_from(["..", "%2e%2e", "%2E%2e", ".%2E"]),
    form=st.sampled_from(["{}", "file://{}", "s3://bucket{}", "memory://bucket{}"]),
)
def test_a_climbing_segment_is_refused_in_any_form(folders: list[str], climb: str, form: str) -> None:
    text = form.format("/" + "/".join([*folders, climb, "v.mp4"]))

    with pytest.raises(HeyGenInputError, match=r"'\.\.' segments") as caught:
        resolve_destination(text)
    assert caught.value.field == "destination"


@FAST
@given(
    user=st.text(string.ascii_letters, min_size=1, max_size=8),
    token=st.text(string.ascii_uppercase + string.digits, min_size=6, max_size=20),
    path=st.text(string.ascii_lowercase + "/", max_size=20),
)
def test_a_shown_url_drops_credentials_query_and_fragment(user: str, token: str, path: str) -> None:
    url = f"https://{user}:{token}@cdn.example.com:8443/{path}?sig={token}#t={token}"

    shown = shown_url(url)

    assert shown == f"https://cdn.example.com:8443/{path}"
    assert token not in shown


@FAST
@given(text=st.text(max_size=40))
def test_shown_url_never_raises(text: str) -> None:
    assert isinstance(shown_url(text), str)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://API.HeyGen.com/v1", ("https", "api.heygen.com", 443)),
        ("http://127.0.0.1/media/v.mp4", ("http", "127.0.0.1", 80)),
        ("HTTP://127.0.0.1:8080/x", ("http", "127.0.0.1", 8080)),
    ],
)
def test_an_origin_fills_in_the_default_port(url: str, origin: tuple[str, str, int]) -> None:
    assert url_origin(url) == origin
