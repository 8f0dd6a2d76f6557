"""
Built-in sample media, generated offline into ``<data dir>/samples`` at first start.

* ``face.jpg``: the astronaut photo of scikit-image's data folder (public domain, NASA).
* ``face2.jpg``: matplotlib's ``grace_hopper.jpg`` sample (public domain, US Navy).
* ``target.mp4``: 3 s, 25 fps, 640x360, H.264: the ``face2`` portrait under a slow hand-held camera
  (zoom, pan, roll), with a speech-like AAC track. Its face is not ``face.jpg``'s, so a swap shows.
* ``speech.wav``: 3 s of speech-like mono 16-bit audio.
* ``speech.mp3``: the same speech as MP3 (LAME through PyAV, 64 kbit/s CBR, with the Info header the
  muxer writes and an ID3v2 tag), for clients that read an MP3's duration from its header.

The images are read from the installed packages' folders (found with
:func:`importlib.util.find_spec`, without importing the packages, which would be slow).
"""

from __future__ import annotations

import enum
import importlib.util
import shutil
import wave
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from airflow_heygen.emulator.render.audio import speech_like
from airflow_heygen.emulator.render.faceswap import read_image
from airflow_heygen.emulator.render.portrait import camera_motion, portrait_frame
from airflow_heygen.emulator.render.video_io import Mp4Writer, atomic_path

_CLIP_SECONDS = 3.0
_FPS = 25
_AUDIO_RATE = 44100
_WAV_RATE = 22050
_MP3_BIT_RATE = 64000
# Samples per MPEG-2 Layer III frame at 22.05 kHz (LAME buffers any frame size; this one avoids it).
_MP3_FRAME = 576


class Sample(str, enum.Enum):
    """The built-in sample files."""

    FACE = "face.jpg"
    FACE2 = "face2.jpg"
    TARGET = "target.mp4"
    SPEECH = "speech.wav"
    SPEECH_MP3 = "speech.mp3"


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"package {package!r} is needed for the sample media: install airflow-heygen[emulator]"
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise RuntimeError(f"{path} is missing from the installed {package!r}")
    return path


class SampleLibrary:
    """
    The sample folder of one data dir.

    :param folder: where the samples live (``<data dir>/samples``).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, sample: Sample) -> Path:
        """
        The file of one sample.

        :param sample: which sample.
        """
        return self.folder / sample.value

    def ensure(self) -> None:
        """Generate every missing sample (each written atomically)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        makers = {
            Sample.FACE: self._make_face,
            Sample.FACE2: self._make_face2,
            Sample.SPEECH: self._make_speech,
            Sample.SPEECH_MP3: self._make_speech_mp3,
            Sample.TARGET: self._make_target,
        }
        for sample, make in makers.items():
            final = self.path(sample)
            if not final.is_file():
                with atomic_path(final) as temp:
                    make(temp)

    @staticmethod
    def _make_face(path: Path) -> None:
        image = read_image(_package_file("skimage", "data", "astronaut.png"), "astronaut.png")
        if not cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 92]):
            raise RuntimeError("could not write face.jpg")

    @staticmethod
    def _make_face2(path: Path) -> None:
        shutil.copyfile(_package_file("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg"), path)

    @staticmethod
    def _make_speech(path: Path) -> None:
        samples = speech_like(_CLIP_SECONDS, _WAV_RATE, seed=11)
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(_WAV_RATE)
            out.writeframes((samples * 32767).astype("<i2").tobytes())

    @staticmethod
    def _make_speech_mp3(path: Path) -> None:
        pcm = (speech_like(_CLIP_SECONDS, _WAV_RATE, seed=11) * 32767).astype("<i2")
        # The format is named rather than guessed from the file name.
        with av.open(str(path), mode="w", format="mp3") as out:
            stream = out.add_stream("libmp3lame", rate=_WAV_RATE, layout="mono")
            stream.bit_rate = _MP3_BIT_RATE
            for start in range(0, len(pcm), _MP3_FRAME):
                chunk = np.ascontiguousarray(pcm[start : start + _MP3_FRAME].reshape(1, -1))
                frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
                frame.sample_rate = _WAV_RATE
                frame.pts = start
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))

    def _make_target(self, path: Path) -> None:
        write_target(path, self.path(Sample.FACE2))


def write_target(path: Path, portrait_path: Path, seconds: float = _CLIP_SECONDS) -> None:
    """
    Write a target video like ``target.mp4``: a portrait under a slow hand-held camera, with speech.

    :param path: the file to write.
    :param portrait_path: the portrait's image (``face2.jpg``).
    :param seconds: its length; a longer one takes proportionally longer to render.
    """
    portrait = read_image(portrait_path, portrait_path.name)
    base = portrait_frame(portrait)
    frames = int(seconds * _FPS)
    writer = Mp4Writer(path, base.shape[1], base.shape[0], fps=Fraction(_FPS))
    writer.add_audio_track(_AUDIO_RATE)
    for index in range(frames):
        writer.write_frame(camera_motion(base, index / (frames - 1)))
    writer.write_samples(speech_like(seconds, _AUDIO_RATE, seed=5), _AUDIO_RATE)
    writer.close()


def sample_names() -> list[str]:
    """File names of every sample."""
    return [sample.value for sample in Sample]
