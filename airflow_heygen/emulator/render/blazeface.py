"""BlazeFace face detection (MediaPipe's ``face_detection_*.tflite``) run through ``cv2.dnn``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from airflow_heygen.emulator.render.geometry import FaceBox

_RAW_SCORE_LIMIT = 80.0
_NMS_IOU = 0.3


@dataclass(frozen=True)
class BlazeFaceSpec:
    """
    Shape of one BlazeFace model variant (from MediaPipe's ssd anchor options).

    :param file_name: model file name inside the model folder.
    :param input_size: square input size in pixels.
    :param strides: feature-map strides of the anchor layers.
    :param two_anchors_per_cell: whether each layer cell holds two anchors (interpolated aspect ratio).
    """

    file_name: str
    input_size: int
    strides: tuple[int, ...]
    two_anchors_per_cell: bool

    def anchors(self) -> np.ndarray:
        """Anchor centres (normalised x, y) in the order of the model outputs."""
        centres: list[tuple[float, float]] = []
        layer = 0
        while layer < len(self.strides):
            repeats = 0
            last = layer
            while last < len(self.strides) and self.strides[last] == self.strides[layer]:
                repeats += 2 if self.two_anchors_per_cell else 1
                last += 1
            cells = self.input_size // self.strides[layer]
            for y in range(cells):
                for x in range(cells):
                    centres.extend([((x + 0.5) / cells, (y + 0.5) / cells)] * repeats)
            layer = last
        return np.asarray(centres, dtype=np.float32)


SHORT_RANGE = BlazeFaceSpec("face_detection_short_range.tflite", 128, (8, 16, 16, 16), True)
FULL_RANGE = BlazeFaceSpec("face_detection_full_range.tflite", 192, (4,), False)


class BlazeFaceDetector:
    """
    Finds faces with one BlazeFace model; returns boxes with six key points (eyes, nose, mouth, ears).

    :param model_dir: folder holding the ``.tflite`` files.
    :param spec: which model variant to load.
    :param min_score: minimum confidence of a detection.
    """

    def __init__(self, model_dir: Path, spec: BlazeFaceSpec, min_score: float = 0.5) -> None:
        self._net = cv2.dnn.readNetFromTFLite(str(model_dir / spec.file_name))
        self._outputs = list(self._net.getUnconnectedOutLayersNames())
        self._spec = spec
        self._anchors = spec.anchors()
        self._min_score = min_score

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """
        Detect faces in a BGR image.

        :param image: BGR image, any size.
        :return: boxes in image pixels after weighted non-maximum suppression, best first.
        """
        size = self._spec.input_size
        height, width = image.shape[:2]
        scale = size / max(height, width)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
        canvas = np.zeros((size, size, 3), np.uint8)
        canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = cv2.resize(
            image, (new_w, new_h), interpolation=cv2.INTER_AREA
        )
        blob = cv2.dnn.blobFromImage(canvas, 1 / 127.5, (size, size), (127.5, 127.5, 127.5), swapRB=True)
        self._net.setInput(blob)
        scores_raw, boxes_raw = None, None
        for out in self._net.forward(self._outputs):
            if out.shape[-1] == 1:
                scores_raw = out.reshape(-1)
            else:
                boxes_raw = out.reshape(len(self._anchors), -1)
        if scores_raw is None or boxes_raw is None:
            raise RuntimeError(f"unexpected outputs from {self._spec.file_name}")
        scores = 1.0 / (1.0 + np.exp(-np.clip(scores_raw, -_RAW_SCORE_LIMIT, _RAW_SCORE_LIMIT)))
        keep = np.flatnonzero(scores > self._min_score)
        if keep.size == 0:
            return []
        raw = boxes_raw[keep, :16] / size
        anchors = self._anchors[keep]
        centre = raw[:, 0:2] + anchors
        half = raw[:, 2:4] / 2
        keypoints = raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]

        def to_image(points: np.ndarray) -> np.ndarray:
            return (points * size - np.array([pad_x, pad_y], np.float32)) / scale

        corners = to_image(np.stack([centre - half, centre + half], axis=1))
        candidates = [
            FaceBox(
                x0=float(c[0, 0]),
                y0=float(c[0, 1]),
                x1=float(c[1, 0]),
                y1=float(c[1, 1]),
                score=float(s),
                keypoints=to_image(k),
            )
            for c, s, k in zip(corners, scores[keep], keypoints, strict=True)
            if c[1, 0] > c[0, 0] and c[1, 1] > c[0, 1]
        ]
        return _weighted_nms(candidates)


def _weighted_nms(boxes: list[FaceBox]) -> list[FaceBox]:
    """MediaPipe's weighted non-maximum suppression: overlapping boxes are averaged by score."""
    remaining = sorted(boxes, key=lambda b: -b.score)
    merged: list[FaceBox] = []
    while remaining:
        best = remaining[0]
        group = [b for b in remaining if best.iou(b) > _NMS_IOU]
        remaining = [b for b in remaining if best.iou(b) <= _NMS_IOU]
        weights = np.array([b.score for b in group], np.float64)
        weights /= weights.sum()
        coords = np.array([[b.x0, b.y0, b.x1, b.y1] for b in group]) * weights[:, None]
        x0, y0, x1, y1 = coords.sum(axis=0)
        keypoints = None
        if best.keypoints is not None:
            keypoints = sum(
                (b.keypoints * w for b, w in zip(group, weights, strict=True) if b.keypoints is not None),
                np.zeros_like(best.keypoints),
            ).astype(np.float32)
        merged.append(
            FaceBox(
                x0=float(x0), y0=float(y0), x1=float(x1), y1=float(y1), score=best.score, keypoints=keypoints
            )
        )
    return merged
