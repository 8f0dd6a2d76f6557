"""Framing of the built-in portrait (``face2.jpg``, Grace Hopper) in a 16:9 video frame."""

from __future__ import annotations

import math

import cv2
import numpy as np

FRAME_SIZE = (640, 360)
# Where the face sits in the original 512x600 portrait, and how much the portrait is scaled.
_FACE_CENTRE_Y = 200
_SCALE = 0.78
_EDGE_RAMP = 40


def portrait_frame(portrait: np.ndarray, size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """
    The portrait centred in a frame over a blurred copy of itself, face in the upper middle.

    :param portrait: BGR portrait image (the built-in ``face2.jpg``).
    :param size: frame (width, height).
    """
    width, height = size
    scale = _SCALE * height / FRAME_SIZE[1]
    small = cv2.resize(portrait, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    canvas: np.ndarray = cv2.GaussianBlur(cv2.resize(small, (max(width, w), h)), (0, 0), 18).astype(
        np.float32
    )
    x0 = (canvas.shape[1] - w) // 2
    edge_distance = np.minimum(np.arange(w), np.arange(w)[::-1])
    ramp = np.clip(edge_distance / _EDGE_RAMP, 0.0, 1.0).astype(np.float32)[None, :, None]
    canvas[:, x0 : x0 + w] = canvas[:, x0 : x0 + w] * (1 - ramp) + small * ramp
    top = min(max(int(_FACE_CENTRE_Y * scale) - int(height * 0.47), 0), max(h - height, 0))
    left = (canvas.shape[1] - width) // 2
    frame: np.ndarray = canvas[top : top + height, left : left + width]
    if frame.shape[0] < height:
        frame = cv2.copyMakeBorder(frame, 0, height - frame.shape[0], 0, 0, cv2.BORDER_REPLICATE)
    return frame.astype(np.uint8)


def camera_motion(frame: np.ndarray, t: float) -> np.ndarray:
    """
    A slow hand-held camera: zoom in and out by 8 %, pan and roll a little.

    :param frame: BGR frame.
    :param t: time as a fraction of the clip, 0..1.
    """
    h, w = frame.shape[:2]
    zoom = 1.0 + 0.08 * math.sin(math.pi * t)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 2.0 * math.sin(2 * math.pi * t), zoom)
    matrix[0, 2] += 0.022 * w * math.sin(2 * math.pi * t)
    matrix[1, 2] += 0.017 * h * math.sin(3 * math.pi * t)
    return cv2.warpAffine(frame, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
