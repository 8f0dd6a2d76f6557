"""
Publishing to a real S3 API (moto's server on 127.0.0.1): a video lands whole under its name, no
temporary stays, and the landing costs the store a fixed handful of requests, counted in moto's own log.
A campaign publishes thousands of videos: every request per video is paid in the worker's CPU.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.operators.heygen import HeyGenPublishVideoOperator
from tests.conftest import heygen_connection_uri
from tests.support.media_server import MediaServer, Video
from tests.system.backends import BackendMissing, MotoS3, moto_s3

BUCKET = "published"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    """moto's S3 server with one bucket."""
    try:
        with moto_s3(tmp_path_factory.mktemp("moto"), BUCKET) as server:
            yield server
    except BackendMissing as missing:
        pytest.fail(str(missing))


@pytest.fixture
def media(monkeypatch: pytest.MonkeyPatch, s3: MotoS3) -> Iterator[MediaServer]:
    """The HeyGen connection's host serving the videos, and ``aws_default`` pointing at moto."""
    from airflow.sdk.io import store

    server = MediaServer()
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri(server.url("")))
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(s3.connection()))
    # Airflow keeps one store per scheme and connection for the process: one an earlier test of this
    # process attached for ``aws_default`` (without moto's endpoint) would send these requests to AWS.
    monkeypatch.delitem(store._STORE_CACHE, "s3-aws_default", raising=False)
    yield server
    server.stop()


def requests_about(s3: MotoS3, since: int, name: str) -> list[str]:
    """The methods of the requests moto logged after the first ``since`` that name ``name``."""
    methods = (
        re.search(r'"\S*?(GET|PUT|HEAD|POST|DELETE) ', line) for line in s3.requests()[since:] if name in line
    )
    return [match.group(1) for match in methods if match]


def publish(video_url: str, destination: str, overwrite: bool = False) -> dict[str, object]:
    operator = HeyGenPublishVideoOperator(
        task_id="publish", video_url=video_url, destination=destination, overwrite=overwrite
    )
    from airflow.sdk.execution_time.context import OutletEventAccessors

    return operator.execute({"outlet_events": OutletEventAccessors()})  # type: ignore[arg-type]


def test_a_video_of_up_to_one_part_lands_whole_with_one_request(s3: MotoS3, media: MediaServer) -> None:
    media.routes["/v.mp4"] = Video(b"v" * 200_000)
    before = len(s3.requests())

    # As a campaign publishes (it checked the folder once, before paying): no existence checks.
    result = publish(media.url("/v.mp4"), f"s3://aws_default@{BUCKET}/videos/v.mp4", overwrite=True)

    assert result["bytes"] == 200_000
    assert s3.objects("videos/") == {"videos/v.mp4": 200_000}, "the video alone, no temporary left"
    # Staged and verified on the worker's disk, then one PUT of the whole object: no temporary object
    # to upload, copy and delete (four requests before), nothing listed (fsspec's mv took eight).
    about_video = requests_about(s3, before, "v.mp4")
    assert about_video == ["PUT"], about_video


def test_a_larger_video_goes_up_in_parts_to_a_temporary_then_takes_its_name(
    s3: MotoS3, media: MediaServer
) -> None:
    from airflow_heygen.publishing.staging import UPLOAD_PART_BYTES

    content = bytes(range(256)) * (UPLOAD_PART_BYTES // 256 * 2 + 1)  # two parts and a bit
    media.routes["/big.mp4"] = Video(content)
    before = len(s3.requests())

    result = publish(media.url("/big.mp4"), f"s3://aws_default@{BUCKET}/large/big.mp4", overwrite=True)

    assert result["bytes"] == len(content)
    assert s3.objects("large/") == {"large/big.mp4": len(content)}, "no temporary left"
    body = s3.client().get_object(Bucket=BUCKET, Key="large/big.mp4")["Body"].read()
    assert body == content
    # A multipart upload, completed only once whole, to the hidden temporary; never to the final key,
    # where an upload failing part-way could otherwise leave a partial object.
    uploads = [line for line in s3.requests()[before:] if "partNumber=" in line]
    assert len(uploads) == 3 and all("/large/.big.mp4." in line for line in uploads), uploads


def test_an_existing_video_is_kept_unless_overwrite_and_replaced_with_it(
    s3: MotoS3, media: MediaServer, tmp_path: Path
) -> None:
    media.routes["/old.mp4"] = Video(b"old")
    media.routes["/new.mp4"] = Video(b"new video")
    destination = f"s3://aws_default@{BUCKET}/kept/v.mp4"
    publish(media.url("/old.mp4"), destination)

    with pytest.raises(HeyGenInputError, match="already exists"):
        publish(media.url("/new.mp4"), destination)
    assert s3.objects("kept/") == {"kept/v.mp4": 3}

    publish(media.url("/new.mp4"), destination, overwrite=True)
    assert s3.objects("kept/") == {"kept/v.mp4": 9}
    body = s3.client().get_object(Bucket=BUCKET, Key="kept/v.mp4")["Body"].read()
    assert body == b"new video"
