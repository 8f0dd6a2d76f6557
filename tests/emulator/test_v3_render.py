"""v3 real rendering (few, short renders): avatar video, lip-sync and translation outputs."""

from __future__ import annotations

import re
import wave
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from airflow_heygen.emulator.render.audio import speech_like
from airflow_heygen.emulator.render.video_io import decode_audio
from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from tests.emulator.media_metrics import decode_video
from tests.emulator.v3_contract import V3Client, translation_body, url_media, wait_v3

pytestmark = pytest.mark.slow

RATE = 22050
NEW_AUDIO_SECONDS = 2.0


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory, sample_cache: Path) -> Iterator[V3Client]:
    data_dir = tmp_path_factory.mktemp("v3-real")
    (data_dir / "samples").symlink_to(sample_cache, target_is_directory=True)
    with run_emulator(data_dir, render="real", workers=2) as handle:
        yield V3Client(handle)


@pytest.fixture(scope="module")
def new_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of speech-like audio unlike the sample's (another seed)."""
    path = tmp_path_factory.mktemp("audio") / "new.wav"
    samples = speech_like(NEW_AUDIO_SECONDS, RATE, seed=99)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((samples * 32767).astype("<i2").tobytes())
    return path


def _download(handle: EmulatorHandle, url: str, folder: Path, name: str) -> Path:
    status, content = handle.request("GET", url.removeprefix(handle.base_url))
    assert status == 200
    path = folder / name
    path.write_bytes(content)
    return path


def _envelope(path: Path, seconds: float) -> np.ndarray:
    """RMS per 40 ms of the first ``seconds`` of a file's audio."""
    samples = decode_audio([path], 8000).samples[: int(seconds * 8000)]
    return np.sqrt(np.mean(samples[: len(samples) // 320 * 320].reshape(-1, 320) ** 2, axis=1))


def _waveform(path: Path, seconds: float) -> np.ndarray:
    return decode_audio([path], 8000).samples[: int(seconds * 8000)].astype(np.float64)


def _same_sound(a: np.ndarray, b: np.ndarray) -> float:
    """Peak normalized cross-correlation of two waveforms at any lag: near 1 for the same sound."""
    size = len(a) + len(b)
    cross = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    return float(np.abs(cross).max() / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Best correlation of two envelopes within 3 steps of lag (AAC adds a priming delay)."""
    best = -1.0
    for lag in range(-3, 4):
        x, y = (a[lag:], b) if lag >= 0 else (a, b[-lag:])
        n = min(len(x), len(y))
        best = max(best, float(np.corrcoef(x[:n], y[:n])[0, 1]))
    return best


def test_avatar_video_from_an_audio_asset(real: V3Client, new_audio: Path, tmp_path: Path) -> None:
    status, asset = real.upload(new_audio.read_bytes(), "new.wav")
    assert status == 200
    body = {"type": "avatar", "avatar_id": "a", "audio_asset_id": asset["data"]["asset_id"]}
    data = wait_v3(real, "videos", real.ok("POST", "/v3/videos", body)["video_id"], timeout=120)
    assert data["status"] == "completed", data
    output = _download(real.handle, data["video_url"], tmp_path, "avatar.mp4")
    with av.open(str(output)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        audio = container.streams.audio[0]
        audio_seconds = float(audio.duration * audio.time_base)
    video = decode_video(output)
    assert len(video.frames) == round(NEW_AUDIO_SECONDS * 25)
    assert audio_seconds == pytest.approx(NEW_AUDIO_SECONDS, abs=0.05)
    assert data["duration"] == pytest.approx(NEW_AUDIO_SECONDS, abs=0.05)
    assert _correlation(_envelope(output, 2.0), _envelope(new_audio, 2.0)) > 0.9


def test_lipsync_replaces_the_audio_and_moves_the_mouth(
    real: V3Client, new_audio: Path, tmp_path: Path
) -> None:
    handle = real.handle
    status, asset = real.upload(new_audio.read_bytes(), "new.wav")
    assert status == 200
    body = {"video": url_media(handle.sample_url("target.mp4")), "audio": url_media(asset["data"]["url"])}
    data = wait_v3(real, "lipsyncs", real.ok("POST", "/v3/lipsyncs", body)["lipsync_id"], timeout=180)
    assert data["status"] == "completed", data
    output = _download(handle, data["video_url"], tmp_path, "lipsync.mp4")
    source = handle.data_dir / "samples" / "target.mp4"
    assert data["duration"] == pytest.approx(NEW_AUDIO_SECONDS, abs=0.05), "as long as the new audio"
    assert _correlation(_envelope(output, 2.0), _envelope(new_audio, 2.0)) > 0.9
    assert _same_sound(_waveform(output, 2.0), _waveform(source, 2.0)) < 0.5, "the old audio is gone"
    frames = decode_video(output).frames
    originals = decode_video(source).frames
    changed = [
        float(np.abs(a.astype(int) - b.astype(int)).mean()) for a, b in zip(frames, originals, strict=False)
    ]
    assert max(changed) > 1.0, "the mouth was re-driven in some frames"


def test_translation_per_language_with_captions(real: V3Client, tmp_path: Path) -> None:
    handle = real.handle
    ids = real.ok("POST", "/v3/video-translations", translation_body(handle, ["es", "fr"]))[
        "video_translation_ids"
    ]
    source = handle.data_dir / "samples" / "target.mp4"
    waves = [_waveform(source, 2.8)]
    for job_id, language in zip(ids, ["es", "fr"], strict=True):
        data = wait_v3(real, "video-translations", job_id, timeout=120)
        assert data["status"] == "completed", data
        assert data["output_language"] == language
        output = _download(handle, data["video_url"], tmp_path, f"{language}.mp4")
        assert len(decode_video(output).frames) == len(decode_video(source).frames), "same video"
        assert data["duration"] == pytest.approx(3.0, abs=0.1)
        waves.append(_waveform(output, 2.8))
        srt = _download(handle, data["srt_caption_url"], tmp_path, f"{language}.srt").read_text("utf-8")
        cues = re.findall(r"(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)", srt)
        assert len(cues) >= 2
        h, m, s, ms = (int(x) for x in cues[-1][4:])
        assert h * 3600 + m * 60 + s + ms / 1000 == pytest.approx(data["duration"], abs=0.1)
    assert "Hola" in _download(
        handle, real.ok("GET", f"/v3/video-translations/{ids[0]}")["srt_caption_url"], tmp_path, "x.srt"
    ).read_text("utf-8")
    source_wave, es_wave, fr_wave = waves
    assert _same_sound(source_wave, source_wave) > 0.99
    assert _same_sound(es_wave, source_wave) < 0.5, "a new audio track"
    assert _same_sound(es_wave, fr_wave) < 0.5, "one per language"
