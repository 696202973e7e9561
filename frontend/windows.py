"""A recording to the images of its chosen windows: the one sequence below the builder and predict
(decode, scan, choose the windows, cut them, spectrogram)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator

import numpy as np

from frontend.audio import AudioError, Opener, open_audio, open_local
from frontend.snippets import KEEP_SECONDS, Scan, SnippetSelection, choose_snippets
from frontend.spectrogram import window_spectrograms
from schemas import SpectrogramParams

ChooseStarts = Callable[[Scan], list[int]]  # a scan of a recording to its windows' sample offsets


@dataclasses.dataclass(kw_only=True)
class Windows:
    """An opened recording's first pass, its chosen windows and their images, taken in order."""

    scan: Scan
    starts: list[int]
    decoder: str  # the decoder that read it ("ffmpeg-salvage" when only ffmpeg could)
    images: Iterator[np.ndarray]  # uint8 (frequency rows, frames) per start


@contextlib.contextmanager
def open_windows(
    path: str,
    params: SpectrogramParams,
    choose: ChooseStarts,
    *,
    decoder: str = "auto",
    open_file: Opener = open_local,
) -> Iterator[Windows]:
    """Decodes `path` once to scan it, chooses its windows with `choose(scan)`, and gives their
    images, computed as they are taken: from the decoded samples, held in memory for a recording
    up to KEEP_SECONDS long and in a temporary file beyond, in flat memory. The images must be
    taken inside the `with`.

    Raises AudioError for a file that decodes to no audio (and whatever `choose` raises).
    """
    keep = round(KEEP_SECONDS * params.sample_rate)
    with open_audio(path, params.sample_rate, decoder, open_file=open_file) as stream:
        scan = stream.scan(lambda chunks: Scan.of(chunks, params.hop, keep, spill=True))
        with contextlib.closing(scan):
            if not scan.length:
                raise AudioError("undecodable", f"{stream.decoder} decoded no audio")
            starts = choose(scan)
            windows = scan.windows(starts, params.snippet_samples)
            yield Windows(
                scan=scan, starts=starts, decoder=stream.decoder,
                images=window_spectrograms(windows, params),
            )  # fmt: skip


def covering_starts(length: int, params: SpectrogramParams, overlap: float) -> list[int]:
    """Offsets of snippet-long windows `overlap` apart, the last one ending at the recording's end.

    `length` is the recording's in samples. A recording no longer than a snippet has the one
    window 0 (zero-padded, as in the builder).
    """
    selection = SnippetSelection(method="uniform", overlap=overlap)
    starts = choose_snippets(
        length, np.zeros(0), params.sample_rate, params.snippet_samples, params.hop, selection
    )
    last = length - params.snippet_samples
    return [*starts, last] if last > starts[-1] else starts
