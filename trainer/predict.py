"""Classifies recordings with an exported model, window by window.

Usage: python -m trainer.predict --model JOB_DIR_OR_EXPORT FILE_OR_FOLDER_OR_GLOB ... [flags]

Recordings are decoded and turned into spectrograms by the front end the builder uses
(frontend.windows) with the parameters of the export's dataset.json, over sliding
snippet-long windows. Windows of all files go through the model in fixed-size batches while a
thread pool decodes the next files (trainer.prediction holds the pieces; trainer.prediction.run
the command's work, imported once the command has quieted TensorFlow's start-up).
"""

from __future__ import annotations

import argparse
import os

from frontend.audio import DECODERS, MissingToolError
from pipeline import cli
from schemas import DatasetFormatError
from trainer import TrainerError
from trainer.prediction.writers import FORMAT_OF_SUFFIX, FORMATS


def _probability(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError("must be from 0 to 1")
    return number


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The flags of trainer.predict; a usage error exits with status 2."""
    parser = argparse.ArgumentParser(
        prog="python -m trainer.predict",
        description=__doc__.splitlines()[0],
        epilog="Exit status: 0 every file classified, 1 some files failed or no model, 2 usage "
        "error, 130 interrupted.",
    )
    add = parser.add_argument
    add(
        "inputs",
        nargs="+",
        metavar="FILE_OR_FOLDER_OR_GLOB",
        help="recordings (any format the builder reads): files, folders or globs, local or gs://",
    )
    add("--model", required=True, help="job dir of trainer.task, or its export dir")
    add("--top-k", type=cli.positive_int, default=3, help="species listed per file (default: 3)")
    add(
        "--aggregate",
        choices=("mean", "max"),
        default="mean",
        help="a file's score of a species: mean or max over its windows (default: mean)",
    )
    add(
        "--overlap",
        type=cli.fraction_below_one,
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
        "--detection-threshold",
        type=_probability,
        metavar="T",
        help="for a model trained with the (background) class: a window holds a bird when "
        "1 - P(background) is at least T, else it is a no_detection row (default: the "
        "threshold chosen on validation at the end of training, in the export's detection.json)",
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
    add(
        "--quiet",
        action="store_true",
        help="no progress lines or summary on stderr, only the results and errors",
    )
    add(
        "--batch-size",
        type=cli.positive_int,
        default=32,
        help="windows per model call (default: 32)",
    )
    add(
        "--workers",
        type=cli.positive_int,
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
    """Entry point of python -m trainer.predict; returns the exit status of pipeline.cli."""
    args = parse_args(argv)
    cli.quiet_start()  # before TensorFlow loads, which importing trainer.prediction.run does
    import tensorflow as tf

    from trainer.prediction import run

    errors = (TrainerError, DatasetFormatError, MissingToolError, OSError,
              tf.errors.OpError)  # fmt: skip
    return cli.run(
        lambda: run.predict(args), errors, "prediction stopped; rows written so far stay"
    )


if __name__ == "__main__":
    raise SystemExit(main())
