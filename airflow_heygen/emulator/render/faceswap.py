"""
Face swap on the CPU: the source face is warped onto the target face in every frame.

Per frame: landmarks (tracked from the previous frame), a piecewise-affine warp of the source face
onto them, a LAB mean/std colour match, and ``cv2.seamlessClone``. Frames are read and tracked in
order on the calling thread, blended on a small thread pool (OpenCV releases the GIL) and encoded in
order; audio packets are remuxed unchanged.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from airflow_heygen.emulator.failures import FailureCode
from airflow_heygen.emulator.render.errors import MediaError
from airflow_heygen.emulator.render.geometry import PixelRect
from airflow_heygen.emulator.render.landmarks import FaceEngine, FaceShape, FaceTopology
from airflow_heygen.emulator.render.video_io import Mp4Writer, VideoFrameItem, VideoSource, atomic_path
from airflow_heygen.emulator.render.warp import PiecewiseAffineWarp

log = logging.getLogger(__name__)

_MAX_SOURCE_SIDE = 1600
_MIN_FACE_PIXELS = 64
_FOREHEAD_PULL = 0.45
_GAIN_LIMITS = (0.5, 2.0)
_CLONE_SIDE = 200


@dataclass(frozen=True)
class RenderReport:
    """
    What a render produced.

    :param frames: video frames written.
    :param fps: frame rate.
    :param duration: video duration in seconds (frames / fps).
    :param engine: the face engine that ran.
    :param frames_with_face: frames in which a face was found and replaced.
    :param seconds: wall time the render took.
    """

    frames: int
    fps: float
    duration: float
    engine: str
    frames_with_face: int
    seconds: float


def read_image(path: Path, what: str) -> np.ndarray:
    """
    Decode an image file as BGR.

    :param path: the file.
    :param what: how to name the image in error messages.
    :raises MediaError: when it is not a decodable image.
    """
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise MediaError(f"{what} could not be decoded as an image")
    return image


class FaceTracker:
    """
    Follows one face through frames, damping landmark jitter when the face barely moves.

    :param engine: the face engine.
    """

    def __init__(self, engine: FaceEngine) -> None:
        self._engine = engine
        self._previous: FaceShape | None = None

    def locate(self, frame: np.ndarray) -> FaceShape | None:
        """
        The face in this frame (None when there is none).

        :param frame: BGR frame.
        """
        found = self._engine.locate(frame, self._previous)
        if found is not None and self._previous is not None:
            size = float(np.ptp(found.points[:, 0]) + np.ptp(found.points[:, 1])) / 2
            motion = float(np.linalg.norm(found.points - self._previous.points, axis=1).mean())
            alpha = min(max(motion / max(0.03 * size, 1e-3), 0.4), 1.0)
            found = FaceShape(alpha * found.points + (1 - alpha) * self._previous.points, found.score)
        self._previous = found
        return found


class FaceBlender:
    """
    Puts one source face onto target faces.

    :param source_image: BGR image holding the source face.
    :param source_shape: the source face's landmarks.
    :param topology: meaning of the landmark indices.
    """

    def __init__(self, source_image: np.ndarray, source_shape: FaceShape, topology: FaceTopology) -> None:
        self._topology = topology
        self._warp_indices = np.array(topology.warp_indices)
        self._warp = PiecewiseAffineWarp(source_image, source_shape.points[self._warp_indices])

    def blend(self, frame: np.ndarray, shape: FaceShape) -> np.ndarray:
        """
        The frame with the source face blended onto ``shape``.

        :param frame: BGR target frame (not modified).
        :param shape: the target face's landmarks.
        """
        height, width = frame.shape[:2]
        points = shape.points[self._warp_indices]
        rect = PixelRect.around(points, margin=4, width=width, height=height, border=2)
        if rect.width < 8 or rect.height < 8:
            return frame
        patch, covered = self._warp.warp(points, rect)
        mask = self._mask(shape, rect) & covered
        mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
        if cv2.countNonZero(mask) < _MIN_FACE_PIXELS:
            return frame
        region = frame[rect.slices()]
        patch = _match_colour(patch, region, mask)
        blended = frame.copy()
        blended[rect.slices()] = _poisson_blend(patch, region, mask)
        return blended

    def _mask(self, shape: FaceShape, rect: PixelRect) -> np.ndarray:
        """The face outline with the forehead lowered toward the brows (keeps hairlines out)."""
        topo = self._topology
        outline = shape.points[list(topo.outline)].astype(np.float64)
        anchor = shape.points[topo.brow_anchor].astype(np.float64)
        for position, index in enumerate(topo.outline):
            if index in topo.forehead:
                outline[position] += _FOREHEAD_PULL * (anchor - outline[position])
        mask = np.zeros((rect.height, rect.width), np.uint8)
        local = np.round((outline - [rect.x0, rect.y0]) * 4).astype(np.int32)
        cv2.fillPoly(mask, [local], 255, lineType=cv2.LINE_8, shift=2)
        return mask


def _poisson_blend(patch: np.ndarray, region: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """
    ``cv2.seamlessClone`` of the patch into the region inside the mask.

    Normal cloning equals the patch plus a harmonic membrane that carries the region's colour in
    from the mask's edge. For large faces the clone runs on a copy scaled to ``_CLONE_SIDE`` pixels
    and only that smooth membrane is scaled back up, so fine detail stays at full resolution while
    the cost stays bounded.
    """
    height, width = mask.shape
    scale = min(1.0, _CLONE_SIDE / max(height, width))
    if scale < 1.0:
        size = (max(8, round(width * scale)), max(8, round(height * scale)))
        small_patch = cv2.resize(patch, size, interpolation=cv2.INTER_AREA)
        small_region = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
        small_mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    else:
        small_patch, small_region, small_mask = patch, region, mask
    x, y, w, h = cv2.boundingRect(small_mask)
    if w < 3 or h < 3:
        return region
    # seamlessClone erodes and inverts the mask it is given in place: hand it a copy.
    centre = (x + w // 2, y + h // 2)
    cloned = cv2.seamlessClone(small_patch, small_region, small_mask.copy(), centre, cv2.NORMAL_CLONE)
    if scale == 1.0:
        return np.asarray(cloned)
    membrane = cv2.resize(
        cloned.astype(np.float32) - small_patch.astype(np.float32),
        (width, height),
        interpolation=cv2.INTER_LINEAR,
    )
    result = np.clip(patch.astype(np.float32) + membrane, 0, 255)
    alpha = cv2.GaussianBlur(mask, (0, 0), 1.0).astype(np.float32)[..., None] / 255.0
    return (result * alpha + region.astype(np.float32) * (1.0 - alpha)).astype(np.uint8)


def _match_colour(patch: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Give the patch the target's LAB mean and standard deviation inside the mask."""
    patch_lab = cv2.cvtColor(patch, cv2.COLOR_BGR2LAB)
    target_lab = cv2.cvtColor(target, cv2.COLOR_BGR2LAB)
    patch_mean, patch_std = cv2.meanStdDev(patch_lab, mask=mask)
    target_mean, target_std = cv2.meanStdDev(target_lab, mask=mask)
    gain = np.clip(target_std.reshape(3) / (patch_std.reshape(3) + 1e-3), *_GAIN_LIMITS)
    matrix = np.zeros((3, 4), np.float32)
    matrix[[0, 1, 2], [0, 1, 2]] = gain
    matrix[:, 3] = target_mean.reshape(3) - gain * patch_mean.reshape(3)
    return cv2.cvtColor(cv2.transform(patch_lab, matrix), cv2.COLOR_LAB2BGR)


class FaceSwapRenderer:
    """
    Renders FaceswapNode executions.

    :param engine: the face engine (loaded once per worker process).
    :param threads: blending threads per render.
    """

    def __init__(self, engine: FaceEngine, threads: int = 2) -> None:
        self._engine = engine
        self._threads = max(1, threads)

    def load_source(self, path: Path) -> tuple[np.ndarray, FaceShape]:
        """
        The source image and its single face.

        :param path: the source image file.
        :raises MediaError: when it is undecodable or holds no face or several faces.
        """
        image = read_image(path, "source image")
        longest = max(image.shape[:2])
        if longest > _MAX_SOURCE_SIDE:
            factor = _MAX_SOURCE_SIDE / longest
            image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        faces = self._engine.find_faces(image)
        if not faces:
            raise MediaError("no face found in the source image", FailureCode.NO_FACE_DETECTED)
        if len(faces) > 1:
            raise MediaError(
                f"more than one face found in the source image ({len(faces)}); "
                "use a photo with exactly one face",
                FailureCode.MULTIPLE_FACES_DETECTED,
            )
        shape = self._engine.shape_in_box(image, faces[0])
        if shape is None:
            raise MediaError("no face found in the source image", FailureCode.NO_FACE_DETECTED)
        return image, shape

    def render(self, source_image: Path, target_video: Path, output: Path) -> RenderReport:
        """
        Swap the source face into every frame of the target video.

        :param source_image: image with exactly one face.
        :param target_video: video whose face is replaced; its fps, frame count and audio are kept.
        :param output: where the mp4 appears (atomically).
        :raises MediaError: for bad media (see :meth:`load_source`; no face in any target frame).
        """
        started = time.perf_counter()
        image, shape = self.load_source(source_image)
        blender = FaceBlender(image, shape, self._engine.topology)
        tracker = FaceTracker(self._engine)
        with VideoSource(target_video) as source, atomic_path(output) as temp:
            writer = Mp4Writer(temp, source.width, source.height, source.fps)
            try:
                if source.audio_stream is not None:
                    writer.add_audio_like(source.audio_stream)
                with_face = self._pipeline(source, tracker, blender, writer)
                if with_face == 0:
                    raise MediaError(
                        "no face found in any frame of the target video", FailureCode.NO_FACE_DETECTED
                    )
                writer.close()
            except BaseException:
                writer.abort()
                raise
            frames, fps = writer.frames_written, float(source.fps)
        report = RenderReport(
            frames=frames,
            fps=fps,
            duration=frames / fps,
            engine=self._engine.name,
            frames_with_face=with_face,
            seconds=time.perf_counter() - started,
        )
        log.info(
            "face swap: %d frames (%d with a face) in %.2fs, %.1f fps, engine %s",
            report.frames,
            report.frames_with_face,
            report.seconds,
            report.frames / max(report.seconds, 1e-9),
            report.engine,
        )
        return report

    def _pipeline(
        self, source: VideoSource, tracker: FaceTracker, blender: FaceBlender, writer: Mp4Writer
    ) -> int:
        """Track in order, blend in parallel, write in order; returns the frames with a face."""
        depth = 2 * self._threads + 2
        pending: deque[Future[np.ndarray] | np.ndarray | av.Packet] = deque()
        with_face = 0

        def write(entry: Future[np.ndarray] | np.ndarray | av.Packet) -> None:
            if isinstance(entry, av.Packet):
                writer.write_audio_packet(entry)
            elif isinstance(entry, Future):
                writer.write_frame(entry.result())
            else:
                writer.write_frame(entry)

        with ThreadPoolExecutor(self._threads, thread_name_prefix="faceswap") as pool:
            for item in source.items():
                if isinstance(item, VideoFrameItem):
                    shape = tracker.locate(item.image)
                    if shape is None:
                        pending.append(item.image)
                    else:
                        with_face += 1
                        pending.append(pool.submit(blender.blend, item.image, shape))
                else:
                    pending.append(item)
                while len(pending) > depth or (pending and _ready(pending[0])):
                    write(pending.popleft())
            while pending:
                write(pending.popleft())
        return with_face


def _ready(entry: object) -> bool:
    return not isinstance(entry, Future) or entry.done()
