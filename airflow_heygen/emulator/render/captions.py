"""SRT captions for a translated video: evenly timed lines of placeholder text in the language."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from airflow_heygen.emulator.render.video_io import atomic_path

_LINE_SECONDS = 2.5
# A few words per language so a caption file visibly belongs to its language; others get a tag.
_PHRASES = {
    "en": ("Hello and welcome.", "This video was translated.", "Thank you for watching."),
    "es": ("Hola y bienvenidos.", "Este video fue traducido.", "Gracias por mirar."),
    "fr": ("Bonjour et bienvenue.", "Cette vidéo a été traduite.", "Merci de votre attention."),
    "de": ("Hallo und willkommen.", "Dieses Video wurde übersetzt.", "Danke fürs Zuschauen."),
    "it": ("Ciao e benvenuti.", "Questo video è stato tradotto.", "Grazie per la visione."),
    "pt": ("Olá e bem-vindos.", "Este vídeo foi traduzido.", "Obrigado por assistir."),
    "ja": ("こんにちは、ようこそ。", "この動画は翻訳されました。", "ご視聴ありがとうございました。"),
    "zh": ("你好, 欢迎。", "这个视频已被翻译。", "感谢观看。"),
}


@dataclass(frozen=True)
class Caption:
    """
    One caption line.

    :param start: start time in seconds.
    :param end: end time in seconds.
    :param text: what is shown.
    """

    start: float
    end: float
    text: str


def captions_for(duration: float, language: str) -> list[Caption]:
    """
    Lines of at most 2.5 s covering ``duration``.

    :param duration: video duration in seconds.
    :param language: BCP-47 code such as ``es`` or ``pt-BR``.
    """
    phrases = _PHRASES.get(language.split("-", maxsplit=1)[0].lower())
    count = max(1, math.ceil(duration / _LINE_SECONDS))
    step = duration / count if duration > 0 else _LINE_SECONDS
    lines = []
    for index in range(count):
        text = phrases[index % len(phrases)] if phrases else f"[{language}] line {index + 1}"
        lines.append(Caption(round(index * step, 3), round((index + 1) * step, 3), text))
    return lines


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def write_captions(path: Path, duration: float, language: str) -> None:
    """
    Write an SRT file (UTF-8) atomically.

    :param path: the ``.srt`` file.
    :param duration: video duration in seconds.
    :param language: the output language.
    """
    blocks = [
        f"{number}\n{_timestamp(line.start)} --> {_timestamp(line.end)}\n{line.text}\n"
        for number, line in enumerate(captions_for(duration, language), start=1)
    ]
    with atomic_path(path) as temp:
        temp.write_text("\n".join(blocks), encoding="utf-8")
