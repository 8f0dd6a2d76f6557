"""The renderers in-process: engines (including the Haar fallback), warp, audio envelope."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from airflow_heygen.emulator.render.audio import loudness_envelope, speech_like
from airflow_heygen.emulator.render.faceswap import FaceSwapRenderer, read_image
from airflow_heygen.emulator.render.geometry import PixelRect
from airflow_heygen.emulator.render.landmarks import (
    EngineChoice,
    HaarEngine,
    MeshEngine,
    load_engine,
    resolve_engine_name,
)
from airflow_heygen.emulator.render.video_io import Mp4Writer, VideoFrameItem, VideoSource
from airflow_heygen.emulator.render.warp import PiecewiseAffineWarp
from tests.emulator.media_metrics import decode_video


def test_auto_engine_is_the_mesh_when_the_model_is_installed() -> None:
    assert isinstance(load_engine(EngineChoice.AUTO), MeshEngine)
    assert resolve_engine_name(EngineChoice.HAAR) == HaarEngine.name


@pytest.mark.parametrize("engine", [EngineChoice.MESH, EngineChoice.HAAR])
def test_engines_find_one_face_per_sample(sample_cache: Path, engine: EngineChoice) -> None:
    face_engine = load_engine(engine)
    for name in ("face.jpg", "face2.jpg"):
        image = read_image(sample_cache / name, name)
        faces = face_engine.find_faces(image)
        assert len(faces) == 1, name
        shape = face_engine.shape_in_box(image, faces[0])
        assert shape is not None
        box = shape.box()
        assert 60 < box.width < 300, box


def test_warp_identity_reproduces_the_image() -> None:
    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8), (0, 0), 2)
    points = np.array([[20, 20], [140, 20], [140, 100], [20, 100], [80, 60], [50, 40]], np.float32)
    patch, covered = PiecewiseAffineWarp(image, points).warp(points, PixelRect(20, 20, 140, 100))
    inside = covered > 0
    assert inside.mean() > 0.9
    assert np.abs(patch[inside].astype(int) - image[20:100, 20:140][inside].astype(int)).max() <= 1


def test_loudness_envelope_follows_syllables() -> None:
    samples = speech_like(2.0, 16000, seed=3)
    envelope = loudness_envelope(samples, 16000, 25.0, 50)
    assert envelope.shape == (50,)
    assert envelope.max() == pytest.approx(1.0)
    assert (envelope < 0.05).sum() >= 3, "pauses between words should close the mouth"
    silent = loudness_envelope(np.zeros(16000, np.float32), 16000, 25.0, 25)
    assert not silent.any()


@pytest.mark.slow
def test_haar_fallback_swaps_a_short_clip(sample_cache: Path, tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    with VideoSource(sample_cache / "target.mp4") as source:
        writer = Mp4Writer(clip, source.width, source.height, Fraction(25))
        for item in source.items():
            if isinstance(item, VideoFrameItem) and writer.frames_written < 12:
                writer.write_frame(item.image)
        writer.close()
    report = FaceSwapRenderer(HaarEngine()).render(sample_cache / "face.jpg", clip, tmp_path / "out.mp4")
    assert report.engine == "haar-cascade"
    assert report.frames == 12
    assert report.frames_with_face >= 10
    before, after = decode_video(clip).frames, decode_video(tmp_path / "out.mp4").frames
    difference = np.abs(before[6].astype(int) - after[6].astype(int)).mean(axis=2)
    assert difference[120:240, 260:380].mean() > 10, "the face region should change"
    assert difference[:, :150].mean() < 3, "the left of the frame holds no face and should not change"


@pytest.mark.slow
def test_audio_mp4_cannot_carry_is_transcoded_to_aac(sample_cache: Path, tmp_path: Path) -> None:
    with VideoSource(sample_cache / "target.mp4") as source:
        images = [item.image for item in source.items() if isinstance(item, VideoFrameItem)][:10]
    target = tmp_path / "pcm.mkv"
    with av.open(str(target), "w") as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 640, 360, "yuv420p"
        audio = container.add_stream("pcm_s16le", rate=16000)
        audio.layout = "mono"
        for index, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = index
            container.mux(video.encode(frame))
        tone = (np.sin(np.arange(6400) / 16000 * 2 * np.pi * 300) * 9000).astype("<i2")
        samples = av.AudioFrame.from_ndarray(tone[None, :], format="s16", layout="mono")
        samples.sample_rate, samples.pts = 16000, 0
        container.mux(audio.encode(samples))
        container.mux(audio.encode(None))
        container.mux(video.encode(None))
    report = FaceSwapRenderer(load_engine(EngineChoice.AUTO)).render(
        sample_cache / "face.jpg", target, tmp_path / "out.mp4"
    )
    assert report.frames == 10
    output = decode_video(tmp_path / "out.mp4")
    assert output.audio_codec == "aac"
    assert len(output.frames) == 10
