"""Speech-like test audio and the loudness envelope that drives the avatar's mouth."""

from __future__ import annotations

import itertools

import numpy as np

# Vowel formants (Hz) of a, e, i, o, u for an adult voice.
_VOWELS = (
    (730.0, 1090.0, 2440.0),
    (530.0, 1840.0, 2480.0),
    (270.0, 2290.0, 3010.0),
    (570.0, 840.0, 2410.0),
    (300.0, 870.0, 2240.0),
)
_HARMONICS = 40


def speech_like(seconds: float, sample_rate: int, seed: int = 7) -> np.ndarray:
    """
    A voiced, speech-like signal: syllables of 120-280 ms at about four a second, grouped in words
    by short pauses, each a vowel (formant-shaped harmonics of a gliding pitch) with a noisy onset.

    :param seconds: length.
    :param sample_rate: samples per second.
    :param seed: random seed (the same seed gives the same signal).
    :return: float32 mono samples in [-1, 1].
    """
    rng = np.random.default_rng(seed)
    total = round(seconds * sample_rate)
    signal = np.zeros(total, np.float64)
    cursor = int(0.15 * sample_rate)
    while cursor < total:
        for _ in range(int(rng.integers(2, 6))):
            length = int(rng.uniform(0.12, 0.28) * sample_rate)
            end = min(cursor + length, total)
            if end - cursor < 16:
                break
            signal[cursor:end] += _syllable(end - cursor, sample_rate, rng)
            cursor = end + int(rng.uniform(0.02, 0.06) * sample_rate)
        cursor += int(rng.uniform(0.18, 0.35) * sample_rate)
    peak = float(np.abs(signal).max()) or 1.0
    return (0.8 * signal / peak).astype(np.float32)


def _syllable(length: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(length) / sample_rate
    start_pitch = rng.uniform(120.0, 190.0)
    pitch = start_pitch + rng.uniform(-30.0, 20.0) * t / t[-1]
    phase = 2 * np.pi * np.cumsum(pitch) / sample_rate
    formants = _VOWELS[int(rng.integers(len(_VOWELS)))]
    voiced = np.zeros(length)
    for k in range(1, _HARMONICS + 1):
        freq = k * start_pitch
        if freq > sample_rate / 2 - 200:
            break
        gain = sum(np.exp(-(((freq - f) / 90.0) ** 2)) for f in formants) + 0.05
        voiced += gain / k**0.5 * np.sin(k * phase)
    envelope = np.sin(np.pi * np.arange(length) / length) ** 0.8
    onset = np.zeros(length)
    burst = min(length, int(0.03 * sample_rate))
    onset[:burst] = rng.normal(0.0, 0.4, burst) * np.linspace(1.0, 0.0, burst)
    return voiced / np.abs(voiced).max() * envelope + onset


def loudness_envelope(samples: np.ndarray, sample_rate: int, fps: float, frames: int) -> np.ndarray:
    """
    Per-video-frame loudness in [0, 1]: RMS in each frame's window, scaled by the 95th percentile,
    gated below 8 % and smoothed with an instant attack and a short release (like a jaw).

    :param samples: mono float samples.
    :param sample_rate: samples per second.
    :param fps: video frame rate.
    :param frames: number of video frames.
    """
    bounds = np.round(np.arange(frames + 1) * sample_rate / fps).astype(int)
    rms = np.array(
        [
            float(np.sqrt(np.mean(np.square(samples[a:b], dtype=np.float64)))) if b > a else 0.0
            for a, b in itertools.pairwise(bounds)
        ]
    )
    reference = float(np.percentile(rms, 95)) if rms.size else 0.0
    if reference <= 1e-6:
        return np.zeros(frames, np.float32)
    level = np.clip(rms / reference, 0.0, 1.0)
    level[level < 0.08] = 0.0
    smoothed = np.empty_like(level)
    current = 0.0
    for i, value in enumerate(level):
        current = value if value > current else 0.5 * current + 0.5 * value
        smoothed[i] = current
    return smoothed.astype(np.float32)
