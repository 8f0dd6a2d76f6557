"""
Lip-sync on the CPU: a video's mouth re-driven by new audio, and its audio track replaced.

The face is tracked through the video (like the face swap does); in every frame the avatar's mouth
rig opens the tracked mouth by the new audio's loudness in that frame. The output is as long as the
new audio: a shorter video is played again from its start, a longer one is cut. Frames without a
face are kept as they are; if no frame has one, the render fails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from airflow_heygen.emulator.failures import FailureCode
from airflow_heygen.emulator.render.audio import loudness_envelope
from airflow_heygen.emulator.render.avatar import MouthRig, open_mouth
from airflow_heygen.emulator.render.errors import MediaError
from airflow_heygen.emulator.render.faceswap import FaceTracker
from airflow_heygen.emulator.render.landmarks import FaceEngine
from airflow_heygen.emulator.render.video_io import (
    AudioClip,
    Mp4Writer,
    VideoFrameItem,
    VideoSource,
    atomic_path,
)
from airflow_heygen.emulator.render.warp import PiecewiseAffineWarp

log = logging.getLogger(__name__)

_AUDIO_RATE = 44100


@dataclass(frozen=True)
class LipSyncReport:
    """
    What a lip-sync render produced.

    :param frames: video frames written.
    :param frames_with_face: frames whose mouth was re-driven.
    :param fps: frame rate (the source's).
    :param duration: video duration in seconds.
    :param engine: the face engine that tracked the face.
    :param seconds: wall time the render took.
    """

    frames: int
    frames_with_face: int
    fps: float
    duration: float
    engine: str
    seconds: float


def _looped_frames(video: Path) -> Iterator[np.ndarray]:
    """The video's frames, from the start again whenever it ends (forever)."""
    while True:
        produced = 0
        with VideoSource(video) as source:
            for item in source.items():
                if isinstance(item, VideoFrameItem):
                    produced += 1
                    yield item.image
        if produced == 0:
            return


class LipSyncRenderer:
    """
    Re-drives the mouth of the face in a video.

    :param engine: the face engine (loaded once per worker process).
    """

    def __init__(self, engine: FaceEngine) -> None:
        self._engine = engine

    def render(self, video: Path, clip: AudioClip, output: Path) -> LipSyncReport:
        """
        An mp4 of ``video`` whose mouth follows ``clip``, carrying ``clip`` as its only audio.

        :param video: the source video.
        :param clip: the new audio.
        :param output: where the mp4 appears (atomically).
        :raises MediaError: when the video cannot be decoded or holds no face.
        """
        started = time.perf_counter()
        with VideoSource(video) as probe:
            fps, width, height = probe.fps, probe.width, probe.height
        frames = max(1, round(clip.duration * fps))
        envelope = loudness_envelope(clip.samples, clip.sample_rate, float(fps), frames)
        tracker = FaceTracker(self._engine)
        with_face = 0
        # The landmark set is the same in every frame, so one triangulation serves them all.
        triangles: np.ndarray | None = None
        with atomic_path(output) as temp:
            writer = Mp4Writer(temp, width, height, fps)
            try:
                writer.add_audio_track(clip.sample_rate)
                for opening, source in zip(envelope, _looped_frames(video), strict=False):
                    shape = tracker.locate(source)
                    frame = source
                    if shape is not None:
                        with_face += 1
                        rig = MouthRig(shape, self._engine.topology, (source.shape[1], source.shape[0]))
                        warp = PiecewiseAffineWarp(source, rig.rest, triangles)
                        triangles = warp.triangles
                        frame = open_mouth(source, rig, warp, float(opening))
                    writer.write_frame(frame)
                if with_face == 0:
                    raise MediaError("no face found in any frame of the video", FailureCode.NO_FACE_DETECTED)
                writer.write_samples(clip.samples, clip.sample_rate)
                written = writer.frames_written
                writer.close()
            except BaseException:
                writer.abort()
                raise
        report = LipSyncReport(
            frames=written,
            frames_with_face=with_face,
            fps=float(fps),
            duration=written / float(fps),
            engine=self._engine.name,
            seconds=time.perf_counter() - started,
        )
        log.info(
            "lip-sync: %d frames (%d with a face) in %.2fs, engine %s",
            report.frames,
            report.frames_with_face,
            report.seconds,
            report.engine,
        )
        return report
