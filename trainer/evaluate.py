"""Evaluates a model on a split: metrics-SPLIT.json and confusion-SPLIT.png in the job dir.

Usage: python -m trainer.evaluate --job-dir JOB_DIR [--split test] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

import schemas
from pipeline import cli
from trainer import TrainerError, inputs
from trainer.export import load_exported_model
from trainer.job_dir import JobDir
from trainer.metrics import split_metrics


def evaluate(
    model: keras.Model,
    data_dir: str,
    split: str,
    job_dir: str,
    *,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Predicts every example of a split, computes the metrics and writes them with a plot."""
    info, labels = inputs.read_metadata(data_dir)
    if not inputs.split_size(info, split):
        raise TrainerError(f"{data_dir}: the {split} split has no examples")
    batches = inputs.eval_dataset(data_dir, split, info, labels, batch_size)
    probabilities, true_labels, recording_ids = [], [], []
    with inputs.data_errors(data_dir):
        for features in batches:
            probabilities.append(model.predict_on_batch(features["spectrogram"]))
            true_labels.append(features["label"].numpy())
            recording_ids.extend(r.decode() for r in features["recording_id"].numpy())
    metrics = {
        "split": split,
        "data_dir": data_dir,
        **split_metrics(
            np.concatenate(true_labels), np.concatenate(probabilities), recording_ids, labels
        ),
    }
    species = labels[:-1] if "with_background" in metrics else labels
    with tf.io.gfile.GFile(JobDir(job_dir).metrics(split), "w") as f:
        json.dump(metrics, f, indent=2)
    plot_confusion_matrix(
        np.array(metrics["confusion_matrix"]),
        species,
        JobDir(job_dir).confusion(split),
        title=f"{split} split, {metrics['examples']} snippets",
    )
    return metrics


def plot_confusion_matrix(
    matrix: np.ndarray, species: list[str], path: str, *, title: str = ""
) -> None:
    """Saves a confusion matrix (rows: true species) as a PNG labelled with species names."""
    size = 2 + 0.35 * len(species)
    figure = Figure(figsize=(size + 2, size))  # no pyplot: drawn with the Agg canvas
    axes = figure.subplots()
    shown = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(shown, ax=axes)
    ticks = range(len(species))
    axes.set_xticks(ticks, species, rotation=90)
    axes.set_yticks(ticks, species)
    axes.set_xlabel("predicted species")
    axes.set_ylabel("true species")
    axes.set_title(title)
    if len(species) <= 20:
        for (row, column), count in np.ndenumerate(matrix):
            axes.text(column, row, count, ha="center", va="center", fontsize=8)
    figure.tight_layout()
    with tf.io.gfile.GFile(path, "wb") as f:
        figure.savefig(f, format="png", dpi=100)


def run_evaluation(args: argparse.Namespace) -> dict[str, Any]:
    """Evaluates the job's exported model on the dataset it was trained on (or --data-dir)."""
    model, labels, _ = load_exported_model(args.job_dir)
    data_dir = args.data_dir or _trained_on(args.job_dir)
    if schemas.read_labels(data_dir) != labels:
        raise TrainerError(
            f"{data_dir}: its labels.txt differs from the one the model was trained with"
        )
    metrics = evaluate(model, data_dir, args.split, args.job_dir, batch_size=args.batch_size)
    print(summarize(metrics))
    return metrics


def _trained_on(job_dir: str) -> str:
    """The data dir of the run in job_dir."""
    path = JobDir(job_dir).run
    if not tf.io.gfile.exists(path):
        raise TrainerError(f"{path}: not found; pass --data-dir")
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)["data_dir"]


def summarize(metrics: dict[str, Any]) -> str:
    """The headline metrics of one split, in one line."""
    return (
        f"{metrics['split']}: top-1 {metrics['top1_accuracy']:.3f}, "
        f"top-5 {metrics['top5_accuracy']:.3f}, "
        f"macro AP {metrics['macro_average_precision']:.3f}, "
        f"per-recording accuracy {metrics['per_recording_accuracy']:.3f} "
        f"({metrics['examples']} snippets, {metrics['recordings']} recordings)"
    )


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
    parser.add_argument("--batch-size", type=int, default=32, help="examples per batch")
    args = parser.parse_args(argv)
    cli.quiet_start("trainer")
    errors = (TrainerError, schemas.DatasetFormatError)
    return cli.run(lambda: run_evaluation(args), errors, "the evaluation stopped")


if __name__ == "__main__":
    raise SystemExit(main())
