"""Classifies recordings with an exported model, window by window.

Usage: python -m trainer.predict --model JOB_DIR_OR_EXPORT FILE_OR_FOLDER_OR_GLOB ... [flags]

Recordings are decoded and turned into spectrograms by the builder's own code (pipeline.audio,
pipeline.spectrogram) with the parameters of the export's dataset.json, over sliding
snippet-long windows. Windows of all files go through the model in fixed-size batches while a
thread pool decodes the next files.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import csv
import dataclasses
import functools
import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

import numpy as np
import tensorflow as tf
from apache_beam.io.filesystems import FileSystems

from pipeline.audio import DECODERS, AudioError, open_audio
from pipeline.catalog import AUDIO_EXTENSIONS, CatalogError, list_audio_files
from pipeline.snippets import KEEP_SECONDS, Scan, SnippetSelection, choose_snippets, cut_windows
from pipeline.spectrogram import snippet_spectrograms, window_spectrograms
from schemas import BACKGROUND_LABEL, DatasetFormatError, SpectrogramParams
from trainer import TrainerError
from trainer.export import load_exported_model

FORMATS = ("csv", "json", "raven")
FORMAT_OF_SUFFIX = {".csv": "csv", ".json": "json", ".jsonl": "json", ".txt": "raven"}
RAVEN_COLUMNS = (
    "Selection",
    "View",
    "Channel",
    "Begin Time (s)",
    "End Time (s)",
    "Low Freq (Hz)",
    "High Freq (Hz)",
    "Species",
    "Score",
    "Begin Path",
)
_WILDCARDS = "*?["


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


class Classifier:
    """An exported model loaded once, with its labels and the spectrogram parameters it needs."""

    def __init__(self, model_path: str, batch_size: int = 32) -> None:
        self.model, self.labels, info = load_exported_model(model_path)
        self.params = info.spectrogram
        self.batch_size = batch_size
        shape = (self.params.frequency_rows, self.params.frames)
        if tuple(self.model.input_shape[1:]) != shape:
            raise DatasetFormatError(
                f"{model_path}: the model takes spectrograms of {self.model.input_shape[1:]} but "
                f"the spectrogram parameters of its dataset.json give {shape}"
            )
        # One batch shape, traced once, without XLA (slower on a CPU; predict_on_batch may use it).
        self._predict = tf.function(
            lambda images: self.model(images, training=False),
            input_signature=[tf.TensorSpec((batch_size, *shape), tf.uint8)],
        )

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """float32 (n, species) of uint8 spectrograms (n, height, width), in fixed-size batches."""
        outputs = []
        for first in range(0, len(images), self.batch_size):
            batch = images[first : first + self.batch_size]
            padded = np.zeros((self.batch_size, *batch.shape[1:]), np.uint8)
            padded[: len(batch)] = batch
            outputs.append(self._predict(padded).numpy()[: len(batch)])
        return np.concatenate(outputs) if outputs else np.zeros((0, len(self.labels)), np.float32)

    def classify_windows(self, samples: np.ndarray, starts: list[int]) -> np.ndarray:
        """Probabilities (len(starts), species) of the windows of `samples` at sample `starts`."""
        return self.probabilities(snippet_spectrograms(samples, starts, self.params))


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
    classifier: Classifier,
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


def columns(top_k: int) -> list[str]:
    """Columns of the CSV and JSON rows."""
    ranks = [f"{name}_{rank}" for rank in range(1, top_k + 1) for name in ("species", "score")]
    return ["file", "kind", "start_s", "end_s", *ranks, "error"]


def _top(scores: np.ndarray, labels: list[str], top_k: int) -> dict[str, Any]:
    order = np.argsort(-scores, kind="stable")[:top_k]
    ranked = {}
    for rank, label in enumerate(order, start=1):
        ranked[f"species_{rank}"] = labels[label]
        ranked[f"score_{rank}"] = round(float(scores[label]), 5)
    return ranked


def result_rows(
    item: FilePrediction,
    labels: list[str],
    params: SpectrogramParams,
    *,
    top_k: int = 3,
    aggregate: str = "mean",
    timeline: bool = False,
    min_score: float = 0.0,
) -> list[dict[str, Any]]:
    """Rows of one file: its top-k species over all windows, then (timeline) each window's.

    Windows whose best score is under `min_score` are left out; a failed file gives one
    "failed" row. Missing values are None. With a model trained with the background class,
    a window where it wins is a "no_detection" row without species, and the file's species
    are ranked by the windows where a bird was detected (all windows when there is none).
    """
    empty = dict.fromkeys(columns(top_k))
    if item.error:
        return [{**empty, "file": item.path, "kind": "failed", "error": item.error}]
    rate = params.sample_rate

    def row(kind: str, start: int, end: int, scores: np.ndarray) -> dict[str, Any]:
        times = {"start_s": round(start / rate, 3), "end_s": round(end / rate, 3)}
        return {**empty, "file": item.path, "kind": kind, **times, **_top(scores, labels, top_k)}

    windows = item.probabilities
    bird = np.ones(len(windows), bool)
    if labels[-1] == BACKGROUND_LABEL:
        bird = windows.argmax(axis=1) != len(labels) - 1
        labels, windows = labels[:-1], windows[:, :-1]
    detected = windows[bird] if bird.any() else windows
    scores = detected.max(axis=0) if aggregate == "max" else detected.mean(axis=0)
    rows = [row("file", 0, item.length, scores)]
    if timeline:
        for start, window, is_bird in zip(item.starts, windows, bird, strict=True):
            end = min(start + params.snippet_samples, item.length)
            if not is_bird:
                times = {"start_s": round(start / rate, 3), "end_s": round(end / rate, 3)}
                rows.append({**empty, "file": item.path, "kind": "no_detection", **times})
            elif window.max() >= min_score:
                rows.append(row("window", start, end, window))
    return rows


class ResultWriter:
    """Appends each finished file's rows to an output stream and flushes, so a run keeps its work.

    "csv" and "json" (JSON Lines, one object a line) hold every row as `result_rows` gives it;
    "raven" is a Raven selection table of the file and window rows with their top species,
    failed files left out.
    """

    def __init__(
        self, stream: TextIO, output_format: str, top_k: int, params: SpectrogramParams
    ) -> None:
        self._stream = stream
        self._format = output_format
        self._nyquist = params.sample_rate / 2
        self._selections = 0
        if output_format == "csv":
            self._table = csv.DictWriter(stream, columns(top_k))
        else:
            self._table = csv.DictWriter(stream, RAVEN_COLUMNS, delimiter="\t", lineterminator="\n")
        if output_format != "json":
            self._table.writeheader()

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Appends the rows of one file."""
        for row in rows:
            if self._format == "json":
                self._stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            elif self._format == "csv":
                self._table.writerow(row)
            elif row["kind"] in ("file", "window"):
                self._selections += 1
                self._table.writerow(self._raven(row))
        self._stream.flush()

    def _raven(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "Selection": self._selections,
            "View": "Spectrogram 1",
            "Channel": 1,
            "Begin Time (s)": row["start_s"],
            "End Time (s)": row["end_s"],
            "Low Freq (Hz)": 0.0,
            "High Freq (Hz)": self._nyquist,
            "Species": row["species_1"],
            "Score": row["score_1"],
            "Begin Path": row["file"],
        }


def format_rows(rows: list[dict[str, Any]], top_k: int) -> str:
    """The rows of one classified file as text for the terminal."""
    first = rows[0]
    lines = [f"{first['file']}  ({first['end_s']:.2f} s)"]
    for rank in range(1, top_k + 1):
        if first.get(f"species_{rank}") is not None:
            lines.append(f"  {first[f'score_{rank}']:.3f}  {first[f'species_{rank}']}")
    for row in rows[1:]:
        found = "no detection" if row["kind"] == "no_detection" else (
            f"{row['score_1']:.3f}  {row['species_1']}"
        )  # fmt: skip
        lines.append(f"    {row['start_s']:8.2f} - {row['end_s']:8.2f} s  {found}")
    return "\n".join(lines)


def _fraction(value: str) -> float:
    number = float(value)
    if not 0.0 <= number < 1.0:
        raise argparse.ArgumentTypeError("must be at least 0 and less than 1")
    return number


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The flags of trainer.predict; a usage error exits with status 2."""
    parser = argparse.ArgumentParser(
        prog="python -m trainer.predict",
        description=__doc__.splitlines()[0],
        epilog="Exit status: 0 every file classified, 1 some files failed, 2 usage error.",
    )
    add = parser.add_argument
    add(
        "inputs",
        nargs="+",
        metavar="FILE_OR_FOLDER_OR_GLOB",
        help="recordings (any format the builder reads): files, folders or globs, local or gs://",
    )
    add("--model", required=True, help="job dir of trainer.task, or its export dir")
    add("--top-k", type=_positive, default=3, help="species listed per file (default: 3)")
    add(
        "--aggregate",
        choices=("mean", "max"),
        default="mean",
        help="a file's score of a species: mean or max over its windows (default: mean)",
    )
    add(
        "--overlap",
        type=_fraction,
        default=0.5,
        help="overlap of consecutive windows, 0 to <1 (default: 0.5)",
    )
    add(
        "--timeline",
        action="store_true",
        help="also give every window's top species with its start and end time",
    )
    add(
        "--min-score",
        type=float,
        default=0.0,
        help="leave out timeline windows whose best score is below this (default: 0)",
    )
    add(
        "--output",
        help="also write the rows, file by file, to this .csv, .json (JSON Lines) or .txt",
    )
    add(
        "--format",
        choices=FORMATS,
        help="format of --output (default: from its extension; .txt is a Raven selection table)",
    )
    add(
        "--decoder",
        choices=DECODERS,
        default="auto",
        help="audio decoder, as in pipeline.build (default: auto)",
    )
    add("--batch-size", type=_positive, default=32, help="windows per model call (default: 32)")
    add(
        "--workers",
        type=_positive,
        default=2,
        help="threads preparing the next files while the model runs (default: 2)",
    )
    args = parser.parse_args(argv)
    if args.format and not args.output:
        parser.error("--format needs --output")
    if args.output and not args.format:
        args.format = FORMAT_OF_SUFFIX.get(os.path.splitext(args.output)[1].lower())
        if not args.format:
            parser.error("--output: name it .csv, .json or .txt, or give --format")
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point of python -m trainer.predict: 0 all files classified, 1 some failed, 2 usage."""
    args = parse_args(argv)
    try:
        paths = resolve_inputs(args.inputs)
        classifier = Classifier(args.model, args.batch_size)
    except (TrainerError, ValueError, OSError) as error:  # CatalogError, DatasetFormatError too
        print(f"error: {error}", file=sys.stderr)
        return 2
    params = classifier.params
    options = {
        "top_k": args.top_k,
        "aggregate": args.aggregate,
        "timeline": args.timeline,
        "min_score": args.min_score,
    }
    began, windows, failed = time.monotonic(), 0, 0
    with contextlib.ExitStack() as stack:
        writer = None
        if args.output:
            stream = stack.enter_context(tf.io.gfile.GFile(args.output, "w"))
            writer = ResultWriter(stream, args.format, args.top_k, params)
        predictions = predict_files(
            paths, classifier, overlap=args.overlap, workers=args.workers, decoder=args.decoder
        )
        for item in predictions:
            rows = result_rows(item, classifier.labels, params, **options)
            if item.error:
                failed += 1
                print(f"skipped {item.path}: {item.error}", file=sys.stderr)
            else:
                windows += len(item.starts)
                print(format_rows(rows, args.top_k), flush=True)
            if writer:
                writer.write(rows)
    seconds = time.monotonic() - began
    print(
        f"{len(paths) - failed} files classified, {failed} failed; {windows} windows in "
        f"{seconds:.1f} s ({windows / seconds:.1f} windows/s)",
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
