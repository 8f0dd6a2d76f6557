"""
Benchmark of the emulator's CPU renderers (prints figures; not a test).

* face swap: frames per second end to end (decode, landmarks, warp, colour match, seamlessClone,
  H.264 encode, audio remux) and peak resident memory, at 640x360 and 1280x720;
* avatar: render seconds per second of audio.

CPU seconds are printed too: on a shared machine wall-clock fps drops with other work, while
frames per CPU second do not.

Each measurement runs in a fresh process so its peak memory is its own. Usage::

    .venv/bin/python bench/bench_emulator_render.py [--frames 150] [--before-after docs/img/x.png]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import wave
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_heygen.emulator.render.audio import speech_like
from airflow_heygen.emulator.samples import Sample, SampleLibrary


def _make_clip(samples: SampleLibrary, path: Path, size: tuple[int, int], frames: int) -> None:
    """The sample target looped to ``frames`` frames and scaled to ``size``, with its audio."""
    import cv2

    from airflow_heygen.emulator.render.video_io import Mp4Writer, VideoFrameItem, VideoSource

    with VideoSource(samples.path(Sample.TARGET)) as source:
        images = [item.image for item in source.items() if isinstance(item, VideoFrameItem)]
    writer = Mp4Writer(path, size[0], size[1], Fraction(25))
    writer.add_audio_track(44100)
    for index in range(frames):
        cycle = index % (2 * len(images) - 2)
        image = images[cycle if cycle < len(images) else 2 * len(images) - 2 - cycle]
        writer.write_frame(cv2.resize(image, size, interpolation=cv2.INTER_CUBIC))
    writer.write_samples(speech_like(frames / 25, 44100, seed=2), 44100)
    writer.close()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _faceswap_job(source: str, target: str, output: str) -> tuple[int, float, float, int, str]:
    from airflow_heygen.emulator.render.faceswap import FaceSwapRenderer
    from airflow_heygen.emulator.render.landmarks import EngineChoice, load_engine

    engine = load_engine(EngineChoice.AUTO)
    cpu = _cpu_seconds()
    report = FaceSwapRenderer(engine).render(Path(source), Path(target), Path(output))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return report.frames, report.seconds, _cpu_seconds() - cpu, peak_kib, report.engine


def _avatar_job(portrait: str, audio: str, output: str) -> tuple[float, float, float, int]:
    from airflow_heygen.emulator.render.avatar import AvatarRenderer
    from airflow_heygen.emulator.render.landmarks import EngineChoice, load_engine

    engine = load_engine(EngineChoice.AUTO)
    cpu = _cpu_seconds()
    report = AvatarRenderer(engine).render(Path(portrait), [Path(audio)], Path(output))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return report.audio_duration, report.seconds, _cpu_seconds() - cpu, peak_kib


def _write_speech(path: Path, seconds: float) -> None:
    samples = speech_like(seconds, 22050, seed=9)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(22050)
        out.writeframes((samples * 32767).astype("<i2").tobytes())


def write_before_after(samples: SampleLibrary, output: Path, work: Path, frame_index: int = 40) -> None:
    """A side-by-side PNG of one frame of the sample target before and after the face swap."""
    import av
    import cv2

    from airflow_heygen.emulator.render.faceswap import FaceSwapRenderer, read_image
    from airflow_heygen.emulator.render.landmarks import EngineChoice, load_engine

    swapped = work / "before_after.mp4"
    engine = load_engine(EngineChoice.AUTO)
    FaceSwapRenderer(engine).render(samples.path(Sample.FACE), samples.path(Sample.TARGET), swapped)

    def frame_of(path: Path) -> np.ndarray:
        with av.open(str(path)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index == frame_index:
                    return np.asarray(frame.to_ndarray(format="bgr24"))
        raise RuntimeError(f"{path} has fewer than {frame_index + 1} frames")

    photo = read_image(samples.path(Sample.FACE), "face.jpg")
    box = engine.find_faces(photo)[0]
    (cx, cy), half = box.centre, int(max(box.width, box.height) * 1.1)
    top, left = max(int(cy) - half, 0), max(int(cx) - half, 0)
    source = cv2.resize(photo[top : top + 2 * half, left : left + 2 * half], (360, 360))
    panels = [source, frame_of(samples.path(Sample.TARGET)), frame_of(swapped)]
    labels = ["source face (face.jpg)", "target frame (before)", "face swapped (after)"]
    for panel, label in zip(panels, labels, strict=True):
        cv2.rectangle(panel, (0, 0), (panel.shape[1], 28), (0, 0, 0), -1)
        cv2.putText(panel, label, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    output.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(output), np.hstack(panels))
    print(f"before/after frame written to {output}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=150, help="frames per face-swap clip (default 150)")
    parser.add_argument("--audio-seconds", type=float, default=10.0, help="avatar audio length (default 10)")
    parser.add_argument("--before-after", type=Path, help="also write a before/after PNG of the sample swap")
    args = parser.parse_args()

    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="bench-emulator-") as temp:
        work = Path(temp)
        samples = SampleLibrary(work / "samples")
        samples.ensure()
        if args.before_after is not None:
            write_before_after(samples, args.before_after, work)
        print(f"{'render':<24}{'frames':>7}{'seconds':>9}{'fps':>7}{'CPU s':>8}{'peak RSS':>11}  engine")
        for size in ((640, 360), (1280, 720)):
            clip = work / f"clip_{size[0]}x{size[1]}.mp4"
            _make_clip(samples, clip, size, args.frames)
            with spawn.Pool(1) as pool:
                frames, seconds, cpu, peak_kib, engine = pool.apply(
                    _faceswap_job, (str(samples.path(Sample.FACE)), str(clip), str(work / "out.mp4"))
                )
            label = f"face swap {size[0]}x{size[1]}"
            figures = (
                f"{frames:>7}{seconds:>9.2f}{frames / seconds:>7.1f}{cpu:>8.2f}{peak_kib / 1024:>7.0f} MiB"
            )
            print(f"{label:<24}{figures}  {engine}")
        speech = work / "speech.wav"
        _write_speech(speech, args.audio_seconds)
        with spawn.Pool(1) as pool:
            audio_seconds, seconds, cpu, peak_kib = pool.apply(
                _avatar_job, (str(samples.path(Sample.FACE2)), str(speech), str(work / "avatar.mp4"))
            )
        frames = round(audio_seconds * 25)
        figures = f"{frames:>7}{seconds:>9.2f}{frames / seconds:>7.1f}{cpu:>8.2f}{peak_kib / 1024:>7.0f} MiB"
        print(f"{'avatar 640x360':<24}{figures}  {seconds / audio_seconds:.3f} render s per audio s")
    cores, load = multiprocessing.cpu_count(), os.getloadavg()[0]
    print(f"machine: {cores} cores, load average {load:.2f} at the end (other work lowers fps)")


if __name__ == "__main__":
    main()
