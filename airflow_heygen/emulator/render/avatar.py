"""
Talking-head avatar on the CPU: the built-in portrait's jaw and lips follow the audio's loudness.

The portrait's landmarks are found once. For each video frame the loudness (RMS in that frame's
window) opens the mouth: lower lip, chin and lower face move down along the face's axis, the upper
lip lifts a little, a piecewise-affine warp moves the pixels, and the gap between the inner lips is
painted as a dark mouth with a hint of upper teeth. The video is exactly as long as the audio
(to the nearest frame) and carries it as AAC.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from airflow_heygen.emulator.failures import FailureCode
from airflow_heygen.emulator.render.audio import loudness_envelope
from airflow_heygen.emulator.render.errors import MediaError
from airflow_heygen.emulator.render.faceswap import read_image
from airflow_heygen.emulator.render.geometry import PixelRect
from airflow_heygen.emulator.render.landmarks import FaceEngine, FaceShape, FaceTopology
from airflow_heygen.emulator.render.portrait import portrait_frame
from airflow_heygen.emulator.render.video_io import Mp4Writer, atomic_path, decode_audio
from airflow_heygen.emulator.render.warp import PiecewiseAffineWarp

log = logging.getLogger(__name__)

AVATAR_FPS = Fraction(25)
_AUDIO_RATE = 44100
_JAW_DROP = 0.16  # mouth opening at full loudness, as a fraction of the brow-to-chin distance
_UPPER_LIP_LIFT = -0.12
_MOUTH_COLOUR = np.array([22, 18, 48], np.float32)  # BGR, dark red
_TEETH_COLOUR = np.array([190, 210, 225], np.float32)  # BGR, ivory


@dataclass(frozen=True)
class AvatarReport:
    """
    What an avatar render produced.

    :param frames: video frames written.
    :param fps: frame rate.
    :param duration: video duration in seconds (frames / fps).
    :param audio_duration: audio duration in seconds.
    :param engine: the face engine that found the portrait's landmarks.
    :param seconds: wall time the render took.
    """

    frames: int
    fps: float
    duration: float
    audio_duration: float
    engine: str
    seconds: float


class MouthRig:
    """
    Moves a face's landmarks to open the mouth by a given amount.

    :param shape: the face with a closed mouth.
    :param topology: meaning of the landmark indices.
    :param frame_size: (width, height) of the frame, to place fixed anchor points.
    """

    def __init__(self, shape: FaceShape, topology: FaceTopology, frame_size: tuple[int, int]) -> None:
        points = shape.points.astype(np.float64)
        a, b = topology.eye_pair
        across = points[b] - points[a]
        across /= np.linalg.norm(across)
        self._down = np.array([-across[1], across[0]])
        lips = list(topology.upper_inner_lip) + list(topology.lower_inner_lip)
        mouth = points[lips].mean(axis=0)
        chin = points[topology.chin]
        self._drop = _JAW_DROP * float(np.dot(chin - points[topology.brow_anchor], self._down))
        half_width = float(np.abs((points - mouth) @ across).max()) or 1.0
        chin_depth = float(np.dot(chin - mouth, self._down)) or 1.0
        warp_indices = list(topology.warp_indices)
        face = points[warp_indices]
        u = (face - mouth) @ across
        v = (face - mouth) @ self._down
        weight = np.clip(v / chin_depth, 0.0, 1.0) ** 0.6
        weight *= np.clip(1.0 - (u / half_width) ** 2, 0.0, 1.0)
        corners = points[[topology.upper_inner_lip[0], topology.upper_inner_lip[-1]]]
        mouth_half = 0.55 * float(np.linalg.norm(corners[1] - corners[0])) or 1.0
        # Lips open like an ellipse: fully in the middle, not at all at the corners.
        taper = np.clip(1.0 - (u / mouth_half) ** 2, 0.0, 1.0)
        for position, index in enumerate(warp_indices):
            if index in topology.lower_lip:
                weight[position] = 0.85 * taper[position]
            elif index in topology.upper_inner_lip[1:-1]:
                weight[position] = _UPPER_LIP_LIFT * taper[position]
            elif index in (topology.upper_inner_lip[0], topology.upper_inner_lip[-1]):
                weight[position] = 0.15
        anchors = self._anchors(face, frame_size)
        self.rest = np.concatenate([face, anchors])
        self._weight = np.concatenate([weight, np.zeros(len(anchors))])
        self._inner_upper = [warp_indices.index(i) for i in topology.upper_inner_lip if i in warp_indices]
        self._inner_lower = [warp_indices.index(i) for i in topology.lower_inner_lip if i in warp_indices]
        self.rect = PixelRect.around(anchors, margin=0, width=frame_size[0], height=frame_size[1], border=0)

    @staticmethod
    def _anchors(face: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
        """Fixed points on a rectangle well around the face, so the warp fades out."""
        lo, hi = face.min(axis=0), face.max(axis=0)
        centre, half = (lo + hi) / 2, (hi - lo) * 0.8
        x0, y0 = np.maximum(centre - half, 0)
        x1, y1 = np.minimum(centre + half, np.array(frame_size, np.float64) - 1)
        steps = np.linspace(0.0, 1.0, 5)
        top = np.stack([x0 + (x1 - x0) * steps, np.full(5, y0)], axis=1)
        bottom = np.stack([x0 + (x1 - x0) * steps, np.full(5, y1)], axis=1)
        left = np.stack([np.full(3, x0), y0 + (y1 - y0) * steps[1:-1]], axis=1)
        right = np.stack([np.full(3, x1), y0 + (y1 - y0) * steps[1:-1]], axis=1)
        return np.concatenate([top, bottom, left, right])

    def pose(self, opening: float) -> np.ndarray:
        """
        Landmark positions (warp points then anchors) with the mouth open by ``opening`` in [0, 1].

        :param opening: 0 is closed, 1 is fully open.
        """
        return self.rest + np.outer(self._weight * opening * self._drop, self._down)

    def mouth_polygon(self, posed: np.ndarray) -> np.ndarray:
        """The gap between the inner lips of a posed face, as a closed polygon."""
        upper = posed[self._inner_upper]
        lower = posed[self._inner_lower][::-1]
        return np.concatenate([upper, lower])

    def teeth_polygon(self, posed: np.ndarray, opening: float) -> np.ndarray:
        """A band under the upper inner lip, showing upper teeth."""
        upper = posed[self._inner_upper]
        band = upper + self._down * (0.16 * opening * self._drop)
        return np.concatenate([upper, band[::-1]])


class AvatarRenderer:
    """
    Renders AvatarInferenceNode executions from one portrait.

    :param engine: the face engine (loaded once per worker process).
    """

    def __init__(self, engine: FaceEngine) -> None:
        self._engine = engine

    def render(
        self, portrait: Path, audio: list[Path], output: Path, audio_names: list[str] | None = None
    ) -> AvatarReport:
        """
        A talking-head mp4 as long as the concatenated audio.

        :param portrait: the portrait image (the built-in ``face2.jpg``, or a v3 image video's image).
        :param audio: audio files, played in order.
        :param output: where the mp4 appears (atomically).
        :param audio_names: how error messages name the audio files (``audio_list[<n>]`` by default).
        :raises MediaError: when the audio cannot be decoded or the portrait holds no face.
        """
        started = time.perf_counter()
        clip = decode_audio(audio, _AUDIO_RATE, audio_names)
        base = portrait_frame(read_image(portrait, "avatar portrait"))
        faces = self._engine.find_faces(base)
        shape = self._engine.shape_in_box(base, max(faces, key=lambda b: b.area)) if faces else None
        if shape is None:
            raise MediaError("no face found in the avatar portrait", FailureCode.NO_FACE_DETECTED)
        rig = MouthRig(shape, self._engine.topology, (base.shape[1], base.shape[0]))
        warp = PiecewiseAffineWarp(base, rig.rest)
        frames = max(1, round(clip.duration * AVATAR_FPS))
        envelope = loudness_envelope(clip.samples, clip.sample_rate, float(AVATAR_FPS), frames)
        with atomic_path(output) as temp:
            writer = Mp4Writer(temp, base.shape[1], base.shape[0], AVATAR_FPS)
            try:
                writer.add_audio_track(clip.sample_rate)
                for opening in envelope:
                    writer.write_frame(open_mouth(base, rig, warp, float(opening)))
                writer.write_samples(clip.samples, clip.sample_rate)
                writer.close()
            except BaseException:
                writer.abort()
                raise
        report = AvatarReport(
            frames=frames,
            fps=float(AVATAR_FPS),
            duration=frames / float(AVATAR_FPS),
            audio_duration=clip.duration,
            engine=self._engine.name,
            seconds=time.perf_counter() - started,
        )
        log.info(
            "avatar: %d frames for %.2fs of audio in %.2fs, engine %s",
            report.frames,
            report.audio_duration,
            report.seconds,
            report.engine,
        )
        return report


def open_mouth(base: np.ndarray, rig: MouthRig, warp: PiecewiseAffineWarp, opening: float) -> np.ndarray:
    """
    The frame with the mouth opened by ``opening`` (the frame itself when nearly closed).

    :param base: BGR frame with the mouth closed (not modified).
    :param rig: the face's mouth rig in this frame.
    :param warp: a warp of ``base`` over ``rig.rest``.
    :param opening: 0 is closed, 1 is fully open.
    """
    if opening <= 0.02:
        return base
    posed = rig.pose(opening)
    rect = rig.rect
    patch, covered = warp.warp(posed, rect)
    frame = base.copy()
    region = frame[rect.slices()]
    region[covered > 0] = patch[covered > 0]
    local = np.array([rect.x0, rect.y0], np.float64)
    mouth = np.zeros(region.shape[:2], np.uint8)
    teeth = np.zeros(region.shape[:2], np.uint8)
    cv2.fillPoly(
        mouth,
        [np.round((rig.mouth_polygon(posed) - local) * 4).astype(np.int32)],
        255,
        lineType=cv2.LINE_AA,
        shift=2,
    )
    cv2.fillPoly(
        teeth,
        [np.round((rig.teeth_polygon(posed, opening) - local) * 4).astype(np.int32)],
        255,
        lineType=cv2.LINE_AA,
        shift=2,
    )
    alpha = cv2.GaussianBlur(mouth, (5, 5), 0).astype(np.float32)[..., None] / 255.0
    teeth_alpha = (
        cv2.GaussianBlur(np.minimum(teeth, mouth), (3, 3), 0).astype(np.float32)[..., None] / 255 * 0.55
    )
    inside = _MOUTH_COLOUR * (1 - teeth_alpha) + _TEETH_COLOUR * teeth_alpha
    region[:] = (region * (1 - alpha) + inside * alpha).astype(np.uint8)
    return frame
