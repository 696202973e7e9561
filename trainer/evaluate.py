"""Evaluates a model on a split: metrics-SPLIT.json and confusion-SPLIT.png in the job dir.

Usage: python -m trainer.evaluate --job-dir JOB_DIR [--split test] [--data-dir DIR]

This module only parses the flags and hands them to trainer.evaluation, which it imports once
the command has quieted TensorFlow's start-up.
"""

from __future__ import annotations

import argparse

import schemas
from pipeline import cli
from trainer import TrainerError
from trainer.options import TrainOptions


def main(argv: list[str] | None = None) -> int:
    """Entry point of python -m trainer.evaluate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job-dir", required=True, help="job dir of a finished trainer.task run")
    parser.add_argument(
        "--split", default="test", choices=schemas.SPLITS, help="split to evaluate (default test)"
    )
    parser.add_argument(
        "--data-dir", help="dataset to read (default: the one the job was trained on)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=TrainOptions.batch_size, help="examples per batch"
    )
    args = parser.parse_args(argv)
    cli.quiet_start("trainer")  # before TensorFlow loads, which importing trainer.evaluation does
    from trainer import evaluation

    errors = (TrainerError, schemas.DatasetFormatError)
    return cli.run(
        lambda: evaluation.evaluate_job(
            args.job_dir, args.split, data_dir=args.data_dir, batch_size=args.batch_size
        ),
        errors,
        "the evaluation stopped",
    )


if __name__ == "__main__":
    raise SystemExit(main())
