"""The one spectrogram function: audio snippets to uint8 STFT images (builder and prediction)."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Iterator

import numpy as np
import scipy.fft

from schemas import SpectrogramParams

_MIN_MAGNITUDE = 1e-10
_BATCH = 32  # snippets per spectrogram call: vectorised, with bounded temporaries


@functools.lru_cache(maxsize=8)
def _window(name: str, size: int) -> np.ndarray:
    import scipy.signal  # here: importing it costs 0.7 CPU-s, which the Beam job's launcher skips

    return scipy.signal.get_window(name, size).astype(np.float32)


@functools.lru_cache(maxsize=8)
def _row_interpolation(rows: int, bins: int) -> np.ndarray:
    """(rows, bins) matrix resampling 0..Nyquist linearly onto `rows` evenly spaced rows."""
    positions = np.linspace(0.0, bins - 1.0, rows)
    lower = np.minimum(np.floor(positions).astype(int), bins - 2)
    fraction = positions - lower
    matrix = np.zeros((rows, bins), dtype=np.float32)
    matrix[np.arange(rows), lower] = 1.0 - fraction
    matrix[np.arange(rows), lower + 1] = fraction
    return matrix


def spectrogram(snippets: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """uint8 images (..., frequency_rows, frames) of snippets (..., snippet_samples).

    Magnitude STFT in dB, clipped to `db_range` below each snippet's maximum and scaled to
    0..255; row 0 is 0 Hz, the last row the Nyquist frequency.
    """
    samples = np.asarray(snippets, dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(samples, params.fft_size, axis=-1)
    frames = frames[..., :: params.hop, :] * _window(params.window, params.fft_size)
    magnitude = np.abs(scipy.fft.rfft(frames, axis=-1))
    decibels = 20.0 * np.log10(np.maximum(magnitude, _MIN_MAGNITUDE))
    top = decibels.max(axis=(-2, -1), keepdims=True)
    decibels = np.clip(decibels, top - params.db_range, top)
    rows = _row_interpolation(params.frequency_rows, decibels.shape[-1]) @ np.swapaxes(
        decibels, -1, -2
    )
    scaled = (rows - (top - params.db_range)) * (255.0 / params.db_range)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def window_spectrograms(
    windows: Iterable[np.ndarray], params: SpectrogramParams
) -> Iterator[np.ndarray]:
    """The uint8 image of each snippet-long window of a stream, computed a batch at a time."""
    windows = iter(windows)
    while batch := list(itertools.islice(windows, _BATCH)):
        yield from spectrogram(np.stack(batch), params)


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
