"""Worker-process side of v3 jobs: fetch the inputs and run the talking-head, lip-sync or dub."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np

from airflow_heygen.emulator.media_fetch import MediaFetcher
from airflow_heygen.emulator.render.audio import speech_like
from airflow_heygen.emulator.render.landmarks import FaceEngine
from airflow_heygen.emulator.render.video_io import AudioClip, decode_audio
from airflow_heygen.emulator.samples import Sample, SampleLibrary
from airflow_heygen.emulator.tasks import RenderKind, RenderOutcome, RenderTask

_AUDIO_RATE = 44100
_SPEECH_RATE = 22050


def _write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def _details(report: Any) -> dict[str, Any]:
    return {"frames": report.frames, "engine": report.engine, "seconds": round(report.seconds, 3)}


def _talking_head(task: RenderTask, fetcher: MediaFetcher, engine: FaceEngine) -> RenderOutcome:
    from airflow_heygen.emulator.render.avatar import AvatarRenderer

    spec = task.input
    if spec.get("portrait"):
        portrait = fetcher.fetch(spec["portrait"], "image")
    else:
        portrait = SampleLibrary(task.data_dir / "samples").path(Sample.FACE2)
    if spec.get("speech"):
        speech = spec["speech"]
        samples = speech_like(float(speech["seconds"]), _SPEECH_RATE, seed=int(speech["seed"]))
        audio = _write_wav(task.data_dir / "work" / task.job_id / "speech.wav", samples, _SPEECH_RATE)
        name = "script"
    else:
        name = str(spec["audio_field"])
        audio = fetcher.fetch(spec["audio"], name)
    report = AvatarRenderer(engine).render(portrait, [audio], task.output, audio_names=[name])
    return RenderOutcome(duration=round(report.duration, 3), details=_details(report))


def _lipsync(task: RenderTask, fetcher: MediaFetcher, engine: FaceEngine) -> RenderOutcome:
    from airflow_heygen.emulator.render.lipsync import LipSyncRenderer

    spec = task.input
    video = fetcher.fetch(spec["video"], str(spec["video_field"]))
    audio = fetcher.fetch(spec["audio"], str(spec["audio_field"]))
    clip = decode_audio([audio], _AUDIO_RATE, [str(spec["audio_field"])])
    report = LipSyncRenderer(engine).render(video, clip, task.output)
    return RenderOutcome(duration=round(report.duration, 3), details=_details(report))


def _translation(task: RenderTask, fetcher: MediaFetcher, engine: FaceEngine) -> RenderOutcome:
    from airflow_heygen.emulator.render.captions import write_captions
    from airflow_heygen.emulator.render.dub import dub, video_duration
    from airflow_heygen.emulator.render.lipsync import LipSyncRenderer

    spec = task.input
    video = fetcher.fetch(spec["video"], str(spec["video_field"]))
    seconds = max(video_duration(video), 0.5)
    if spec.get("audio"):
        audio = fetcher.fetch(spec["audio"], str(spec["audio_field"]))
        clip = decode_audio([audio], _AUDIO_RATE, [str(spec["audio_field"])])
    else:
        clip = AudioClip(speech_like(seconds, _AUDIO_RATE, seed=int(spec["seed"])), _AUDIO_RATE)
    details: dict[str, Any] = {"language": spec["language"]}
    if spec.get("lipsync"):
        report = LipSyncRenderer(engine).render(video, clip, task.output)
        duration = report.duration
        details.update(_details(report))
    else:
        dub(video, clip.samples, clip.sample_rate, task.output)
        duration = video_duration(task.output)
    write_captions(task.caption_path, duration, str(spec["language"]))
    return RenderOutcome(duration=round(duration, 3), details=details, caption_file=task.caption_path.name)


def render_v3(task: RenderTask, fetcher: MediaFetcher, engine: FaceEngine) -> RenderOutcome:
    """
    Render one v3 job (media errors propagate to the caller, which turns them into failures).

    :param task: the job's render.
    :param fetcher: brings input media to local files.
    :param engine: the face engine.
    """
    renderers = {
        RenderKind.TALKING_HEAD: _talking_head,
        RenderKind.LIPSYNC: _lipsync,
        RenderKind.TRANSLATION: _translation,
    }
    return renderers[task.kind](task, fetcher, engine)
