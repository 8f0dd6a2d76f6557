"""Dataset naming (OpenLineage's rules) and the media a request reads, without OpenLineage itself."""

from __future__ import annotations

import pytest

from airflow_heygen.lineage.datasets import (
    DatasetRef,
    heygen_namespace,
    job_dataset,
    media_inputs,
    storage_dataset,
    url_dataset,
)

API = "heygen://api.heygen.com"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://cdn.example.com/faces/ada.jpg", DatasetRef("https://cdn.example.com", "/faces/ada.jpg")),
        ("https://cdn.example.com:443/a.jpg", DatasetRef("https://cdn.example.com", "/a.jpg")),
        ("http://127.0.0.1:8765/samples/face.jpg", DatasetRef("http://127.0.0.1:8765", "/samples/face.jpg")),
        # A presigned URL's query is its credentials: never part of the name.
        (
            "https://b.s3.amazonaws.com/k.mp4?X-Amz-Signature=secret",
            DatasetRef("https://b.s3.amazonaws.com", "/k.mp4"),
        ),
        ("HTTPS://Example.COM", DatasetRef("https://example.com", "/")),
        ("http://[::1]:8080/v.mp4", DatasetRef("http://[::1]:8080", "/v.mp4")),
        ("ftp://example.com/a", None),
        ("not a url", None),
    ],
)
def test_url_datasets(url: str, expected: DatasetRef | None) -> None:
    assert url_dataset(url) == expected


def test_the_heygen_namespace_is_the_api_host_without_credentials() -> None:
    assert heygen_namespace("https://api.heygen.com") == API
    assert heygen_namespace("http://127.0.0.1:8765/") == "heygen://127.0.0.1:8765"
    assert heygen_namespace("https://user:pw@api.heygen.com:443") == API


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("workflow", "workflows/executions/e1"),
        ("video", "videos/e1"),
        ("lipsync", "lipsyncs/e1"),
        ("video_translation", "video-translations/e1"),
        ("asset", "assets/e1"),
    ],
)
def test_jobs_are_named_by_their_api_path(kind: str, name: str) -> None:
    assert job_dataset(API, kind, "e1") == DatasetRef(API, name)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/videos/v.mp4", DatasetRef("s3://bucket", "videos/v.mp4")),
        ("file:///data/videos/v.mp4", DatasetRef("file", "/data/videos/v.mp4")),
        ("file://host/data/v.mp4", DatasetRef("file://host", "/data/v.mp4")),
        ("/data/v.mp4", DatasetRef("file", "/data/v.mp4")),
        ("gs://bucket/k", DatasetRef("gs://bucket", "k")),
        ("relative/path", None),
    ],
)
def test_storage_datasets(uri: str, expected: DatasetRef | None) -> None:
    assert storage_dataset(uri) == expected


def test_a_published_file_is_named_as_airflows_own_asset_converter_names_it() -> None:
    """The publisher's Asset and its lineage output are one dataset to OpenLineage."""
    from airflow.providers.common.io.assets.file import convert_asset_to_openlineage
    from airflow.sdk import Asset

    for uri in ("file:///data/videos/v.mp4", "file://host/data/v.mp4"):
        converted = convert_asset_to_openlineage(Asset(uri=uri), None)
        assert storage_dataset(uri) == DatasetRef(converted.namespace, converted.name)


def test_media_inputs_of_a_v3_body_and_a_workflow_input() -> None:
    body = {
        "type": "avatar",
        "avatar_id": "Angela",
        "audio_url": "https://cdn.example.com/speech.wav",
        "background": {"type": "asset_id", "asset_id": "bg1"},
        "image_asset_id": "img1",
        "callback_url": "https://hooks.example.com/done",
        "video": {"type": "url", "url": "https://cdn.example.com/speech.wav"},
    }
    assert media_inputs(body, API) == [
        DatasetRef("https://cdn.example.com", "/speech.wav"),
        DatasetRef(API, "assets/bg1"),
        DatasetRef(API, "assets/img1"),
    ], "each medium once; a callback is no input"
    workflow = {
        "workflow_type": "AvatarInferenceNode",
        "input": {
            "audio_list": [
                {"audio_url": "https://a.example.com/1.wav"},
                {"audio_url": "https://a.example.com/2.wav"},
            ]
        },
    }
    assert [ref.name for ref in media_inputs(workflow, API)] == ["/1.wav", "/2.wav"]
