"""The spectrogram function against an independent scipy reference."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import scipy.fft
import scipy.signal

from frontend.spectrogram import _frequency_matrix, _window, spectrogram
from schemas import SEED_FRONT_END, SpectrogramParams
from tests.decoding import load_audio, snippet_spectrograms

PARAMS = SpectrogramParams(**SEED_FRONT_END)  # linear rows from 0 Hz, dB


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


def _chirp_in_noise(params: SpectrogramParams, seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(params.snippet_samples) / params.sample_rate
    song = np.sin(2 * np.pi * (2000 + 1500 * t) * t) * (np.sin(2 * np.pi * 1.5 * t) > 0)
    return song + 0.05 * rng.standard_normal(len(t))


def _power(samples: np.ndarray, params: SpectrogramParams) -> tuple[np.ndarray, np.ndarray]:
    """(bin frequencies in Hz, power (bins, frames)) by scipy.signal.spectrogram."""
    hertz, _, magnitude = scipy.signal.spectrogram(
        samples.astype(np.float64), fs=params.sample_rate, window=params.window,
        nperseg=params.fft_size, noverlap=params.fft_size - params.hop, detrend=False,
        scaling="spectrum", mode="magnitude",
    )  # fmt: skip
    return hertz, magnitude**2


def _mel_rows(samples: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """Triangular HTK-mel bands built with np.interp, each the weighted mean of its bins' power."""
    hertz, power = _power(samples, params)
    to_mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    edges = np.linspace(
        to_mel(params.fmin), to_mel(params.top_frequency), params.frequency_rows + 2
    )
    edges = 700 * (10 ** (edges / 2595) - 1)
    bands = np.stack([np.interp(hertz, edges[i : i + 3], [0, 1, 0]) for i in range(len(edges) - 2)])
    return (bands / bands.sum(axis=1, keepdims=True)) @ power


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(values, 0, 255)).astype(np.uint8)


def test_mel_matches_a_reference_within_rounding():
    params = SpectrogramParams(
        fft_size=1024,
        frequency_rows=64,
        frequency_scale="mel",
        fmin=500,
        fmax=10000,
        normalization="db",
    )
    samples = _chirp_in_noise(params)
    decibels = 10 * np.log10(_mel_rows(samples, params))
    top = decibels.max()
    expected = _to_uint8((np.maximum(decibels, top - 80) - top + 80) * 255 / 80)
    difference = np.abs(spectrogram(samples, params).astype(int) - expected.astype(int))
    assert difference.max() <= 1


def test_pcen_matches_a_reference_within_rounding():
    params = SpectrogramParams(
        fft_size=1024, frequency_rows=64, frequency_scale="mel", fmin=500, normalization="pcen"
    )
    samples = _chirp_in_noise(params)
    # scipy scales magnitudes by 1 / sum(window); PCEN is not scale-free, so undo it: |rfft|^2
    energy = _mel_rows(samples, params) * scipy.signal.get_window("hamming", 1024).sum() ** 2
    frames = 0.4 * params.sample_rate / params.hop
    s = (np.sqrt(1 + 4 * frames**2) - 1) / (2 * frames**2)
    smooth = np.empty_like(energy)
    previous = energy[:, 0]
    for t in range(energy.shape[1]):  # the IIR smoother, one frame at a time
        previous = (1 - s) * previous + s * energy[:, t]
        smooth[:, t] = previous
    pcen = np.sqrt(energy / (1e-6 + smooth) ** 0.98 + 2) - np.sqrt(2)
    expected = _to_uint8(pcen / pcen.max() * 255)
    difference = np.abs(spectrogram(samples, params).astype(int) - expected.astype(int))
    assert difference.max() <= 1


def test_linear_frequency_range_puts_fmin_and_fmax_on_the_first_and_last_rows():
    params = dataclasses.replace(PARAMS, fmin=1000, fmax=8000, frequency_rows=71)  # 100 Hz apart
    t = np.arange(params.snippet_samples) / params.sample_rate
    for hertz, row in ((1000, 0), (4500, 35), (8000, 70)):
        image = spectrogram(np.sin(2 * np.pi * hertz * t), params)
        assert abs(int(np.argmax(image.mean(axis=1))) - row) <= 1


def test_mel_rows_have_no_gaps_where_bands_are_narrower_than_a_bin():
    params = dataclasses.replace(PARAMS, frequency_scale="mel")  # 224 bands over 257 bins
    rng = np.random.default_rng(5)
    image = spectrogram(rng.standard_normal(params.snippet_samples), params)
    assert image.min(axis=1).max() > 0 and (image.mean(axis=1) > 100).all()


def test_dataset_json_without_the_new_fields_reads_as_the_seed_front_end():
    old = {k: v for k, v in PARAMS.to_dict().items() if k not in ("frequency_scale", "fmin",
           "fmax", "normalization", "scaling")}  # fmt: skip
    assert SpectrogramParams.from_dict(old) == PARAMS != SpectrogramParams()
    assert PARAMS.scaling == "snippet"  # images before format version 5 were all scaled so


def _spectrogram_before(snippets: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """The spectrogram function as it was before issue 20 (float64 PCEN, lfilter, separate
    passes), kept as the reference that the faster one must match within a grey level."""
    samples = np.asarray(snippets, dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(samples, params.fft_size, axis=-1)
    frames = frames[..., :: params.hop, :] * _window(params.window, params.fft_size)
    magnitude = np.abs(scipy.fft.rfft(frames, axis=-1))
    matrix = _frequency_matrix(params, magnitude.shape[-1]).T
    if params.normalization == "pcen":
        energy = (magnitude**2) @ matrix
        frames_per_constant = 0.4 * params.sample_rate / params.hop
        s = (np.sqrt(1.0 + 4.0 * frames_per_constant**2) - 1.0) / (2.0 * frames_per_constant**2)
        initial = (1.0 - s) * energy[..., :1, :]
        smooth, _ = scipy.signal.lfilter([s], [1.0, s - 1.0], energy, axis=-2, zi=initial)
        image = (energy / (1e-6 + smooth) ** 0.98 + 2.0) ** 0.5 - 2.0**0.5
        scaled = image * (255.0 / np.maximum(image.max(axis=(-2, -1), keepdims=True), 1e-10))
    elif params.frequency_scale == "linear":
        decibels = 20.0 * np.log10(np.maximum(magnitude, 1e-10))
        top = decibels[..., matrix.any(axis=1)].max(axis=(-2, -1), keepdims=True)
        rows = np.clip(decibels, top - params.db_range, top) @ matrix
        scaled = (rows - (top - params.db_range)) * (255.0 / params.db_range)
    else:
        rows = 10.0 * np.log10(np.maximum((magnitude**2) @ matrix, 1e-20))
        top = rows.max(axis=(-2, -1), keepdims=True)
        scaled = (np.maximum(rows, top - params.db_range) - (top - params.db_range)) * (
            255.0 / params.db_range
        )
    return np.clip(np.rint(np.swapaxes(scaled, -1, -2)), 0, 255).astype(np.uint8)


FRONT_ENDS = {
    f"{scale}-{normalization}": dataclasses.replace(
        PARAMS if scale == "linear" else SpectrogramParams(),
        frequency_scale=scale,
        normalization=normalization,
    )
    for scale in ("linear", "mel")
    for normalization in ("db", "pcen")
}
REAL_RECORDINGS = Path(__file__).resolve().parents[2] / "shared/data/xeno-canto-recordings/audio"


def _windows(path: Path, params: SpectrogramParams, most: int) -> np.ndarray:
    """Up to `most` evenly spread snippet-long windows of a recording, zero-padded."""
    audio = load_audio(str(path), params.sample_rate)
    last = max(0, len(audio.samples) - params.snippet_samples)
    starts = sorted({round(last * i / max(1, most - 1)) for i in range(most)})
    padded = np.pad(audio.samples, (0, params.snippet_samples))
    return np.stack([padded[start : start + params.snippet_samples] for start in starts])


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_within_a_grey_level_of_the_spectrogram_before_on_the_decoder_files(small_files, front_end):
    params = FRONT_ENDS[front_end]
    for name, path in small_files.items():
        windows = _windows(path, params, 2)
        difference = spectrogram(windows, params).astype(int) - _spectrogram_before(windows, params)
        assert np.abs(difference).max() <= 1, name


@pytest.mark.skipif(not REAL_RECORDINGS.is_dir(), reason="no real recordings in ../shared/data")
def test_within_a_grey_level_of_the_spectrogram_before_on_real_recordings():
    paths = sorted(REAL_RECORDINGS.iterdir())[::8]  # 20 of the 156, mp3 and wav, 32-48 kHz
    for path in paths:
        windows = _windows(path, PARAMS, 4)
        for front_end, params in FRONT_ENDS.items():
            difference = spectrogram(windows, params).astype(int) - _spectrogram_before(
                windows, params
            )
            assert np.abs(difference).max() <= 1, (path.name, front_end)


@pytest.mark.parametrize("name", ["hamming", "hann", "blackman", "bartlett"])
def test_windows_equal_scipys(name):
    for size in (512, 1024, 257):
        expected = scipy.signal.get_window(name, size).astype(np.float32)
        np.testing.assert_array_equal(_window(name, size), expected)


LEVEL_FRONT_ENDS = {
    "mel-pcen": SpectrogramParams(),
    "mel-db": SpectrogramParams(normalization="db"),
    "linear-db": PARAMS,
}


@pytest.mark.parametrize("front_end", LEVEL_FRONT_ENDS)
def test_fixed_scaling_tells_a_call_at_0_db_from_one_at_minus_20_db(front_end):
    params = LEVEL_FRONT_ENDS[front_end]
    call = _chirp_in_noise(params)
    levels = np.stack([call / np.abs(call).max(), 0.1 * call / np.abs(call).max()])
    loud, quiet = spectrogram(levels, params).astype(int)  # the default, "snippet"
    assert np.abs(loud - quiet).max() <= 1
    fixed = dataclasses.replace(params, scaling="fixed")
    loud, quiet = spectrogram(levels, fixed).astype(int)
    if params.normalization == "db":  # 20 dB of the fixed 100 dB range: 51 grey levels darker
        assert abs((loud - quiet).mean() - 51) < 1
    else:  # PCEN divides out most of the level by design; what is left shows
        assert np.abs(loud - quiet).max() > 5 and (loud - quiet).mean() > 0.5
