"""Piecewise-affine image warp over a Delaunay triangulation of landmark points."""

from __future__ import annotations

import cv2
import numpy as np

from airflow_heygen.emulator.render.geometry import PixelRect

_SUBPIXEL_BITS = 2


def delaunay_triangles(points: np.ndarray) -> np.ndarray:
    """
    Delaunay triangulation of points, as vertex indices.

    :param points: (N, 2) array of x, y.
    :return: (T, 3) int array of indices into ``points``.
    """
    pts = points.astype(np.float64)
    lo = np.floor(pts.min(axis=0)) - 2
    hi = np.ceil(pts.max(axis=0)) + 3
    subdiv = cv2.Subdiv2D((int(lo[0]), int(lo[1]), int(hi[0] - lo[0]), int(hi[1] - lo[1])))
    for x, y in pts:
        subdiv.insert((float(x), float(y)))
    corners = np.asarray(subdiv.getTriangleList(), np.float64).reshape(-1, 3, 2)
    distances = np.linalg.norm(corners[:, :, None, :] - pts[None, None, :, :], axis=-1)
    nearest = distances.argmin(axis=-1)
    exact = (distances.min(axis=-1) < 1e-3).all(axis=1)
    triangles = nearest[exact]
    distinct = (
        (triangles[:, 0] != triangles[:, 1])
        & (triangles[:, 1] != triangles[:, 2])
        & (triangles[:, 0] != triangles[:, 2])
    )
    return triangles[distinct].astype(np.int32)


class PiecewiseAffineWarp:
    """
    Warps a source image so that its triangulated points land on destination points.

    Each destination pixel finds its triangle in a raster of triangle ids, and one ``cv2.remap``
    samples the source through that triangle's inverse affine map.

    :param source_image: the image to take pixels from.
    :param source_points: (N, 2) landmark positions in ``source_image``.
    :param triangles: (T, 3) vertex indices; a Delaunay triangulation of the source points by default.
    """

    def __init__(
        self, source_image: np.ndarray, source_points: np.ndarray, triangles: np.ndarray | None = None
    ) -> None:
        self._image = source_image
        self._source = source_points.astype(np.float64)
        self.triangles = delaunay_triangles(source_points) if triangles is None else triangles

    def warp(self, dest_points: np.ndarray, rect: PixelRect) -> tuple[np.ndarray, np.ndarray]:
        """
        The source warped onto destination points, inside one rectangle of the destination image.

        :param dest_points: (N, 2) destination positions, in destination image pixels.
        :param rect: the destination rectangle to fill.
        :return: the warped patch (rect-sized, like the source's channels) and a uint8 coverage mask
            (255 where a triangle covers the pixel).
        """
        local = dest_points.astype(np.float64) - np.array([rect.x0, rect.y0], np.float64)
        ids = np.full((rect.height, rect.width), -1, np.int32)
        fixed = np.round(local * (1 << _SUBPIXEL_BITS)).astype(np.int32)
        for index, tri in enumerate(self.triangles):
            cv2.fillConvexPoly(ids, fixed[tri], index, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
        corners = np.concatenate([local[self.triangles], np.ones((len(self.triangles), 3, 1))], axis=2)
        # Solve corners @ A = source corners, per triangle: A maps (x, y, 1) in the patch to the source.
        affine = np.linalg.solve(
            corners + np.eye(3)[None] * (np.abs(np.linalg.det(corners)) < 1e-9)[:, None, None],
            self._source[self.triangles],
        ).astype(np.float32)
        covered = ids >= 0
        per_pixel = affine[np.where(covered, ids, 0)]
        xs = np.arange(rect.width, dtype=np.float32)[None, :]
        ys = np.arange(rect.height, dtype=np.float32)[:, None]
        map_x = xs * per_pixel[..., 0, 0] + ys * per_pixel[..., 1, 0] + per_pixel[..., 2, 0]
        map_y = xs * per_pixel[..., 0, 1] + ys * per_pixel[..., 1, 1] + per_pixel[..., 2, 1]
        patch = cv2.remap(self._image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        return patch, np.where(covered, 255, 0).astype(np.uint8)
