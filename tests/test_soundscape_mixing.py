"""benchmarks.mixing: a generated tone mixed into generated noise lands at the stated times and SNR."""

import numpy as np
import pytest

from benchmarks.mixing import Placement, loudest_window, mix, rms

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
