"""Reading recordings for predict: the files named by paths, folders and globs (on any TensorFlow
filesystem); each file's windows and their spectrograms (the front end the builder uses, with the
dataset's parameters); the windows of consecutive files batched together through the classifier
while threads decode the next files."""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import dataclasses
import functools
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

import numpy as np
import tensorflow as tf

from frontend.audio import AUDIO_EXTENSIONS
from frontend.windows import covering_starts, open_windows
from schemas import SpectrogramParams
from trainer import TrainerError

_WILDCARDS = "*?["


class WindowClassifier(Protocol):
    """What predict_files needs of a classifier (trainer.prediction.classifier.Classifier)."""

    labels: list[str]
    params: SpectrogramParams
    batch_size: int

    def probabilities(self, images: np.ndarray) -> np.ndarray: ...


@dataclasses.dataclass(kw_only=True)
class FilePrediction:
    """One input file: its windows (sample offsets), their spectrograms, then probabilities."""

    path: str
    length: int = 0  # samples at the model's rate
    starts: list[int] = dataclasses.field(default_factory=list)
    # uint8 (height, width) per window, in order; a long recording's are computed as they are
    # taken, from its samples in a temporary file, so that no file is ever held whole in
    # memory; dropped once classified.
    images: Iterator[np.ndarray] | None = None
    probabilities: np.ndarray | None = None  # float32 (windows, species)
    error: str = ""


def load_windows(
    path: str, params: SpectrogramParams, overlap: float, decoder: str = "auto"
) -> FilePrediction:
    """Decodes `path` and lays out its windows; a failure becomes `.error`.

    A recording up to KEEP_SECONDS long has its window images computed here; a longer one's
    are computed as they are taken, from its samples in a temporary file (decoded once), so
    that no file is held whole in memory.
    """
    opened = contextlib.ExitStack()
    try:
        windows = opened.enter_context(
            open_windows(
                path,
                params,
                lambda scan: covering_starts(scan.length, params, overlap),
                decoder=decoder,
                open_file=_open_file,
            )
        )
        if windows.scan.kept is not None:
            images = iter(list(windows.images))
            opened.close()
        else:
            images = _closing(windows.images, opened)
    except Exception as error:  # noqa: BLE001 - one bad file is reported and skipped
        opened.close()
        return FilePrediction(
            path=path, error=(str(error).splitlines() or [type(error).__name__])[0]
        )
    return FilePrediction(
        path=path, length=windows.scan.length, starts=windows.starts, images=images
    )


def _open_file(path: str) -> contextlib.AbstractContextManager:
    return tf.io.gfile.GFile(path, "rb")


def _closing(images: Iterator[np.ndarray], opened: contextlib.ExitStack) -> Iterator[np.ndarray]:
    with opened:
        yield from images


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
    folders, which give their files with audio extensions (in all sub-folders), as globs do.
    Raises TrainerError for an input that matches nothing.
    """
    paths: dict[str, None] = {}
    for item in inputs:
        named_file = os.path.isfile(item) or item.lower().endswith(AUDIO_EXTENSIONS)
        if named_file and not any(c in item for c in _WILDCARDS):
            if not tf.io.gfile.exists(item):
                raise TrainerError(f"{item}: no such file")
            paths[item] = None
        else:
            paths.update(dict.fromkeys(_audio_files(item)))
    return list(paths)


def _audio_files(folder_or_glob: str) -> list[str]:
    if any(c in folder_or_glob for c in _WILDCARDS):
        matches = tf.io.gfile.glob(folder_or_glob)
    elif tf.io.gfile.isdir(folder_or_glob):
        folder = folder_or_glob.rstrip("/")
        walked = tf.io.gfile.walk(folder)
        matches = [f"{parent}/{name}" for parent, _, names in walked for name in names]
    else:
        matches = []
    files = sorted(path for path in matches if path.lower().endswith(AUDIO_EXTENSIONS))
    if not files:
        raise TrainerError(
            f"{folder_or_glob}: no audio files found ({', '.join(AUDIO_EXTENSIONS)})"
        )
    return files
