"""benchmarks.mixing: a generated tone mixed into generated noise lands at the stated times and
SNR; benchmarks.soundscapes: the background split, bins and windows labelled and scored."""

import pathlib

import numpy as np
import pytest

from benchmarks.mixing import Placement, loudest_window, mix, rms
from benchmarks.soundscapes import at_threshold, bin_scores, bins_of, label_spans, split_backgrounds

RATE = 8000
TONE_HZ = 1000.0


def _tone(seconds: float) -> np.ndarray:
    return np.sin(2 * np.pi * TONE_HZ * np.arange(round(seconds * RATE)) / RATE).astype(np.float32)


def _tone_energy(audio: np.ndarray, frame: int = 800) -> np.ndarray:
    """Energy of each 100-ms frame at the tone's frequency (its FFT bin)."""
    frames = audio[: len(audio) // frame * frame].reshape(-1, frame)
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(frame), axis=1)) ** 2
    return spectrum[:, round(TONE_HZ * frame / RATE)]


def test_tone_lands_at_its_times_and_snr() -> None:
    noise = np.random.default_rng(0).normal(0, 0.05, 6 * RATE).astype(np.float32)
    placements = [
        Placement(_tone(1.0), 2.0, 0.0, "a.wav"),
        Placement(_tone(0.5), 4.5, -6.0, "b.wav"),
    ]
    mixed, events = mix(noise, RATE, placements)

    assert [(e.start, e.end, e.source, e.snr_db) for e in events] == [
        (2.0, 3.0, "a.wav", 0.0), (4.5, 5.0, "b.wav", -6.0)]  # fmt: skip
    energy = _tone_energy(mixed)
    times = (np.arange(len(energy)) + 0.5) * 0.1
    inside = ((times > 2.05) & (times < 2.95)) | ((times > 4.55) & (times < 4.95))
    outside = ~(((times > 1.9) & (times < 3.1)) | ((times > 4.4) & (times < 5.1)))
    assert energy[inside].min() > 5 * energy[outside].max()
    for event in events:
        span = slice(round(event.start * RATE), round(event.end * RATE))
        added = mixed[span] - noise[span]
        assert 20 * np.log10(rms(added) / rms(noise[span])) == pytest.approx(event.snr_db, abs=0.01)


def test_a_call_past_the_end_is_cut_and_one_outside_refused() -> None:
    noise = np.random.default_rng(1).normal(0, 0.1, 2 * RATE).astype(np.float32)
    mixed, (event,) = mix(noise, RATE, [Placement(_tone(1.0), 1.5, 10.0, "c.wav")])
    assert (event.start, event.end) == (1.5, 2.0) and len(mixed) == len(noise)
    added = mixed[12000:] - noise[12000:]
    assert 20 * np.log10(rms(added) / rms(noise[12000:])) == pytest.approx(10.0, abs=0.01)
    with pytest.raises(ValueError, match="outside"):
        mix(noise, RATE, [Placement(_tone(1.0), 2.0, 0.0, "d.wav")])


def test_loudest_window() -> None:
    samples = np.zeros(1000, np.float32)
    samples[600:700] = 1.0
    assert loudest_window(samples, 100, 10) == 600
    assert loudest_window(samples[:50], 100, 10) == 0


def test_background_split_keeps_dawn_day_and_night_on_both_sides() -> None:
    names = [
        pathlib.Path(f"S_20190522_{h:02d}{m:02d}00.wav") for h in range(24) for m in (0, 15, 30, 45)
    ]
    pools = split_backgrounds(names)
    assert len(pools["train"]) == len(pools["test"]) == 48
    assert not set(pools["train"]) & set(pools["test"])
    for pool in pools.values():
        hours = {int(pathlib.Path(p).stem.split("_")[2][:2]) for p in pool}
        assert hours & {4, 5, 6} and hours & set(range(10, 16)) and hours & {22, 23, 0, 1}


def test_bins_and_windows_labelled_and_scored() -> None:
    file = {"seconds": 10.0, "events": [{"start": 1.0, "end": 3.0, "snr_db": 0.0}]}
    doubt = [(8.5, 9.5)]  # where BirdNET heard a bird in the raw background
    bird, kept, snr = label_spans(file, bins_of(10.0), doubt, 1e-9)
    assert bird.tolist() == [True, False] and kept.tolist() == [True, False]
    assert snr[0] == 0.0 and np.isnan(snr[1])
    windows = [(0.0, 4.0), (2.0, 6.0), (2.5, 6.5), (4.0, 8.0), (6.0, 10.0)]
    bird, kept, _ = label_spans(file, windows, doubt, 0.5)
    assert bird.tolist() == [True, True, True, False, False]
    assert kept.tolist() == [True, True, True, True, False]
    bird, kept, _ = label_spans(file, [(2.6, 6.6)], [], 0.5)  # 0.4 s of the call: left out
    assert bird.tolist() == [False] and kept.tolist() == [False]
    scores = bin_scores(windows, np.array([0.9, 0.2, 0.2, 0.1, 0.3]), 10.0)
    assert scores.tolist() == [0.9, 0.3]
    figures = at_threshold(
        np.array([True, True, False, False]), np.array([0.9, 0.4, 0.6, 0.1]), 0.5
    )
    assert figures == {
        "accuracy": 0.5,
        "bird_recall": 0.5,
        "bird_precision": 0.5,
        "no_bird_recall": 0.5,
    }
