"""The one spectrogram function: audio snippets to uint8 STFT images (builder and prediction)."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Iterator

import numpy as np

from schemas import SpectrogramParams

_MIN_MAGNITUDE = 1e-10
_BATCH = 16  # snippets per spectrogram call: vectorised, its temporaries within the caches


# Cosine-sum windows, periodic as scipy.signal.get_window gives them for an FFT, computed here:
# importing scipy.signal costs a builder worker 0.7-1.3 CPU-s. Other names go to scipy.
_COSINE_WINDOWS = {"hamming": (0.54, 0.46), "hann": (0.5, 0.5), "blackman": (0.42, 0.5, 0.08)}


@functools.lru_cache(maxsize=8)
def _window(name: str, size: int) -> np.ndarray:
    if name in _COSINE_WINDOWS:
        phase = 2.0 * np.pi * np.arange(size) / size
        terms = (a * (-1) ** k * np.cos(k * phase) for k, a in enumerate(_COSINE_WINDOWS[name]))
        return sum(terms).astype(np.float32)
    import scipy.signal  # here: importing it costs 0.7-1.3 CPU-s

    return scipy.signal.get_window(name, size).astype(np.float32)


# PCEN (Wang et al. 2017; librosa's defaults): smoother time constant, gain, bias, root.
PCEN_TIME_CONSTANT = 0.4
PCEN_ALPHA = 0.98
PCEN_DELTA = 2.0
PCEN_R = 0.5
PCEN_EPSILON = 1e-6

# scaling "fixed": one range for every snippet, so that absolute level reaches the image. dB are
# dBFS, 0 dBFS being a full-scale sine's STFT bin (_full_scale_db). Measured on 414 windows
# (loudest and evenly spread) of 39 xeno-canto recordings and 32 soundscapes (shared data): the
# loudest bin of a snippet reached +0.3 dBFS (99th percentile of snippets -1.1; mel rows -2.7 at
# most), and the median bin lay above -97 dBFS (linear) and -95.5 dBFS (mel) in 99% of them, so
# -100..0 dBFS keeps nearly every snippet's noise floor above black and clips only the loudest
# bins' last 0.3 dB. PCEN (default parameters) peaked at 1.75-4.89 per snippet (median 4.25):
# FIXED_PCEN_TOP, above every one, maps to 255.
FIXED_DB_TOP = 0.0
FIXED_DB_FLOOR = -100.0
FIXED_PCEN_TOP = 5.0


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


def _full_scale_db(params: SpectrogramParams) -> float:
    """dB of the STFT bin of a full-scale sine (amplitude 1) at its frequency: 0 dBFS."""
    return 20.0 * float(np.log10(_window(params.window, params.fft_size).sum() / 2.0))


def _pcen(energy: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """Per-channel energy normalisation of (..., frames, rows) float32 energies along time."""
    frames_per_constant = PCEN_TIME_CONSTANT * params.sample_rate / params.hop
    s = (np.sqrt(1.0 + 4.0 * frames_per_constant**2) - 1.0) / (2.0 * frames_per_constant**2)
    # The smoother, frame by frame over the whole batch (scipy's lfilter along this axis is 3x
    # slower and returns float64); it starts at the first frame's energy.
    smooth = np.empty_like(energy)
    previous = energy[..., 0, :].copy()
    step = np.empty_like(previous)
    keep, take = np.float32(1.0 - s), np.float32(s)
    for frame in range(energy.shape[-2]):
        previous *= keep
        previous += np.multiply(energy[..., frame, :], take, out=step)
        smooth[..., frame, :] = previous
    # (energy / (eps + smooth) ** alpha + delta) ** r - delta ** r, in place in float32
    smooth += np.float32(PCEN_EPSILON)
    smooth **= np.float32(-PCEN_ALPHA)
    smooth *= energy
    smooth += np.float32(PCEN_DELTA)
    smooth **= np.float32(PCEN_R)
    smooth -= np.float32(PCEN_DELTA**PCEN_R)
    return smooth


def spectrogram(snippets: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """uint8 images (..., frequency_rows, frames) of snippets (..., snippet_samples).

    Row 0 is fmin, the last row fmax (default: 0 Hz to Nyquist), on a linear or mel scale.
    normalization "db": magnitude in dB, clipped to `db_range` below each snippet's maximum and
    scaled to 0..255 (linear rows interpolate dB values, the seed's; mel rows average power);
    "pcen": PCEN of the rows' power, scaled by each snippet's maximum to 0..255. With scaling
    "fixed", FIXED_DB_FLOOR..FIXED_DB_TOP dBFS or PCEN 0..FIXED_PCEN_TOP are 0..255 instead,
    clipped, for every snippet.
    """
    import scipy.fft  # here: importing it costs 0.5 CPU-s, which a launcher of workers skips

    samples = np.asarray(snippets, dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(samples, params.fft_size, axis=-1)
    frames = frames[..., :: params.hop, :] * _window(params.window, params.fft_size)
    # float32 throughout: |rfft| of complex64 (numpy's hypot is vectorised, faster here than
    # real**2 + imag**2 over the strided halves), squared in place where power is needed
    spectrum = np.abs(scipy.fft.rfft(frames, axis=-1))
    matrix = _frequency_matrix(params, spectrum.shape[-1]).T
    fixed = params.scaling == "fixed"
    db_range = FIXED_DB_TOP - FIXED_DB_FLOOR if fixed else params.db_range
    # of |rfft|, the unscaled magnitude; only dB images with fixed scaling need it
    fixed_top_db = FIXED_DB_TOP + _full_scale_db(params) if fixed else None
    if params.normalization == "pcen":
        image = _pcen(_rows(np.square(spectrum, out=spectrum), matrix), params)
        top = np.float32(FIXED_PCEN_TOP) if fixed else image.max(axis=(-2, -1), keepdims=True)
        image *= np.float32(255.0) / np.maximum(top, np.float32(_MIN_MAGNITUDE))
    elif params.frequency_scale == "linear":  # the seed's: dB of the bins, then rows
        decibels = np.log10(
            np.maximum(spectrum, np.float32(_MIN_MAGNITUDE), out=spectrum), out=spectrum
        )
        decibels *= np.float32(20.0)
        if fixed:
            top = np.float32(fixed_top_db)
        else:
            top = decibels[..., matrix.any(axis=1)].max(axis=(-2, -1), keepdims=True)
        floor = top - np.float32(db_range)
        np.clip(decibels, floor, top, out=decibels)
        decibels -= floor
        image = _rows(decibels, matrix)  # the rows' weights add up to 1: 0..db_range stays
        image *= np.float32(255.0 / db_range)
    else:
        image = _rows(np.square(spectrum, out=spectrum), matrix)
        # dB below the maximum, clipped: 10 log10(max(power / top, 10 ** (-range / 10)))
        if fixed:
            top = np.float32(10.0 ** (fixed_top_db / 10.0))
        else:
            top = np.maximum(image.max(axis=(-2, -1), keepdims=True), np.float32(_MIN_MAGNITUDE**2))
        image *= np.float32(1.0) / top
        np.maximum(image, np.float32(10.0 ** (-db_range / 10.0)), out=image)
        np.log10(image, out=image)
        image *= np.float32(10.0 * 255.0 / db_range)
        image += np.float32(255.0)
    np.rint(image, out=image)
    np.clip(image, 0, 255, out=image)
    return np.swapaxes(image, -1, -2).astype(np.uint8)


def _rows(values: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(..., frames, bins) values through the (bins, rows) frequency matrix, in one product."""
    flat = values.reshape(-1, values.shape[-1]) @ matrix
    return flat.reshape(*values.shape[:-1], matrix.shape[-1])


def window_spectrograms(
    windows: Iterable[np.ndarray], params: SpectrogramParams
) -> Iterator[np.ndarray]:
    """The uint8 image of each snippet-long window of a stream, computed a batch at a time."""
    windows = iter(windows)
    while batch := list(itertools.islice(windows, _BATCH)):
        yield from spectrogram(np.stack(batch), params)
