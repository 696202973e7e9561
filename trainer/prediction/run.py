"""The work of `python -m trainer.predict`: classify files, print and write their rows."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

import tensorflow as tf

from frontend.audio import check_decoder
from pipeline import cli
from pipeline.progress import Progress
from schemas import BACKGROUND_LABEL
from trainer import TrainerError
from trainer.prediction.classifier import Classifier
from trainer.prediction.reading import predict_files, resolve_inputs
from trainer.prediction.rows import format_rows, result_rows
from trainer.prediction.writers import result_writer


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def predict(args: argparse.Namespace) -> int:
    """Classifies the files of `args.inputs`, printing (and writing) each file's rows as it
    finishes; returns 1 when some files failed, else 0."""
    check_decoder(args.decoder)
    paths = resolve_inputs(args.inputs)
    classifier = Classifier(args.model, args.batch_size)
    params = classifier.params
    detection_threshold = classifier.detection_threshold
    if args.detection_threshold is not None:
        if classifier.labels[-1] != BACKGROUND_LABEL or classifier.thresholds is not None:
            raise TrainerError(
                f"{args.model}: --detection-threshold needs a single-label model trained with "
                f"the {BACKGROUND_LABEL} class"
            )
        detection_threshold = args.detection_threshold
    options = {
        "top_k": args.top_k,
        "aggregate": args.aggregate,
        "timeline": args.timeline,
        "min_score": args.min_score,
        "thresholds": classifier.thresholds,
        "detection_threshold": detection_threshold,
    }
    progress = None if args.quiet else Progress(len(paths), None, say=_say, unit="files")
    began, windows, failed = time.monotonic(), 0, 0
    with contextlib.ExitStack() as stack:
        writer = None
        if args.output:
            stream = stack.enter_context(tf.io.gfile.GFile(args.output, "w"))
            writer = result_writer(stream, args.format, args.top_k, params)
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
            if progress:
                progress.finished(time.monotonic())
    seconds = time.monotonic() - began
    if not args.quiet:
        _say(
            f"{len(paths) - failed} files classified, {failed} failed; {windows} windows in "
            f"{seconds:.1f} s ({windows / seconds:.1f} windows/s)"
        )
    return cli.FAILED if failed else cli.DONE
