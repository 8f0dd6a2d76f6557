"""
HeyGenPublishVideoOperator against real HTTP on 127.0.0.1: streaming, verification, atomic landing,
refusals, where the API key goes, previews, and the Asset it emits inside real DAG runs.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import Asset, AssetAlias
from airflow.sdk.execution_time.context import OutletEventAccessors

from airflow_heygen.exceptions import (
    HeyGenError,
    HeyGenInputError,
    HeyGenRequestError,
    HeyGenUnavailableError,
)
from airflow_heygen.operators.heygen import HeyGenPublishVideoOperator
from airflow_heygen.publishing import DownloadSettings
from tests.conftest import TEST_KEY, heygen_connection_uri
from tests.support.media_server import MediaServer, Video, answer_status, generated, redirect_to

MIB = 1024 * 1024
RED, BLUE = (220, 30, 30), (30, 30, 220)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def media(monkeypatch: pytest.MonkeyPatch) -> Iterator[MediaServer]:
    """The HeyGen connection's own host, serving media; ``heygen_default`` points at it with fast retries."""
    server = MediaServer()
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", heygen_connection_uri(server.url("")))
    yield server
    server.stop()


@pytest.fixture
def foreign() -> Iterator[MediaServer]:
    """A third-party host (a CDN): another origin than the connection's."""
    server = MediaServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sample_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real 2-second H.264 mp4, 96x64 at 8 fps: red for its first second, blue for its second."""
    import av
    import numpy as np

    path = tmp_path_factory.mktemp("media") / "sample.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for index in range(16):
            image = np.full((64, 96, 3), RED if index < 8 else BLUE, dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path.read_bytes()


def publish(**arguments: Any) -> tuple[dict[str, Any], OutletEventAccessors]:
    """Run the operator's ``execute`` with real outlet-event accessors; returns (result, events)."""
    operator = HeyGenPublishVideoOperator(task_id="publish", **arguments)
    events = OutletEventAccessors()
    result = operator.execute({"outlet_events": events})  # type: ignore[arg-type]
    return result, events


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_streams_the_video_and_reports_its_size_and_sha256(
    media: MediaServer, foreign: MediaServer, tmp_path: Path
) -> None:
    body = bytes(range(256)) * 12_345
    foreign.routes["/v.mp4"] = Video(body)
    destination = tmp_path / "out" / "v.mp4"

    result, _ = publish(video_url=foreign.url("/v.mp4"), destination=destination.as_uri())

    assert result == {"uri": destination.as_uri(), "bytes": len(body), "sha256": sha256(body)}
    assert destination.read_bytes() == body
    assert leftovers(destination.parent) == ["v.mp4"], "no temporary is left beside it"
    assert foreign.requests_to("/v.mp4")[0].headers["Accept-Encoding"] == "identity"


def test_a_bare_path_means_a_local_file(foreign: MediaServer, tmp_path: Path) -> None:
    foreign.routes["/v.mp4"] = Video(b"video bytes")

    result, _ = publish(video_url=foreign.url("/v.mp4"), destination=str(tmp_path / "v.mp4"))

    assert result["uri"] == f"file://{tmp_path}/v.mp4"
    assert (tmp_path / "v.mp4").read_bytes() == b"video bytes"


def test_memory_does_not_grow_with_the_video(foreign: MediaServer, tmp_path: Path) -> None:
    block, count = hashlib.sha256(b"seed").digest() * (MIB // 32), 200
    foreign.routes["/big.mp4"] = generated(block, count)
    foreign.routes["/small.mp4"] = generated(block, 2)
    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(block)
    destination = tmp_path / "big.mp4"
    # A first, small publish, so that one-time imports and caches are not counted.
    publish(video_url=foreign.url("/small.mp4"), destination=str(tmp_path / "small.mp4"))

    tracemalloc.start()
    try:
        started = time.monotonic()
        result, _ = publish(video_url=foreign.url("/big.mp4"), destination=str(destination))
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert result["bytes"] == count * MIB
    assert result["sha256"] == expected.hexdigest()
    assert destination.stat().st_size == count * MIB
    assert peak < 8 * MIB, f"peak Python memory {peak / MIB:.1f} MiB for a {count} MiB video"
    assert elapsed < 30
    destination.unlink()


def test_an_interrupted_transfer_resumes_with_a_range_request(foreign: MediaServer, tmp_path: Path) -> None:
    body = bytes(range(256)) * 4096 * 3
    foreign.routes["/v.mp4"] = Video(body, breaks=1, cut=MIB + MIB // 2)

    result, _ = publish(video_url=foreign.url("/v.mp4"), destination=str(tmp_path / "v.mp4"))

    first, second = foreign.requests_to("/v.mp4")
    assert "Range" not in first.headers
    assert second.headers["Range"] == f"bytes={MIB + MIB // 2}-", "from the last byte received"
    assert second.headers["If-Range"] == '"v1"'
    assert result["sha256"] == sha256(body)
    assert (tmp_path / "v.mp4").read_bytes() == body


def test_a_server_without_ranges_is_read_again_from_the_start(foreign: MediaServer, tmp_path: Path) -> None:
    body = bytes(range(256)) * 4096
    served = Video(body, ranges=False, breaks=1, cut=300_000)
    foreign.routes["/v.mp4"] = served

    result, _ = publish(video_url=foreign.url("/v.mp4"), destination=str(tmp_path / "v.mp4"))

    assert ["Range" in seen.headers for seen in foreign.requests_to("/v.mp4")] == [False, False]
    assert served.served == [300_000, len(body)]
    assert (result["bytes"], result["sha256"]) == (len(body), sha256(body))
    assert (tmp_path / "v.mp4").read_bytes() == body


@pytest.mark.parametrize(
    "video",
    [
        pytest.param(Video(b"x" * 500_000, ranges=False, breaks=99, cut=200_000), id="drops-mid-stream"),
        pytest.param(Video(b"x" * 500_000, breaks=99, cut=0), id="drops-before-any-byte"),
        pytest.param(Video(b"x" * 500_000, ranges=False, overstated=1000), id="overstates-content-length"),
    ],
)
def test_a_transfer_that_never_completes_leaves_nothing(
    media: MediaServer, foreign: MediaServer, tmp_path: Path, video: Video
) -> None:
    foreign.routes["/v.mp4"] = video

    with pytest.raises(HeyGenUnavailableError, match=r"after 4 attempt\(s\)"):
        publish(video_url=foreign.url("/v.mp4"), destination=str(tmp_path / "v.mp4"))

    assert len(foreign.requests_to("/v.mp4")) == 4, "the first try and the connection's 3 retries"
    assert leftovers(tmp_path) == []


def test_every_resume_keeps_the_bytes_already_received(foreign: MediaServer, tmp_path: Path) -> None:
    body = bytes(range(256)) * 2000
    foreign.routes["/v.mp4"] = Video(body, breaks=3, cut=150_000)

    result, _ = publish(video_url=foreign.url("/v.mp4"), destination=str(tmp_path / "v.mp4"))

    asked = [seen.headers.get("Range") for seen in foreign.requests_to("/v.mp4")]
    assert asked == [None, "bytes=150000-", "bytes=300000-", "bytes=450000-"], "no byte fetched twice"
    assert (result["bytes"], result["sha256"]) == (len(body), sha256(body))
    assert (tmp_path / "v.mp4").read_bytes() == body


def test_chunked_and_compressed_bodies_are_published_decoded(foreign: MediaServer, tmp_path: Path) -> None:
    import gzip

    body = bytes(range(256)) * 5000

    def chunked(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for start in range(0, len(body), 100_000):
            piece = body[start : start + 100_000]
            handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        handler.wfile.write(b"0\r\n\r\n")

    def compressed(handler: BaseHTTPRequestHandler) -> None:  # despite Accept-Encoding: identity
        payload = gzip.compress(body)
        handler.send_response(200)
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    foreign.routes["/chunked.mp4"], foreign.routes["/gzip.mp4"] = chunked, compressed

    for name in ("chunked", "gzip"):
        result, _ = publish(video_url=foreign.url(f"/{name}.mp4"), destination=str(tmp_path / f"{name}.mp4"))
        assert (result["bytes"], result["sha256"]) == (len(body), sha256(body)), name
        assert (tmp_path / f"{name}.mp4").read_bytes() == body


def test_server_errors_are_retried_then_fail_cleanly(
    media: MediaServer, foreign: MediaServer, tmp_path: Path
) -> None:
    foreign.routes["/v.mp4"] = answer_status(503)

    with pytest.raises(HeyGenUnavailableError, match="HTTP 503"):
        publish(video_url=foreign.url("/v.mp4"), destination=str(tmp_path / "v.mp4"))

    assert len(foreign.requests_to("/v.mp4")) == 4
    assert leftovers(tmp_path) == []


def test_a_missing_video_fails_at_once(media: MediaServer, foreign: MediaServer, tmp_path: Path) -> None:
    with pytest.raises(HeyGenRequestError, match="answered HTTP 404"):
        publish(video_url=foreign.url("/gone.mp4?token=secret"), destination=str(tmp_path / "v.mp4"))

    assert len(foreign.requests_to("/gone.mp4")) == 1
    assert leftovers(tmp_path) == []


def test_an_existing_destination_is_kept_unless_overwrite(foreign: MediaServer, tmp_path: Path) -> None:
    foreign.routes["/v.mp4"] = Video(b"new video")
    destination = tmp_path / "v.mp4"
    destination.write_bytes(b"old video")

    with pytest.raises(HeyGenInputError, match="already exists; set overwrite=True") as caught:
        publish(video_url=foreign.url("/v.mp4"), destination=str(destination))

    assert caught.value.field == "destination"
    assert destination.as_uri() in str(caught.value)
    assert foreign.seen == [], "refused before downloading"
    assert destination.read_bytes() == b"old video"

    result, _ = publish(video_url=foreign.url("/v.mp4"), destination=str(destination), overwrite=True)

    assert destination.read_bytes() == b"new video"
    assert result["sha256"] == sha256(b"new video")
    assert leftovers(tmp_path) == ["v.mp4"]


@pytest.mark.parametrize(
    ("video_url", "problem"),
    [
        ("ftp://example.com/v.mp4", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("example.com/v.mp4", "no scheme"),
        ("", "video_url: is required"),
    ],
)
def test_non_http_sources_are_refused(
    foreign: MediaServer, tmp_path: Path, video_url: str, problem: str
) -> None:
    with pytest.raises(HeyGenInputError, match=problem) as caught:
        publish(video_url=video_url, destination=str(tmp_path / "v.mp4"))

    assert caught.value.field == "video_url"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("destination", "problem"),
    [
        ("file:///data/videos/../../etc/x", "'..' segments"),
        ("/data/videos/../../etc/x.mp4", "'..' segments"),
        ("s3://bucket/videos/../../other/x.mp4", "'..' segments"),
        ("file:///data/videos/%2e%2e/x.mp4", "'..' segments"),
        ("videos/x.mp4", "absolute path"),
        ("file://otherhost/data/x.mp4", "takes no host"),
        ("https://example.com/upload/x.mp4", "cannot write to an http"),
        ("file:///data/videos/", "must name a file"),
        ("/data/videos/x.mp4#frag", "'?' or '#'"),
        ("nosuchstore://bucket/x.mp4", "no filesystem for nosuchstore://"),
        (" /data/x.mp4", "whitespace"),
    ],
)
def test_bad_destinations_are_refused_before_any_download(
    foreign: MediaServer, destination: str, problem: str
) -> None:
    foreign.routes["/v.mp4"] = Video(b"video")

    with pytest.raises(HeyGenInputError, match=problem) as caught:
        publish(video_url=foreign.url("/v.mp4"), destination=destination)

    assert caught.value.field == "destination"
    assert foreign.seen == []


def test_a_redirect_to_another_scheme_is_refused(
    media: MediaServer, foreign: MediaServer, tmp_path: Path
) -> None:
    foreign.routes["/v.mp4"] = redirect_to("ftp://example.com/v.mp4")

    with pytest.raises(HeyGenInputError, match=r"redirected to 'ftp://example\.com/v\.mp4'") as caught:
        publish(video_url=foreign.url("/v.mp4"), destination=str(tmp_path / "v.mp4"))

    assert caught.value.field == "video_url"
    assert leftovers(tmp_path) == []


def test_the_api_key_goes_only_to_the_connections_own_origin(
    media: MediaServer, foreign: MediaServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    media.routes["/media/own.mp4"] = Video(b"own")
    media.routes["/media/moved.mp4"] = redirect_to(foreign.url("/cdn/moved.mp4"))
    foreign.routes["/cdn/moved.mp4"] = Video(b"moved")
    foreign.routes["/cdn/public.mp4"] = Video(b"public")
    caplog.set_level(logging.DEBUG)

    for name, url in [
        ("own", media.url("/media/own.mp4")),
        ("moved", media.url("/media/moved.mp4")),
        ("public", foreign.url("/cdn/public.mp4")),
    ]:
        publish(video_url=url, destination=str(tmp_path / f"{name}.mp4"))

    assert [seen.headers.get("X-Api-Key") for seen in media.seen] == [TEST_KEY, TEST_KEY]
    assert [seen.headers.get("X-Api-Key") for seen in foreign.seen] == [None, None]
    assert (tmp_path / "moved.mp4").read_bytes() == b"moved"
    assert TEST_KEY not in caplog.text
    assert TEST_KEY not in repr(DownloadSettings.for_connection("heygen_default")), "kept out of repr"


def test_without_any_key_videos_are_still_fetched(
    foreign: MediaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_HEYGEN_DEFAULT", raising=False)
    foreign.routes["/v.mp4"] = Video(b"public video")

    result, _ = publish(video_url=foreign.url("/v.mp4"), destination=str(tmp_path / "v.mp4"))

    assert result["bytes"] == len(b"public video")
    assert "X-Api-Key" not in foreign.seen[0].headers


def test_the_preview_is_a_png_of_the_middle_frame(
    foreign: MediaServer, tmp_path: Path, sample_mp4: bytes
) -> None:
    import av

    foreign.routes["/v.mp4"] = Video(sample_mp4)

    result, _ = publish(video_url=foreign.url("/v.mp4"), destination=str(tmp_path / "v.mp4"), preview=True)

    png = (tmp_path / "v.png").read_bytes()
    assert result["preview_uri"] == (tmp_path / "v.png").as_uri()
    assert png.startswith(PNG_SIGNATURE)
    with av.open(io.BytesIO(png)) as container:
        image = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert image.shape == (64, 96, 3)
    assert [abs(float(image[..., c].mean()) - BLUE[c]) < 25 for c in range(3)] == [True] * 3, "second half"
    assert leftovers(tmp_path) == ["v.mp4", "v.png"]


def test_a_preview_that_cannot_be_made_publishes_nothing(foreign: MediaServer, tmp_path: Path) -> None:
    foreign.routes["/v.mp4"] = Video(b"this is not a video" * 100)

    with pytest.raises(HeyGenError, match="preview: could not decode"):
        publish(video_url=foreign.url("/v.mp4"), destination=str(tmp_path / "v.mp4"), preview=True)

    assert leftovers(tmp_path) == []


def test_an_existing_preview_is_kept_unless_overwrite(
    foreign: MediaServer, tmp_path: Path, sample_mp4: bytes
) -> None:
    foreign.routes["/v.mp4"] = Video(sample_mp4)
    (tmp_path / "v.png").write_bytes(b"old preview")

    with pytest.raises(HeyGenInputError, match=r"v\.png already exists"):
        publish(video_url=foreign.url("/v.mp4"), destination=str(tmp_path / "v.mp4"), preview=True)

    assert foreign.seen == []
    assert leftovers(tmp_path) == ["v.png"]


def test_object_stores_without_rename_get_a_whole_object_or_nothing(
    foreign: MediaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the videos are staged
    store = MemoryFileSystem()
    attach(protocol="memory", fs=store)
    foreign.routes["/v.mp4"] = Video(b"video in a bucket")
    foreign.routes["/broken.mp4"] = Video(b"y" * 100_000, breaks=99, cut=10)

    result, _ = publish(video_url=foreign.url("/v.mp4"), destination="memory://bucket/videos/v.mp4")
    with pytest.raises(HeyGenUnavailableError):
        publish(video_url=foreign.url("/broken.mp4"), destination="memory://bucket/videos/broken.mp4")
    with pytest.raises(HeyGenInputError, match="already exists"):
        publish(video_url=foreign.url("/v.mp4"), destination="memory://bucket/videos/v.mp4")

    assert result["uri"] == "memory://bucket/videos/v.mp4"
    assert store.cat_file("/bucket/videos/v.mp4") == b"video in a bucket"
    assert store.ls("/bucket/videos", detail=False) == ["/bucket/videos/v.mp4"]
    assert list(tmp_path.iterdir()) == [], "no staged file stays on the worker's disk"


def test_the_asset_is_emitted_through_aliases_with_the_result(foreign: MediaServer, tmp_path: Path) -> None:
    foreign.routes["/v.mp4"] = Video(b"video")
    own_alias, fixed = AssetAlias("my-videos"), Asset("file:///catalog/latest")

    result, default_events = publish(video_url=foreign.url("/v.mp4"), destination=str(tmp_path / "a.mp4"))
    _, own_events = publish(
        video_url=foreign.url("/v.mp4"), destination=str(tmp_path / "b.mp4"), outlets=[own_alias, fixed]
    )

    (emitted,) = default_events[AssetAlias("heygen-published-videos")].asset_alias_events
    assert (emitted.dest_asset_key.uri, emitted.extra) == (result["uri"], result)
    (emitted,) = own_events[own_alias].asset_alias_events
    assert emitted.dest_asset_key.uri == (tmp_path / "b.mp4").as_uri()
    assert own_events[fixed].extra["uri"] == (tmp_path / "b.mp4").as_uri()
    assert not own_events[AssetAlias("heygen-published-videos")].asset_alias_events, "no default alias"


def test_destination_and_video_url_are_templated() -> None:
    assert {"video_url", "destination"} <= set(HeyGenPublishVideoOperator.template_fields)


# Inside real DAG runs: templating, mapping, and the asset event that schedules downstream DAGs.


def run_dag(dag_id: str, **conf: Any) -> Any:
    from airflow.sdk import DAG

    from tests.dags import heygen_publish_dags

    dags = {d.dag_id: d for d in vars(heygen_publish_dags).values() if isinstance(d, DAG)}
    return dags[dag_id].test(run_conf=conf)


@pytest.fixture
def consumer_waiting(airflow_db: Path) -> str:
    """The asset-scheduled ``heygen_publish_consumer`` DAG, in the database, unpaused, nothing queued yet."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.models.asset import AssetDagRunQueue
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import delete, update

    consumer = "heygen_publish_consumer"
    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        sync_bag_to_db(bag, bundle.name, bundle.version)
    with create_session() as session:
        session.execute(update(DagModel).where(DagModel.dag_id == consumer).values(is_paused=False))
        session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == consumer))
    return consumer


def asset_events_of(run: Any) -> list[Any]:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    with create_session() as session:
        return list(
            session.scalars(
                select(AssetEvent)
                .where(AssetEvent.source_dag_id == run.dag_id, AssetEvent.source_run_id == run.run_id)
                .options(joinedload(AssetEvent.asset), joinedload(AssetEvent.source_aliases))
                .order_by(AssetEvent.source_map_index)
            ).unique()
        )


def test_a_dag_run_publishes_and_queues_the_asset_scheduled_dag(
    media: MediaServer, foreign: MediaServer, tmp_path: Path, sample_mp4: bytes, consumer_waiting: str
) -> None:
    from airflow.models.asset import AssetDagRunQueue
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    foreign.routes["/v.mp4"] = Video(sample_mp4)

    run = run_dag("heygen_publish", video_url=foreign.url("/v.mp4"), folder=str(tmp_path), name="ada")

    assert run.state == "success"
    (ti,) = run.get_task_instances()
    result = ti.xcom_pull(task_ids="publish")
    assert result == {
        "uri": (tmp_path / "ada.mp4").as_uri(),
        "bytes": len(sample_mp4),
        "sha256": sha256(sample_mp4),
        "preview_uri": (tmp_path / "ada.png").as_uri(),
    }
    assert leftovers(tmp_path) == ["ada.mp4", "ada.png"]
    (event,) = asset_events_of(run)
    assert (event.asset.uri, event.extra) == (result["uri"], result)
    assert [alias.name for alias in event.source_aliases] == ["heygen-published-videos"]
    with create_session() as session:
        queued = session.scalars(
            select(AssetDagRunQueue.target_dag_id).where(AssetDagRunQueue.target_dag_id == consumer_waiting)
        ).all()
        due, _ = DagModel.dags_needing_dagruns(session)
        assert queued == [consumer_waiting]
        assert consumer_waiting in {dag.dag_id for dag in due}, "the scheduler would start it now"

    seen_downstream = run_dag(consumer_waiting).get_task_instances()[0].xcom_pull(task_ids="latest_video")
    assert seen_downstream == result


def test_mapped_publishes_render_each_destination(
    media: MediaServer, foreign: MediaServer, tmp_path: Path, airflow_db: Path
) -> None:
    foreign.routes["/v.mp4"] = Video(b"mapped video")

    run = run_dag("heygen_publish_mapped", video_url=foreign.url("/v.mp4"), folder=str(tmp_path))

    assert run.state == "success"
    assert leftovers(tmp_path) == ["ada-0.mp4", "bob-1.mp4"]
    assert [event.asset.uri for event in asset_events_of(run)] == [
        (tmp_path / "ada-0.mp4").as_uri(),
        (tmp_path / "bob-1.mp4").as_uri(),
    ]


def test_a_failed_publish_fails_the_run_and_emits_nothing(
    media: MediaServer, foreign: MediaServer, tmp_path: Path, airflow_db: Path
) -> None:
    run = run_dag("heygen_publish", video_url="ftp://example.com/v.mp4", folder=str(tmp_path))

    assert run.state == "failed"
    assert asset_events_of(run) == []
    assert leftovers(tmp_path) == []
