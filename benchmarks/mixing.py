"""Mixing call snippets into a background recording at known times and signal-to-noise ratios.

SNR, in dB, is 20 log10(rms(call as placed) / rms(background over the same samples)): the call is
scaled so that its RMS over its own span stands that far above (or below) the RMS of the
background it lands on, before the two are added. A call running past the background's end is cut
there (and its SNR measured over the part that stays).
"""

from __future__ import annotations

import dataclasses

import numpy as np

SILENCE_RMS = 1e-6  # floor of a span's RMS: a digitally silent background gives no infinite gain


@dataclasses.dataclass(frozen=True)
class Placement:
    """A call snippet to mix in: its samples (at the background's rate), where and how loud."""

    call: np.ndarray
    start: float  # seconds into the background
    snr_db: float
    source: str  # the file it was cut from


@dataclasses.dataclass(frozen=True)
class Event:
    """A call as mixed: its span in the mixture (seconds), where it came from, its SNR (dB)."""

    start: float
    end: float
    source: str
    snr_db: float


def rms(samples: np.ndarray) -> float:
    """Root mean square of samples (0 for none)."""
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0


def mix(
    background: np.ndarray, sample_rate: int, placements: list[Placement]
) -> tuple[np.ndarray, list[Event]]:
    """The background with every placement added (float32), and the events, in placement order.

    Each call's gain is set against the untouched background's span under it, so calls that
    overlap do not change each other's SNR. ValueError for a placement outside the background.
    """
    mixed = background.astype(np.float32, copy=True)
    events = []
    for placement in placements:
        first = round(placement.start * sample_rate)
        if not 0 <= first < len(background):
            raise ValueError(f"a call at {placement.start} s is outside the background")
        call = placement.call[: len(background) - first].astype(np.float64)
        span = background[first : first + len(call)]
        gain = (
            max(rms(span), SILENCE_RMS)
            * 10 ** (placement.snr_db / 20)
            / max(rms(call), SILENCE_RMS)
        )
        mixed[first : first + len(call)] += (gain * call).astype(np.float32)
        events.append(
            Event(
                start=first / sample_rate,
                end=(first + len(call)) / sample_rate,
                source=placement.source,
                snr_db=placement.snr_db,
            )
        )
    return mixed, events


def loudest_window(samples: np.ndarray, length: int, hop: int) -> int:
    """Start (in samples) of the `length`-sample window of highest energy, on a grid of `hop`."""
    if len(samples) <= length:
        return 0
    energy = np.concatenate([[0.0], np.cumsum(np.square(samples, dtype=np.float64))])
    starts = np.arange(0, len(samples) - length + 1, hop)
    return int(starts[np.argmax(energy[starts + length] - energy[starts])])
