"""The spectrogram function against an independent scipy reference."""

import numpy as np
import scipy.signal

from pipeline.spectrogram import snippet_spectrograms, spectrogram
from schemas import SpectrogramParams

PARAMS = SpectrogramParams()


def reference(samples: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """scipy.signal.spectrogram, dB below the maximum, np.interp onto the rows, uint8."""
    _, _, power = scipy.signal.spectrogram(
        samples.astype(np.float64), window=params.window, nperseg=params.fft_size,
        noverlap=params.fft_size - params.hop, detrend=False, scaling="spectrum", mode="magnitude",
    )  # fmt: skip
    decibels = 20 * np.log10(np.maximum(power, 1e-300))
    decibels = np.clip(decibels, decibels.max() - params.db_range, None)
    positions = np.linspace(0, power.shape[0] - 1, params.frequency_rows)
    rows = np.stack(
        [np.interp(positions, np.arange(power.shape[0]), column) for column in decibels.T], axis=1
    )
    return np.rint((rows - rows.max() + params.db_range) / params.db_range * 255).astype(np.uint8)


def test_matches_scipy_within_rounding():
    rng = np.random.default_rng(0)
    t = np.arange(PARAMS.snippet_samples) / PARAMS.sample_rate
    samples = np.sin(2 * np.pi * (3000 + 1000 * t) * t) + 0.01 * rng.standard_normal(len(t))
    image = spectrogram(samples, PARAMS)
    assert image.dtype == np.uint8
    assert image.shape == (PARAMS.frequency_rows, PARAMS.frames)
    difference = np.abs(image.astype(int) - reference(samples, PARAMS).astype(int))
    assert difference.max() <= 1


def test_tone_lands_on_its_row_with_low_frequencies_first():
    t = np.arange(PARAMS.snippet_samples) / PARAMS.sample_rate
    image = spectrogram(np.sin(2 * np.pi * 5512.5 * t), PARAMS)  # a quarter of the sample rate
    brightest_row = int(np.argmax(image.mean(axis=1)))
    assert abs(brightest_row - (PARAMS.frequency_rows - 1) / 2) <= 1


def test_batch_equals_one_by_one():
    rng = np.random.default_rng(1)
    snippets = rng.standard_normal((3, PARAMS.snippet_samples)).astype(np.float32)
    batch = spectrogram(snippets, PARAMS)
    assert batch.shape == (3, PARAMS.frequency_rows, PARAMS.frames)
    for snippet, image in zip(snippets, batch, strict=True):
        np.testing.assert_array_equal(spectrogram(snippet, PARAMS), image)


def test_scale_of_the_input_does_not_matter():
    rng = np.random.default_rng(2)
    snippet = rng.standard_normal(PARAMS.snippet_samples)
    difference = spectrogram(snippet, PARAMS).astype(int) - spectrogram(
        snippet * 0.01, PARAMS
    ).astype(int)
    assert np.abs(difference).max() <= 1


def test_snippets_past_the_end_are_zero_padded():
    rng = np.random.default_rng(3)
    samples = rng.standard_normal(PARAMS.snippet_samples + 1000).astype(np.float32)
    images = snippet_spectrograms(samples, [0, 1000, 5000], PARAMS)
    padded = np.concatenate([samples[5000:], np.zeros(5000 - 1000, np.float32)])
    np.testing.assert_array_equal(images[1], spectrogram(samples[1000:], PARAMS))
    np.testing.assert_array_equal(images[2], spectrogram(padded, PARAMS))
