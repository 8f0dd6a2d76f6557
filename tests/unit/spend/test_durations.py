"""Durations read from media headers with a few bounded ranged reads, against real files PyAV writes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import av
import numpy as np
import pytest

from airflow_heygen.spend.durations import HEAD_BYTES, http_range_reader, media_seconds
from tests.support.media_server import MediaServer


class RangedFile:
    """Serves ``body`` with ``Range: bytes=a-b`` as HTTP does, counting the bytes sent."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.sent = 0

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        first, _, last = handler.headers["Range"].removeprefix("bytes=").partition("-")
        start, end = int(first), min(int(last), len(self.body) - 1)
        payload = self.body[start : end + 1]
        handler.send_response(206)
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("Content-Range", f"bytes {start}-{end}/{len(self.body)}")
        handler.end_headers()
        handler.wfile.write(payload)
        self.sent += len(payload)


def video(seconds: float, faststart: bool) -> bytes:
    """An H.264 MP4 of noise (so its media data is far larger than one head read)."""
    import tempfile

    options = {"movflags": "faststart"} if faststart else {}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "v.mp4"
        _write_video(path, seconds, options)
        return path.read_bytes()


def _write_video(path: Path, seconds: float, options: dict[str, str]) -> None:
    with av.open(str(path), "w", format="mp4", options=options) as container:
        stream = container.add_stream("libx264", rate=25, options={"crf": "30"})
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        rng = np.random.default_rng(1)
        for _ in range(int(seconds * 25)):
            frame = av.VideoFrame.from_ndarray(
                rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), format="rgb24"
            )
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def audio(seconds: float, format: str, codec: str) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format=format) as container:
        stream = container.add_stream(codec, rate=44100)
        stream.layout = "mono"
        samples = np.sin(np.linspace(0, 440 * seconds * 6.28, int(44100 * seconds))).astype(np.float32)
        fmt = "s16" if codec == "pcm_s16le" else "fltp"
        data = (samples * 32000).astype(np.int16) if fmt == "s16" else samples
        for start in range(0, len(data), 1152):
            frame = av.AudioFrame.from_ndarray(data[None, start : start + 1152], format=fmt, layout="mono")
            frame.sample_rate = 44100
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return out.getvalue()


@pytest.fixture
def server() -> Iterator[MediaServer]:
    media = MediaServer()
    yield media
    media.stop()


MEDIA = {
    "moov-last.mp4": (lambda: video(4.0, faststart=False), 4.0),
    "moov-first.mp4": (lambda: video(4.0, faststart=True), 4.0),
    "speech.mp3": (lambda: audio(7.5, "mp3", "libmp3lame"), 7.5),
    "speech.wav": (lambda: audio(3.0, "wav", "pcm_s16le"), 3.0),
}


@pytest.mark.parametrize("name", list(MEDIA))
def test_durations_are_within_2_percent_reading_a_few_ranges(server: MediaServer, name: str) -> None:
    make, seconds = MEDIA[name]
    body = make()
    served = RangedFile(body)
    server.routes[f"/{name}"] = served
    measured = media_seconds(http_range_reader(server.url(f"/{name}")))
    assert measured == pytest.approx(seconds, rel=0.02)
    assert served.sent <= 3 * HEAD_BYTES < len(body) or len(body) < 3 * HEAD_BYTES, "never the whole file"


def test_the_emulator_s_samples(emulator) -> None:  # type: ignore[no-untyped-def]
    assert media_seconds(http_range_reader(emulator.sample_url("target.mp4"))) == pytest.approx(3.0, rel=0.02)
    assert media_seconds(http_range_reader(emulator.sample_url("speech.wav"))) == pytest.approx(3.0, rel=0.02)
    assert media_seconds(http_range_reader(emulator.sample_url("speech.mp3"))) == pytest.approx(3.0, rel=0.02)


def test_unknown_bytes_have_no_duration(server: MediaServer, tmp_path: Path) -> None:
    server.routes["/x.bin"] = RangedFile(b"\x00" * 100_000)
    assert media_seconds(http_range_reader(server.url("/x.bin"))) is None
