"""Reading recordings for predict: the files named by paths, folders and globs; each file's
windows and their spectrograms (the builder's code and parameters); the windows of consecutive
files batched together through the classifier while threads decode the next files."""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import functools
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

import numpy as np
from apache_beam.io.filesystems import FileSystems

from pipeline.audio import AudioError, open_audio
from pipeline.catalog import AUDIO_EXTENSIONS, CatalogError, list_audio_files
from pipeline.snippets import KEEP_SECONDS, Scan, SnippetSelection, choose_snippets, cut_windows
from pipeline.spectrogram import window_spectrograms
from schemas import SpectrogramParams

_WILDCARDS = "*?["


class WindowClassifier(Protocol):
    """What predict_files needs of a classifier (trainer.prediction.classifier.Classifier)."""

    labels: list[str]
    params: SpectrogramParams
    batch_size: int

    def probabilities(self, images: np.ndarray) -> np.ndarray: ...


@dataclasses.dataclass
class FilePrediction:
    """One input file: its windows (sample offsets), their spectrograms, then probabilities."""

    path: str
    length: int = 0  # samples at the model's rate
    starts: list[int] = dataclasses.field(default_factory=list)
    # uint8 (height, width) per window, in order; a long recording's are computed as they are
    # taken, from a second decoding, so that no file is ever held whole; dropped once classified.
    images: Iterator[np.ndarray] | None = None
    probabilities: np.ndarray | None = None  # float32 (windows, species)
    error: str = ""


def window_starts(length: int, params: SpectrogramParams, overlap: float) -> list[int]:
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


def load_windows(
    path: str, params: SpectrogramParams, overlap: float, decoder: str = "auto"
) -> FilePrediction:
    """Decodes `path` and lays out its windows; a failure becomes `.error`.

    A recording up to KEEP_SECONDS long is decoded once and its window spectrograms computed
    here; a longer one is measured here and decoded again as its images are taken.
    """
    keep = round(KEEP_SECONDS * params.sample_rate)
    try:
        with open_audio(path, params.sample_rate, decoder) as stream:
            scan = stream.scan(lambda chunks: Scan.of(chunks, params.hop, keep))
            if not scan.length:
                raise AudioError("undecodable", f"{stream.decoder} decoded no audio")
            starts = window_starts(scan.length, params, overlap)
            if scan.kept is not None:
                windows = cut_windows(scan.kept, starts, params.snippet_samples)
                images = iter(list(window_spectrograms(windows, params)))
            else:
                images = _streamed_images(path, params, stream.decoder, starts)
    except Exception as error:  # noqa: BLE001 - one bad file is reported and skipped
        return FilePrediction(path, error=(str(error).splitlines() or [type(error).__name__])[0])
    return FilePrediction(path, scan.length, starts, images)


def _streamed_images(
    path: str, params: SpectrogramParams, decoder: str, starts: list[int]
) -> Iterator[np.ndarray]:
    with open_audio(path, params.sample_rate, decoder) as stream:
        windows = cut_windows(stream.chunks(), starts, params.snippet_samples)
        yield from window_spectrograms(windows, params)


def _decode_ahead(
    decode: Callable[[str], FilePrediction], paths: Iterable[str], workers: int
) -> Iterator[FilePrediction]:
    """decode(path) of each path in order, computed by `workers` threads a few files ahead."""
    pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="decode")
    pending: collections.deque[concurrent.futures.Future] = collections.deque()
    try:
        for path in paths:
            pending.append(pool.submit(decode, path))
            if len(pending) > 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(cancel_futures=True)


def predict_files(
    paths: Iterable[str],
    classifier: WindowClassifier,
    *,
    overlap: float = 0.5,
    workers: int = 2,
    decoder: str = "auto",
) -> Iterator[FilePrediction]:
    """Classifies every window of every file; yields each file, in order, once it is done.

    Windows of consecutive files share batches of `classifier.batch_size`; threads decode the
    next files meanwhile (TensorFlow releases the GIL while the model runs).
    """
    decode = functools.partial(
        load_windows, params=classifier.params, overlap=overlap, decoder=decoder
    )
    windows = _windows(_decode_ahead(decode, paths, workers))
    while chunk := list(itertools.islice(windows, classifier.batch_size)):
        images = [image for _, index, image in chunk if index is not None]
        probabilities = iter(classifier.probabilities(np.stack(images)) if images else [])
        for item, index, _ in chunk:
            if index is None:
                yield item
                continue
            if index == 0:
                item.probabilities = np.empty(
                    (len(item.starts), len(classifier.labels)), np.float32
                )
            item.probabilities[index] = next(probabilities)
            if index == len(item.starts) - 1:
                yield item


def _windows(
    predictions: Iterable[FilePrediction],
) -> Iterator[tuple[FilePrediction, int | None, np.ndarray | None]]:
    """(file, window index, image) of every window; (file, None, None) for a failed file.

    A file's images are taken to their end (closing a streamed file's decoder) before the next
    file is asked for.
    """
    for item in predictions:
        if item.error:
            yield item, None, None
            continue
        images, item.images = item.images, None
        yield from ((item, index, image) for index, image in enumerate(images))


def resolve_inputs(inputs: Iterable[str]) -> list[str]:
    """Audio files named by file paths, folders and globs (local, gs://...), without repeats.

    A path with an audio extension, or any local file, is taken as a file; other paths as
    folders, which give their files with audio extensions, as globs do. Raises CatalogError
    for an input that matches nothing.
    """
    paths: dict[str, None] = {}
    for item in inputs:
        named_file = os.path.isfile(item) or item.lower().endswith(AUDIO_EXTENSIONS)
        if named_file and not any(c in item for c in _WILDCARDS):
            if not FileSystems.exists(item):
                raise CatalogError(f"{item}: no such file")
            paths[item] = None
        else:
            paths.update(dict.fromkeys(list_audio_files(item)[1]))
    return list(paths)
