"""Real renders over HTTP, measured: face swap quality and the avatar's lip sync."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from airflow_heygen.emulator.render.faceswap import read_image
from airflow_heygen.emulator.render.portrait import portrait_frame
from airflow_heygen.emulator.testing import EmulatorHandle
from tests.emulator.conftest import avatar_body, faceswap_body, submit_ok, wait_final
from tests.emulator.media_metrics import (
    band_pass,
    decode_video,
    face_of,
    hull_mask,
    mesh_engine,
    ncc,
    wav_loudness_per_frame,
)

pytestmark = pytest.mark.slow


def download(url: str, path: Path) -> Path:
    with urllib.request.urlopen(url, timeout=60) as response:
        path.write_bytes(response.read())
    return path


def test_faceswap_replaces_the_face(real_emulator: EmulatorHandle, tmp_path: Path) -> None:
    data = wait_final(real_emulator, submit_ok(real_emulator, faceswap_body(real_emulator)), timeout=120)
    assert data["status"] == "completed", data
    samples = real_emulator.data_dir / "samples"
    original = decode_video(samples / "target.mp4")
    swapped = decode_video(download(data["output"]["video_url"], tmp_path / "swapped.mp4"))

    assert len(swapped.frames) == len(original.frames)
    assert swapped.fps == original.fps
    assert swapped.duration == pytest.approx(original.duration, abs=1 / original.fps)
    assert swapped.audio_codec == original.audio_codec == "aac"

    engine = mesh_engine()
    source = read_image(samples / "face.jpg", "face.jpg")
    source_face = face_of(engine, source)
    source_mask = cv2.erode(hull_mask(source_face, source.shape[:2]), np.ones((9, 9), np.uint8)) > 0
    for index in range(0, len(original.frames), 15):
        before, after = original.frames[index], swapped.frames[index]
        # Landmarks come from the input frame only, so the measuring tool never looks at the output.
        target_face = face_of(engine, before)
        face = hull_mask(target_face, before.shape[:2])
        difference = np.abs(before.astype(np.int16) - after.astype(np.int16)).mean(axis=2)
        inside = cv2.erode(face, np.ones((5, 5), np.uint8)) > 0
        outside = cv2.dilate(face, np.ones((31, 31), np.uint8)) == 0
        assert difference[inside].mean() > 15, "the face region barely changed"
        assert difference[outside].mean() < 3.5, "pixels outside the face changed beyond codec noise"

        # Similarity to the source face: both frames are mapped onto the source photo by the same
        # similarity transform (from the input frame's landmarks), then compared with the source in
        # its face hull by normalised cross-correlation of band-passed grey levels. Poisson blending
        # (seamlessClone) keeps the source's gradients and takes colour and shading from the target,
        # so structure is what a swap must carry over; colour histograms would reward the original,
        # whose colours the LAB match deliberately keeps.
        matrix, _ = cv2.estimateAffinePartial2D(target_face.points, source_face.points)
        size = (source.shape[1], source.shape[0])
        before_aligned = cv2.warpAffine(before, matrix, size)
        after_aligned = cv2.warpAffine(after, matrix, size)
        similarity_before = ncc(band_pass(before_aligned), band_pass(source), source_mask)
        similarity_after = ncc(band_pass(after_aligned), band_pass(source), source_mask)
        assert similarity_after > 0.35, similarity_after
        assert similarity_after > similarity_before + 0.2, (similarity_before, similarity_after)


def test_avatar_follows_the_audio(real_emulator: EmulatorHandle, tmp_path: Path) -> None:
    data = wait_final(real_emulator, submit_ok(real_emulator, avatar_body(real_emulator)), timeout=120)
    assert data["status"] == "completed", data
    video = decode_video(download(data["output"]["video"]["video_url"], tmp_path / "avatar.mp4"))
    samples = real_emulator.data_dir / "samples"
    loudness, audio_seconds = wav_loudness_per_frame(samples / "speech.wav", video.fps, len(video.frames))

    assert video.audio_codec == "aac"
    assert abs(len(video.frames) / video.fps - audio_seconds) <= 1 / video.fps
    assert data["output"]["video"]["duration"] == pytest.approx(audio_seconds, abs=1 / video.fps)

    rest = portrait_frame(read_image(samples / "face2.jpg", "face2.jpg"))
    face = face_of(mesh_engine(), rest)
    lips = face.points[[13, 14, 61, 291, 17]]
    (x0, y0), (x1, y1) = lips.min(axis=0) - 6, lips.max(axis=0) + 12
    box = (slice(int(y0), int(y1)), slice(int(x0), int(x1)))
    motion = np.array(
        [np.abs(frame[box].astype(np.int16) - rest[box].astype(np.int16)).mean() for frame in video.frames]
    )
    correlation = float(np.corrcoef(motion, loudness)[0, 1])
    assert correlation > 0.7, correlation
    assert motion[loudness > np.percentile(loudness, 80)].mean() > 3 * motion[loudness < 0.01].mean() + 1


def test_chained_avatar_then_faceswap(real_emulator: EmulatorHandle, tmp_path: Path) -> None:
    """The guide's chain: make an avatar video, then swap a face into it (by its output URL)."""
    avatar = wait_final(real_emulator, submit_ok(real_emulator, avatar_body(real_emulator)), timeout=120)
    avatar_url = avatar["output"]["video"]["video_url"]
    data = wait_final(
        real_emulator, submit_ok(real_emulator, faceswap_body(real_emulator, target=avatar_url)), timeout=120
    )
    assert data["status"] == "completed", data
    original = decode_video(download(avatar_url, tmp_path / "avatar.mp4"))
    swapped = decode_video(download(data["output"]["video_url"], tmp_path / "swapped.mp4"))
    assert len(swapped.frames) == len(original.frames)
    assert swapped.audio_codec == "aac"
    middle = len(original.frames) // 2
    difference = np.abs(original.frames[middle].astype(np.int16) - swapped.frames[middle].astype(np.int16))
    assert difference.mean(axis=2)[100:260, 240:400].mean() > 15
