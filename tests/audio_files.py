"""Writing test recordings with ffmpeg: tones and noise in any container, rate and layout."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np


def tone(
    seconds: float, rate: int, frequency: float = 3000.0, channels: int = 1, seed: int = 0
) -> np.ndarray:
    """(samples, channels) float32: a chirping tone over faint noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    instantaneous = frequency + 300 * np.sin(2 * np.pi * 2 * t)  # a 2 Hz warble of +-300 Hz
    signal = 0.5 * np.sin(2 * np.pi * np.cumsum(instantaneous) / rate)
    signal = signal + 0.01 * rng.standard_normal(len(t))
    return np.repeat(signal[:, None], channels, axis=1).astype(np.float32)


def encode(path: Path, samples: np.ndarray, rate: int, *codec: str) -> Path:
    """Encodes (samples, channels) float32 with ffmpeg; the container follows `path`'s suffix
    unless `codec` says otherwise (e.g. "-f", "wav")."""
    samples = samples if samples.ndim == 2 else samples[:, None]
    command = ["ffmpeg", "-v", "error", "-y", "-f", "f32le", "-ar", str(rate), "-ac", str(samples.shape[1]),
               "-i", "pipe:0", *codec, str(path)]  # fmt: skip
    subprocess.run(command, input=samples.astype(np.float32).tobytes(), check=True)
    return path


def mp3(
    path: Path, seconds: float = 6.0, rate: int = 44100, channels: int = 1, *codec: str
) -> Path:
    """An mp3 of a chirping tone."""
    return encode(path, tone(seconds, rate, channels=channels), rate, "-c:a", "libmp3lame", *codec)
