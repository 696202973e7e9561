"""Choosing which snippet-long windows of a recording become examples."""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np


@dataclasses.dataclass(frozen=True)
class SnippetSelection:
    """How snippets are chosen: the seed's loudest windows, or evenly spaced ones."""

    method: Literal["loudest", "uniform"] = "loudest"
    cutoff: float = 0.25
    max_per_recording: int = 0
    seconds_per_snippet: float = 3.0
    overlap: float = 0.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def block_energies(samples: np.ndarray, block: int) -> np.ndarray:
    """Sum of squares of each whole `block`-long run of samples, without a full-size temporary."""
    blocks = samples[: len(samples) // block * block].reshape(-1, block)
    return np.einsum("ij,ij->i", blocks, blocks, dtype=np.float64)


def _welch(length: int) -> np.ndarray:
    positions = np.arange(length) - (length - 1) / 2
    return 1.0 - (positions / ((length + 1) / 2)) ** 2


def loudest_windows(energies: np.ndarray, window: int, cutoff: float, limit: int) -> list[int]:
    """Starts (in blocks) of the loudest `window`-block windows, loudest first.

    Energy is weighted by a Welch window; each chosen window is zeroed before the next search,
    which stops when the next window falls below `cutoff` times the loudest, or at `limit`.
    """
    weights = _welch(window)
    energies = energies.copy()
    scores = np.correlate(energies, weights, mode="valid")
    starts: list[int] = []
    loudest = scores.max()
    while len(starts) < limit and loudest > 0:
        start = int(np.argmax(scores))
        if scores[start] < cutoff * loudest or scores[start] <= 0:
            break
        starts.append(start)
        energies[start : start + window] = 0.0
        first, last = max(0, start - window + 1), min(len(scores), start + window)
        scores[first:last] = np.correlate(energies[first : last + window - 1], weights, "valid")
    return starts


def choose_snippets(
    samples: np.ndarray,
    sample_rate: int,
    snippet_samples: int,
    block: int,
    selection: SnippetSelection,
) -> list[int]:
    """Sample offsets, in time order, of the snippets to take from a recording.

    A recording no longer than one snippet gives the single offset 0 (the caller pads it).
    """
    if len(samples) <= snippet_samples:
        return [0]
    if selection.method == "uniform":
        stride = max(block, round(snippet_samples * (1.0 - selection.overlap)))
        starts = list(range(0, len(samples) - snippet_samples + 1, stride))
        return starts[: selection.max_per_recording or None]
    limit = max(1, round(len(samples) / sample_rate / selection.seconds_per_snippet))
    if selection.max_per_recording:
        limit = min(limit, selection.max_per_recording)
    window = snippet_samples // block
    starts = loudest_windows(block_energies(samples, block), window, selection.cutoff, limit)
    # A window of whole blocks can be shorter than a snippet: keep the last one inside the audio.
    last = len(samples) - snippet_samples
    return sorted(min(start * block, last) for start in starts)
