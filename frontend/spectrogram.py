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


# PCEN (Wang et al. 2017; librosa's defaults): smoother time constant, gain, bias, root.
PCEN_TIME_CONSTANT = 0.4
PCEN_ALPHA = 0.98
PCEN_DELTA = 2.0
PCEN_R = 0.5
PCEN_EPSILON = 1e-6


def mel(hertz: np.ndarray | float) -> np.ndarray:
    """The HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(hertz) / 700.0)


def _interpolation(positions: np.ndarray, bins: int) -> np.ndarray:
    """(rows, bins) matrix interpolating linearly between bins at fractional bin `positions`."""
    lower = np.minimum(np.floor(positions).astype(int), bins - 2)
    fraction = positions - lower
    matrix = np.zeros((len(positions), bins), dtype=np.float32)
    matrix[np.arange(len(positions)), lower] = 1.0 - fraction
    matrix[np.arange(len(positions)), lower + 1] = fraction
    return matrix


def _mel_edges(params: SpectrogramParams) -> np.ndarray:
    """frequency_rows + 2 frequencies in Hz evenly spaced in mel: each row's band spans its
    neighbours' centres."""
    edges = np.linspace(mel(params.fmin), mel(params.top_frequency), params.frequency_rows + 2)
    return 700.0 * (10.0 ** (edges / 2595.0) - 1.0)


def row_frequencies(params: SpectrogramParams) -> np.ndarray:
    """The centre frequency in Hz of each image row, row 0 first."""
    if params.frequency_scale == "linear":
        return np.linspace(params.fmin, params.top_frequency, params.frequency_rows)
    return _mel_edges(params)[1:-1]


@functools.lru_cache(maxsize=8)
def _frequency_matrix(params: SpectrogramParams, bins: int) -> np.ndarray:
    """(frequency_rows, bins) matrix from STFT bins (0 Hz..Nyquist) to the image's rows.

    linear: rows evenly spaced from fmin to fmax, interpolated between the two nearest bins.
    mel: rows evenly spaced in mel, each a triangle-weighted mean of the bins between its
    neighbours' centres; a row narrower than a bin interpolates between the nearest bins.
    """
    bin_hertz = params.sample_rate / params.fft_size
    if params.frequency_scale == "linear":
        return _interpolation(row_frequencies(params) / bin_hertz, bins)
    edges = _mel_edges(params) / bin_hertz  # in bins
    centre = np.arange(bins)[None, :]
    rising = (centre - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None])
    falling = (edges[2:, None] - centre) / (edges[2:, None] - edges[1:-1, None])
    triangles = np.maximum(0.0, np.minimum(rising, falling))
    sums = triangles.sum(axis=1, keepdims=True)
    matrix = np.where(sums > 0, triangles / np.where(sums > 0, sums, 1.0), 0.0)
    empty = sums[:, 0] == 0
    matrix[empty] = _interpolation(np.minimum(edges[1:-1][empty], bins - 1), bins)
    return matrix.astype(np.float32)


def _pcen(energy: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """Per-channel energy normalisation of (..., frames, rows) energies along time."""
    import scipy.signal

    frames_per_constant = PCEN_TIME_CONSTANT * params.sample_rate / params.hop
    s = (np.sqrt(1.0 + 4.0 * frames_per_constant**2) - 1.0) / (2.0 * frames_per_constant**2)
    initial = (1.0 - s) * energy[..., :1, :]  # the smoother starts at the first frame's energy
    smooth, _ = scipy.signal.lfilter([s], [1.0, s - 1.0], energy, axis=-2, zi=initial)
    gain = energy / (PCEN_EPSILON + smooth) ** PCEN_ALPHA
    return (gain + PCEN_DELTA) ** PCEN_R - PCEN_DELTA**PCEN_R


def spectrogram(snippets: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """uint8 images (..., frequency_rows, frames) of snippets (..., snippet_samples).

    Row 0 is fmin, the last row fmax (default: 0 Hz to Nyquist), on a linear or mel scale.
    normalization "db": magnitude in dB, clipped to `db_range` below each snippet's maximum and
    scaled to 0..255 (linear rows interpolate dB values, the seed's; mel rows average power);
    "pcen": PCEN of the rows' power, scaled by each snippet's maximum to 0..255.
    """
    samples = np.asarray(snippets, dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(samples, params.fft_size, axis=-1)
    frames = frames[..., :: params.hop, :] * _window(params.window, params.fft_size)
    magnitude = np.abs(scipy.fft.rfft(frames, axis=-1))
    matrix = _frequency_matrix(params, magnitude.shape[-1]).T
    if params.normalization == "pcen":
        image = _pcen((magnitude**2) @ matrix, params)
        top = np.maximum(image.max(axis=(-2, -1), keepdims=True), _MIN_MAGNITUDE)
        scaled = image * (255.0 / top)
    elif params.frequency_scale == "linear":  # the seed's: dB of the bins, then rows
        decibels = 20.0 * np.log10(np.maximum(magnitude, _MIN_MAGNITUDE))
        in_range = matrix.any(axis=1)
        top = decibels[..., in_range].max(axis=(-2, -1), keepdims=True)
        rows = np.clip(decibels, top - params.db_range, top) @ matrix
        scaled = (rows - (top - params.db_range)) * (255.0 / params.db_range)
    else:
        rows = 10.0 * np.log10(np.maximum((magnitude**2) @ matrix, _MIN_MAGNITUDE**2))
        top = rows.max(axis=(-2, -1), keepdims=True)
        scaled = (np.maximum(rows, top - params.db_range) - (top - params.db_range)) * (
            255.0 / params.db_range
        )
    return np.clip(np.rint(np.swapaxes(scaled, -1, -2)), 0, 255).astype(np.uint8)


def window_spectrograms(
    windows: Iterable[np.ndarray], params: SpectrogramParams
) -> Iterator[np.ndarray]:
    """The uint8 image of each snippet-long window of a stream, computed a batch at a time."""
    windows = iter(windows)
    while batch := list(itertools.islice(windows, _BATCH)):
        yield from spectrogram(np.stack(batch), params)
