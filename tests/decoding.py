"""Whole recordings for tests: decoded into one array, and the images of chosen snippets of it,
through the front end's streaming code."""

from __future__ import annotations

import dataclasses

import numpy as np

from frontend.audio import CHUNK_SECONDS, open_audio
from frontend.spectrogram import window_spectrograms
from schemas import SpectrogramParams


@dataclasses.dataclass
class Audio:
    """A decoded recording held whole: mono float32 samples at `sample_rate`."""

    samples: np.ndarray
    sample_rate: int
    source_rate: int
    channels: int
    decoder: str

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


def load_audio(
    path: str, sample_rate: int, decoder: str = "auto", chunk_seconds: float = CHUNK_SECONDS
) -> Audio:
    """The whole recording as one array."""
    with open_audio(path, sample_rate, decoder, chunk_seconds) as stream:
        samples = stream.scan(lambda chunks: np.concatenate([np.zeros(0, np.float32), *chunks]))
        return Audio(samples, sample_rate, stream.source_rate, stream.channels, stream.decoder)


def snippet_spectrograms(
    samples: np.ndarray, starts: list[int], params: SpectrogramParams
) -> np.ndarray:
    """uint8 images (len(starts), frequency_rows, frames) of the snippets at sample offsets `starts`.

    Snippets reaching past the end of the recording are zero-padded.
    """
    size = params.snippet_samples
    end = max(starts) + size
    if len(samples) < end:
        samples = np.pad(samples, (0, end - len(samples)))
    images = np.empty((len(starts), params.frequency_rows, params.frames), np.uint8)
    windows = (samples[start : start + size] for start in starts)
    for index, image in enumerate(window_spectrograms(windows, params)):
        images[index] = image
    return images
