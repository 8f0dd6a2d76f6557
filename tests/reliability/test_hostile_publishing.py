"""
Property-based: publishing from hostile or broken sources (``file://`` and ``ftp://`` URLs, redirects to
other schemes, sources that lie about their length or break off mid-stream, errors that never end) and to
hostile destinations (``..`` segments) is refused or fails cleanly. Whatever happens, the destination folder
is left exactly as it was unless the video was published whole, and an existing file is only ever replaced
with ``overwrite=True``.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.execution_time.context import OutletEventAccessors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_heygen.exceptions import HeyGenError, HeyGenInputError
from airflow_heygen.operators.heygen import HeyGenPublishVideoOperator
from airflow_heygen.publishing import (
    DownloadSettings,
    PublishRecord,
    PublishRequest,
    VideoDownloader,
    VideoPublisher,
)
from tests.reliability.support import heygen_connection
from tests.support.scripted_server import Answer, ScriptedServer, scripted_server

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
VIDEO = (("Content-Type", "video/mp4"),)
OTHER_SCHEMES = [
    "file:///etc/passwd",
    "ftp://media.example.test/v.mp4",
    "javascript:alert(1)",
    "data:video/mp4;base64,AAAA",
    "gopher://x/v",
    "s3://bucket/v.mp4",
]


@pytest.fixture(scope="module")
def source() -> Iterator[ScriptedServer]:
    """The video's host; ``heygen_default`` (whose retry settings publishing uses) allows one retry."""
    with scripted_server() as server, pytest.MonkeyPatch.context() as patch:
        connection = heygen_connection(
            "https://api.heygen.example",
            "k-publishing",
            retry_limit=1,
            retry_min_delay=0.01,
            retry_max_delay=0.02,
            request_timeout=2,
        )
        patch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", connection)
        yield server


def snapshot(folder: Path) -> dict[str, bytes]:
    """
    Every file under ``folder`` (hidden ones included) and its content.

    :param folder: the destination folder.
    """
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def publish(**arguments: Any) -> dict[str, Any]:
    """
    Run the publishing operator's ``execute`` outside a DAG, with real outlet-event accessors.

    :param arguments: the operator's arguments.
    """
    operator = HeyGenPublishVideoOperator(task_id="publish", **arguments)
    return operator.execute({"outlet_events": OutletEventAccessors()})  # type: ignore[arg-type]


@st.composite
def behaviours(draw: st.DrawFn, video: bytes) -> tuple[str, list[Answer], Answer]:
    """A source's behaviour: (kind, scripted answers, the answer to every later request)."""
    kind = draw(
        st.sampled_from(["whole", "whole", "lies", "breaks", "redirect-elsewhere", "missing", "down"])
    )
    body = draw(st.one_of(st.just(video), st.binary(min_size=1, max_size=4096)))
    if kind == "whole":
        hops = [Answer(302, headers=(("Location", f"/hop-{n}"),)) for n in range(draw(st.integers(0, 3)))]
        return kind, hops, Answer(200, body, VIDEO)
    if kind == "lies":  # announces more than it sends, on every attempt
        return kind, [], Answer(200, body, VIDEO, announced=len(body) + draw(st.integers(1, 1 << 20)))
    if kind == "breaks":  # a chunked stream whose connection drops in the middle
        cut = draw(st.integers(0, len(body) - 1))
        raw = (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + f"{len(body):x}\r\n".encode()
            + body[:cut]
        )
        return kind, [], Answer(raw=raw)
    if kind == "redirect-elsewhere":
        hops = [Answer(302, headers=(("Location", f"/hop-{n}"),)) for n in range(draw(st.integers(0, 2)))]
        return (
            kind,
            [*hops, Answer(302, headers=(("Location", draw(st.sampled_from(OTHER_SCHEMES))),))],
            Answer(404),
        )
    if kind == "missing":
        return kind, [], Answer(draw(st.sampled_from([401, 403, 404, 410])))
    return kind, [], Answer(draw(st.sampled_from([500, 502, 503, 504])))


@PROPERTY
@given(
    data=st.data(),
    existing=st.one_of(st.none(), st.binary(max_size=64)),
    overwrite=st.booleans(),
    preview=st.booleans(),
)
def test_a_destination_holds_the_whole_video_or_what_it_held_before(
    source: ScriptedServer,
    sample_video_path: Path,
    data: st.DataObject,
    existing: bytes | None,
    overwrite: bool,
    preview: bool,
) -> None:
    sample_video = sample_video_path.read_bytes()
    kind, script, default = data.draw(behaviours(sample_video), label="behaviour")
    source.reset(script, default)
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        destination = folder / "videos" / "v.mp4"
        if existing is not None:
            destination.parent.mkdir()
            destination.write_bytes(existing)
        before = snapshot(folder)
        body = default.body
        succeeds = (
            kind == "whole" and (existing is None or overwrite) and (not preview or body == sample_video)
        )

        try:
            result = publish(
                video_url=f"{source.url}/v.mp4",
                destination=str(destination),
                overwrite=overwrite,
                preview=preview,
            )
        except (HeyGenError, HeyGenInputError) as err:
            assert not succeeds, f"{kind} should have published: {err}"
            if existing is not None and not overwrite:
                assert isinstance(err, HeyGenInputError) and "already exists" in str(err)
                assert source.received == [], "an existing destination is refused before any download"
            assert snapshot(folder) == before, "a failure leaves the destination folder as it was"
            return
        assert succeeds, f"{kind} published {result}"
        after = snapshot(folder)
        assert after.pop("videos/v.mp4") == body
        assert (result["bytes"], result["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
        if preview:
            assert after.pop("videos/v.png").startswith(b"\x89PNG")
        assert after == {}, "no temporary is left behind"


segments = st.lists(
    st.sampled_from(["videos", "a", "..", "%2e%2e", "%2E%2E", ".", "b c", "%2e"]), min_size=1, max_size=5
)


@PROPERTY
@given(
    parts=segments.filter(lambda parts: any(part.lower() in ("..", "%2e%2e") for part in parts)),
    form=st.sampled_from(["path", "file-url", "s3-url"]),
)
def test_destinations_that_climb_out_of_their_folder_are_refused(
    source: ScriptedServer, parts: list[str], form: str
) -> None:
    source.reset([], Answer(200, b"video", VIDEO))
    with tempfile.TemporaryDirectory() as folder_name:
        path = "/".join([folder_name.rstrip("/"), *parts, "v.mp4"])
        destination = {
            "path": path,
            "file-url": f"file://{path}",
            "s3-url": f"s3://bucket/{'/'.join(parts)}/v.mp4",
        }[form]
        before = snapshot(Path(folder_name))
        with pytest.raises(HeyGenInputError) as caught:
            publish(video_url=f"{source.url}/v.mp4", destination=destination)
        assert caught.value.field == "destination"
        assert "'..'" in str(caught.value)
        assert source.received == [], "refused before any download"
        assert snapshot(Path(folder_name)) == before


@PROPERTY
@given(
    url=st.one_of(st.sampled_from(OTHER_SCHEMES), st.builds(lambda p: f"file:///{p}", st.text(max_size=20)))
)
def test_sources_other_than_http_are_refused_before_anything_is_read(
    source: ScriptedServer, url: str
) -> None:
    source.reset([], Answer(200, b"video", VIDEO))
    with tempfile.TemporaryDirectory() as folder_name:
        with pytest.raises(HeyGenInputError) as caught:
            publish(video_url=url, destination=f"{folder_name}/v.mp4")
        assert caught.value.field == "video_url"
        assert snapshot(Path(folder_name)) == {}


class DictStore:
    """What a task sees of ``task_state_store``: ``get``, ``set`` and ``delete`` of JSON values by key."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default``."""
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``."""
        self.values[key] = value

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        self.values.pop(key, None)


def test_a_retry_after_death_between_the_two_landings_publishes_afresh(
    source: ScriptedServer, sample_video: bytes, tmp_path: Path
) -> None:
    """The first try landed the preview and died before the video: the retry removes its own preview
    (byte for byte what it recorded) and publishes both; a file it did not write is never touched."""
    source.reset([], Answer(200, sample_video, VIDEO))
    store = DictStore()
    request = PublishRequest.checked(
        video_url=f"{source.url}/v.mp4", destination=str(tmp_path / "v.mp4"), preview=True
    )
    with VideoDownloader(DownloadSettings()) as downloader:
        first = VideoPublisher(downloader).publish(request, on_staged=PublishRecord(store, request).save)
    (tmp_path / "v.mp4").unlink()  # as if the first try died between landing the preview and the video
    preview = (tmp_path / "v.png").read_bytes()

    assert PublishRecord(store, request).reclaim() is None, "not everything is in place: publish again"
    assert not (tmp_path / "v.png").exists(), "the earlier try's own preview was removed"
    with VideoDownloader(DownloadSettings()) as downloader:
        again = VideoPublisher(downloader).publish(request, on_staged=PublishRecord(store, request).save)
    assert again == first
    assert (tmp_path / "v.png").read_bytes() == preview
    assert PublishRecord(store, request).reclaim() == first.to_dict(), "now a retry would return at once"

    (tmp_path / "v.png").write_bytes(b"someone else's picture")
    assert PublishRecord(store, request).reclaim() is None
    assert (tmp_path / "v.png").read_bytes() == b"someone else's picture", "a file it did not write stays"
