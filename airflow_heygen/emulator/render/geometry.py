"""Small geometric value types shared by the face engines and renderers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FaceBox:
    """
    An axis-aligned face box in image pixels.

    :param x0: left edge.
    :param y0: top edge.
    :param x1: right edge.
    :param y1: bottom edge.
    :param score: detector confidence in [0, 1].
    :param keypoints: optional key points (BlazeFace: right eye, left eye, nose, mouth, two ears).
    """

    x0: float
    y0: float
    x1: float
    y1: float
    score: float = 1.0
    keypoints: np.ndarray | None = None

    @property
    def width(self) -> float:
        """Box width in pixels."""
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        """Box height in pixels."""
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        """Box area in square pixels."""
        return max(self.width, 0.0) * max(self.height, 0.0)

    @property
    def centre(self) -> tuple[float, float]:
        """Box centre (x, y)."""
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def iou(self, other: FaceBox) -> float:
        """Intersection over union with another box."""
        ix = max(0.0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0.0, min(self.y1, other.y1) - max(self.y0, other.y0))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class PixelRect:
    """
    An integer rectangle inside an image, half-open: ``[x0, x1) x [y0, y1)``.

    :param x0: left column.
    :param y0: top row.
    :param x1: one past the right column.
    :param y1: one past the bottom row.
    """

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        """Width in pixels."""
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        """Height in pixels."""
        return self.y1 - self.y0

    @property
    def is_empty(self) -> bool:
        """True when the rectangle holds no pixel."""
        return self.width <= 0 or self.height <= 0

    @classmethod
    def around(cls, points: np.ndarray, margin: int, width: int, height: int, border: int = 1) -> PixelRect:
        """
        The bounding rectangle of points grown by a margin and clipped to an image.

        :param points: (N, 2) array of x, y.
        :param margin: pixels added on each side.
        :param width: image width.
        :param height: image height.
        :param border: pixels kept free at the image edges.
        """
        lo = np.floor(points.min(axis=0)).astype(int) - margin
        hi = np.ceil(points.max(axis=0)).astype(int) + margin + 1
        return cls(
            x0=max(int(lo[0]), border),
            y0=max(int(lo[1]), border),
            x1=min(int(hi[0]), width - border),
            y1=min(int(hi[1]), height - border),
        )

    def slices(self) -> tuple[slice, slice]:
        """Numpy slices (rows, columns) selecting this rectangle."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)
