"""Dubbing for translations: the video stream copied unchanged, a new audio track in its place."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import av
import numpy as np

from airflow_heygen.emulator.render.errors import MediaError
from airflow_heygen.emulator.render.video_io import atomic_path


def video_duration(path: Path) -> float:
    """
    Duration of a video file in seconds.

    :param path: the file.
    :raises MediaError: when it is not a decodable video.
    """
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError("video could not be decoded: the file has no video stream")
            if container.duration:
                return float(container.duration) / av.time_base
            stream = container.streams.video[0]
            if stream.duration and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            return 0.0
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise MediaError(f"video could not be decoded: {type(exc).__name__}") from exc


def dub(video: Path, samples: np.ndarray, sample_rate: int, output: Path) -> None:
    """
    Copy the video stream's packets (no re-encoding, so it is cheap) and add ``samples`` as AAC.

    :param video: the source video.
    :param samples: mono float32 samples in [-1, 1].
    :param sample_rate: samples per second.
    :param output: where the mp4 appears (atomically).
    :raises MediaError: when the video cannot be read.
    """
    try:
        source: Any = av.open(str(video))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise MediaError(f"video could not be decoded: {type(exc).__name__}") from exc
    with contextlib.closing(source), atomic_path(output) as temp:
        if not source.streams.video:
            raise MediaError("video could not be decoded: the file has no video stream")
        target: Any = av.open(str(temp), mode="w", format="mp4", options={"movflags": "+faststart"})
        try:
            video_in = source.streams.video[0]
            video_out = target.add_stream_from_template(video_in)
            audio_out = target.add_stream("aac", rate=sample_rate)
            audio_out.layout = "mono"
            for packet in source.demux(video_in):
                if packet.dts is None:
                    continue
                packet.stream = video_out
                target.mux(packet)
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples, dtype=np.float32)[None, :], format="flt", layout="mono"
            )
            frame.sample_rate = sample_rate
            target.mux(audio_out.encode(frame))
            target.mux(audio_out.encode(None))
        except av.error.FFmpegError as exc:
            raise MediaError(f"video could not be decoded: {type(exc).__name__}") from exc
        finally:
            target.close()
