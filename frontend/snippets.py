"""Choosing which snippet-long windows of a recording become examples."""

from __future__ import annotations

import collections
import dataclasses
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Literal

import numpy as np


@dataclasses.dataclass(frozen=True, kw_only=True)
class SnippetSelection:
    """How snippets are chosen: the seed's loudest windows, or evenly spaced ones; with
    `train_overlap`, the training split's instead as dense_windows chooses them."""

    method: Literal["loudest", "uniform"] = "loudest"
    cutoff: float = 0.25
    max_per_recording: int = 0
    seconds_per_snippet: float = 3.0
    overlap: float = 0.0
    background: int = 0  # quietest windows per recording written as BACKGROUND_LABEL
    train_overlap: float = 0.0  # 0: training windows chosen as validation's and test's
    train_max_per_recording: int = 0  # dense training windows per recording; 0: no cap

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


# Recordings up to this long are held in memory (26 MB at 22,050 Hz) for their windows; the
# samples of longer ones go on to a temporary file (318 MB an hour), so that every recording is
# decoded once and memory stays flat.
KEEP_SECONDS = 300.0
_SAMPLE_BYTES = 4  # float32


class Scan:
    """What a first pass over a recording's chunks learns: length, peak, block energies.

    The chunks are also kept while their total stays under `keep` samples, so that a short
    recording is decoded once; with `spill`, a longer one's samples go on to a temporary file
    (`windows` reads them back), otherwise they are dropped and it must be read again.
    """

    def __init__(self, block: int, keep: int = 0, spill: bool = False) -> None:
        self.block = block
        self.length = 0
        self.peak = 0.0
        self._energies: list[np.ndarray] = []
        self._rest = np.zeros(0, np.float32)  # samples short of a whole block
        self._keep = keep
        self._spill = spill
        self._file: IO[bytes] | None = None
        self.kept: list[np.ndarray] | None = []

    def add(self, chunk: np.ndarray) -> None:
        if not len(chunk):
            return
        self.length += len(chunk)
        # The peak as max(max, -min): np.abs would copy the chunk.
        self.peak = max(self.peak, float(chunk.max()), -float(chunk.min()))
        samples = np.concatenate([self._rest, chunk]) if len(self._rest) else chunk
        whole = len(samples) // self.block * self.block
        self._energies.append(block_energies(samples[:whole], self.block))
        self._rest = samples[whole:].copy()
        if self._file is not None:
            self._file.write(np.ascontiguousarray(chunk, np.float32))
        elif self.kept is not None:
            self.kept.append(chunk)
            if self.length > self._keep:
                if self._spill:
                    self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
                    for kept in self.kept:
                        self._file.write(np.ascontiguousarray(kept, np.float32))
                self.kept = None

    @property
    def energies(self) -> np.ndarray:
        """Sum of squares of each whole block, as block_energies of the whole recording."""
        return np.concatenate([np.zeros(0), *self._energies])

    def windows(self, starts: list[int], size: int) -> Iterator[np.ndarray]:
        """The `size`-sample windows at sorted offsets `starts`, zero-padded past the end, from
        the samples held in memory or in the temporary file."""
        if self.kept is not None:
            yield from cut_windows(self.kept, starts, size)
            return
        if self._file is None:
            raise ValueError("the scan kept no samples: the recording must be decoded again")
        self._file.flush()
        for start in starts:
            window = np.zeros(size, np.float32)
            count = max(0, min(size, self.length - start))
            self._file.seek(start * _SAMPLE_BYTES)
            self._file.readinto(memoryview(window[:count]).cast("B"))
            yield window

    def close(self) -> None:
        """Removes the temporary file, if there is one."""
        if self._file is not None:
            self._file.close()
            self._file = None

    @classmethod
    def of(cls, chunks, block: int, keep: int = 0, spill: bool = False) -> Scan:
        scan = cls(block, keep, spill)
        try:
            for chunk in chunks:
                scan.add(chunk)
        except BaseException:
            scan.close()
            raise
        return scan


def choose_snippets(
    length: int,
    energies: np.ndarray,
    sample_rate: int,
    snippet_samples: int,
    block: int,
    selection: SnippetSelection,
) -> list[int]:
    """Sample offsets, in time order, of the snippets to take from a recording.

    `length` is the recording's in samples, `energies` its `block_energies` (or a Scan's).
    A recording no longer than one snippet gives the single offset 0 (the caller pads it).
    """
    if length <= snippet_samples:
        return [0]
    if selection.method == "uniform":
        stride = max(block, round(snippet_samples * (1.0 - selection.overlap)))
        starts = list(range(0, length - snippet_samples + 1, stride))
        return starts[: selection.max_per_recording or None]
    limit = max(1, round(length / sample_rate / selection.seconds_per_snippet))
    if selection.max_per_recording:
        limit = min(limit, selection.max_per_recording)
    window = snippet_samples // block
    starts = loudest_windows(energies, window, selection.cutoff, limit)
    # A window of whole blocks can be shorter than a snippet: keep the last one inside the audio.
    last = length - snippet_samples
    return sorted(min(start * block, last) for start in starts)


def dense_windows(
    length: int, energies: np.ndarray, snippet_samples: int, block: int, selection: SnippetSelection
) -> list[int]:
    """Sample offsets, in time order, of the overlapping windows of a recording's loud parts.

    Windows start every (1 - `selection.train_overlap`) snippets; those whose (Welch-weighted)
    energy is at least `selection.cutoff` times the loudest window's are kept, and of more than
    `selection.train_max_per_recording` an evenly spaced subset. `energies` as for
    choose_snippets; a recording no longer than one snippet gives the single offset 0.
    """
    window = snippet_samples // block
    if length <= snippet_samples or len(energies) < window:
        return [0]
    scores = np.correlate(energies, _welch(window), mode="valid")
    stride = max(1, round(window * (1.0 - selection.train_overlap)))
    candidates = np.arange(0, len(scores), stride)
    energy = scores[candidates]
    loud = candidates[(energy > 0) & (energy >= selection.cutoff * scores.max())]
    cap = selection.train_max_per_recording
    if cap and len(loud) > cap:
        loud = loud[np.linspace(0, len(loud) - 1, cap).round().astype(int)]
    last = length - snippet_samples
    return sorted({min(int(start) * block, last) for start in loud})


def quietest_windows(
    length: int, energies: np.ndarray, snippet_samples: int, block: int, cutoff: float, count: int
) -> list[int]:
    """Sample offsets, in time order, of up to `count` non-overlapping quietest windows.

    `energies` as for choose_snippets. Only windows below `cutoff` times the loudest window's
    energy qualify (the loudest-snippet rule would never choose them); windows of digital
    silence (zero energy) do not.
    """
    window = snippet_samples // block
    if count < 1 or length <= snippet_samples or len(energies) < window:
        return []
    scores = np.correlate(energies, _welch(window), mode="valid")
    eligible = (scores > 0) & (scores < cutoff * scores.max())
    span = -(-snippet_samples // block)  # whole blocks covering a snippet: no overlap
    starts: list[int] = []
    while len(starts) < count and eligible.any():
        start = int(np.argmin(np.where(eligible, scores, np.inf)))
        starts.append(start)
        eligible[max(0, start - span + 1) : start + span] = False
    last = length - snippet_samples
    return sorted(min(start * block, last) for start in starts)


def even_windows(length: int, snippet_samples: int, count: int = 0) -> list[int]:
    """Sample offsets of windows spread evenly over a whole recording, regardless of loudness:
    the fewest that cover it (the first at its start, the last ending at its end, overlapping
    only as much as that needs), or with `count` (> 0) at most that many, evenly spaced from
    its start to its end; [0] for a recording no longer than one window (the caller pads it)."""
    last = length - snippet_samples
    if last <= 0:
        return [0]
    total = -(-length // snippet_samples)  # windows covering the recording
    chosen = min(total, count) if count > 0 else total
    if chosen == 1:
        return [0]
    return sorted({round(i * last / (chosen - 1)) for i in range(chosen)})


def cut_windows(chunks: Iterable[np.ndarray], starts: list[int], size: int) -> Iterator[np.ndarray]:
    """The `size`-sample windows at sorted sample offsets `starts` of a stream of chunks.

    Only the samples from the next window's start onwards are held; windows reaching past
    the end are zero-padded.
    """
    pending = collections.deque(starts)
    held = np.zeros(0, np.float32)
    offset = 0  # sample offset of held[0]
    for chunk in chunks:
        held = np.concatenate([held, chunk])
        while pending and pending[0] + size <= offset + len(held):
            start = pending.popleft() - offset
            yield held[start : start + size]
        keep_from = min(pending[0] - offset, len(held)) if pending else len(held)
        held, offset = held[keep_from:], offset + keep_from
        if not pending:
            return
    for start in pending:
        window = np.zeros(size, np.float32)
        part = held[max(0, start - offset) : start - offset + size]
        window[: len(part)] = part
        yield window
