"""Video input and H.264/AAC mp4 output with PyAV, written atomically."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from airflow_heygen.emulator.render.errors import MediaError

# Audio codecs the mp4 muxer takes as they are; anything else is transcoded to AAC.
_MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "alac", "ac3", "eac3", "opus"})
DEFAULT_FPS = Fraction(25)


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """
    Yield a temporary path beside ``final``; rename it onto ``final`` only if the block succeeds.

    :param final: where the finished file must appear.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(f".{final.stem}.{uuid.uuid4().hex[:8]}.tmp{final.suffix}")
    try:
        yield temp
        os.replace(temp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


@dataclass(frozen=True)
class VideoFrameItem:
    """
    One decoded video frame.

    :param index: 0-based frame number.
    :param image: BGR uint8 image.
    """

    index: int
    image: np.ndarray


class VideoSource:
    """
    Demuxes a video file: decoded BGR frames of the first video stream and raw packets of the first
    audio stream, in file order.

    :param path: the video file.
    :raises MediaError: when the file is not a decodable video.
    """

    def __init__(self, path: Path) -> None:
        try:
            self._container: Any = av.open(str(path))
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise MediaError(f"target video could not be decoded: {_reason(exc)}") from exc
        if not self._container.streams.video:
            self._container.close()
            raise MediaError("target video could not be decoded: the file has no video stream")
        self.video_stream: Any = self._container.streams.video[0]
        self.video_stream.thread_type = "AUTO"
        self.audio_stream: Any = self._container.streams.audio[0] if self._container.streams.audio else None
        rate = self.video_stream.average_rate or self.video_stream.guessed_rate
        self.fps: Fraction = Fraction(rate) if rate else DEFAULT_FPS
        self.width: int = int(self.video_stream.codec_context.width)
        self.height: int = int(self.video_stream.codec_context.height)

    def items(self) -> Iterator[VideoFrameItem | av.Packet]:
        """
        Frames and audio packets in demux order.

        :raises MediaError: when the stream is corrupt.
        """
        streams = [self.video_stream] + ([self.audio_stream] if self.audio_stream is not None else [])
        index = 0
        try:
            for packet in self._container.demux(*streams):
                if packet.stream is self.video_stream:
                    for frame in packet.decode():
                        yield VideoFrameItem(index, frame.to_ndarray(format="bgr24"))
                        index += 1
                elif packet.dts is not None:
                    yield packet
        except av.error.FFmpegError as exc:
            raise MediaError(f"target video could not be decoded: {_reason(exc)}") from exc
        if index == 0:
            raise MediaError("target video could not be decoded: it has no video frames")

    def close(self) -> None:
        """Close the file."""
        self._container.close()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Mp4Writer:
    """
    Writes an H.264 (libx264, yuv420p) mp4 with an optional audio track.

    Odd frame sizes lose their last row or column, since yuv420p needs even sizes.

    :param path: output file (use :func:`atomic_path` to publish it atomically).
    :param width: frame width.
    :param height: frame height.
    :param fps: frame rate.
    :param crf: x264 constant rate factor (lower is better quality).
    """

    def __init__(self, path: Path, width: int, height: int, fps: Fraction, crf: int = 20) -> None:
        self._container: Any = av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"})
        self._width, self._height = width - width % 2, height - height % 2
        self._video: Any = self._container.add_stream("libx264", rate=fps)
        self._video.width, self._video.height = self._width, self._height
        self._video.pix_fmt = "yuv420p"
        self._video.options = {"crf": str(crf), "preset": "veryfast"}
        self._audio: Any = None
        self._audio_passthrough = False
        self._frames = 0

    def add_audio_like(self, template: Any) -> None:
        """
        Add an audio track carrying a source stream: remuxed when mp4 takes its codec, else AAC.

        :param template: the source audio stream.
        """
        if template.codec_context.name in _MP4_AUDIO_CODECS:
            self._audio = self._container.add_stream_from_template(template)
            self._audio_passthrough = True
        else:
            self._audio = self._container.add_stream("aac", rate=template.codec_context.sample_rate or 44100)
            self._audio_passthrough = False

    def add_audio_track(self, sample_rate: int) -> None:
        """
        Add an empty mono AAC track to be filled by :meth:`write_samples`.

        :param sample_rate: samples per second.
        """
        self._audio = self._container.add_stream("aac", rate=sample_rate)
        self._audio.layout = "mono"

    def write_frame(self, image: np.ndarray) -> None:
        """
        Encode one BGR frame.

        :param image: BGR uint8 image of the writer's size (or one pixel larger when odd).
        """
        frame = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(image[: self._height, : self._width]), format="bgr24"
        )
        frame.pts = self._frames
        self._frames += 1
        self._container.mux(self._video.encode(frame))

    def write_audio_packet(self, packet: av.Packet) -> None:
        """
        Copy (or transcode) one packet of the stream given to :meth:`add_audio_like`.

        :param packet: a demuxed audio packet.
        """
        if self._audio is None:
            return
        if self._audio_passthrough:
            packet.stream = self._audio
            self._container.mux(packet)
            return
        for frame in packet.decode():
            frame.pts = None
            self._container.mux(self._audio.encode(frame))

    def write_samples(self, samples: np.ndarray, sample_rate: int) -> None:
        """
        Encode mono float32 samples in [-1, 1] into the track made by :meth:`add_audio_track`.

        :param samples: 1-D float32 array.
        :param sample_rate: samples per second.
        """
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32)[None, :], format="flt", layout="mono"
        )
        frame.sample_rate = sample_rate
        frame.pts = None
        self._container.mux(self._audio.encode(frame))

    @property
    def frames_written(self) -> int:
        """How many video frames were encoded so far."""
        return self._frames

    def close(self) -> None:
        """Flush the encoders and finish the file."""
        self._container.mux(self._video.encode(None))
        if self._audio is not None and not self._audio_passthrough:
            self._container.mux(self._audio.encode(None))
        self._container.close()

    def abort(self) -> None:
        """Close the file without flushing (it is discarded)."""
        with contextlib.suppress(Exception):
            self._container.close()


@dataclass(frozen=True)
class AudioClip:
    """
    Decoded mono audio.

    :param samples: float32 samples in [-1, 1].
    :param sample_rate: samples per second.
    """

    samples: np.ndarray
    sample_rate: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate


def decode_audio(paths: list[Path], sample_rate: int = 44100, names: list[str] | None = None) -> AudioClip:
    """
    Decode and concatenate audio files as mono float32 at one sample rate.

    :param paths: audio (or video) files, in order.
    :param sample_rate: the output rate.
    :param names: how error messages name each file (``audio_list[<n>]`` by default).
    :raises MediaError: when a file holds no decodable audio.
    """
    parts: list[np.ndarray] = []
    for number, path in enumerate(paths):
        name = names[number] if names else f"audio_list[{number}]"
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        try:
            with av.open(str(path)) as container:
                if not container.streams.audio:
                    raise MediaError(f"{name} has no audio stream")
                for frame in container.decode(audio=0):
                    parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
                parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise MediaError(f"{name} could not be decoded: {_reason(exc)}") from exc
    samples = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
    if samples.size == 0:
        raise MediaError("the audio has no samples")
    return AudioClip(samples=samples, sample_rate=sample_rate)


def _reason(exc: Exception) -> str:
    """A short, path-free reason for a decoding error."""
    if isinstance(exc, av.error.FFmpegError) and exc.strerror:
        return str(exc.strerror)
    return type(exc).__name__
