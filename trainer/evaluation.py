"""Scoring a model on a split: its predictions, metrics-SPLIT.json and confusion-SPLIT.png.

trainer.train evaluates the exported model on the test split with it, the Validation callback
scores each epoch with predict_split, and the command trainer.evaluate runs evaluate_job.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

import schemas
from trainer import TrainerError, inputs, multilabel
from trainer.export import load_exported_model
from trainer.job_dir import JobDir, read_json_file, write_json_file
from trainer.metrics import split_metrics
from trainer.options import TrainOptions


def predict_split(
    model: keras.Model, batches: tf.data.Dataset
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The model's probabilities for every example of an eval_dataset, with the examples' label
    ids and recording ids, in the dataset's order."""
    probabilities, label_ids, recording_ids = [], [], []
    for features in batches:
        probabilities.append(np.asarray(model.predict_on_batch(features["spectrogram"])))
        label_ids.append(features["label"].numpy())
        recording_ids.extend(r.decode() for r in features["recording_id"].numpy())
    return np.concatenate(probabilities), np.concatenate(label_ids), recording_ids


def evaluate(
    model: keras.Model,
    data_dir: str,
    split: str,
    job_dir: str,
    *,
    batch_size: int = TrainOptions.batch_size,
    thresholds: np.ndarray | None = None,
) -> dict[str, Any]:
    """Predicts every example of a split, computes the metrics and writes them with a plot;
    with `thresholds` (a multi-label model's), trainer.multilabel's metrics, without a plot."""
    info, label_names = inputs.read_info_and_labels(data_dir)
    if not inputs.split_size(info, split):
        raise TrainerError(f"{data_dir}: the {split} split has no examples")
    batches = inputs.eval_dataset(data_dir, split, info, label_names, batch_size)
    if thresholds is not None:
        with inputs.data_errors(data_dir):
            scores, targets, recording_ids = multilabel.predict_targets(model, batches)
        metrics = {"split": split, "data_dir": data_dir, **multilabel.multi_label_metrics(
            targets, scores, recording_ids, label_names, thresholds)}  # fmt: skip
        write_json_file(JobDir(job_dir).metrics(split), metrics)
        return metrics
    with inputs.data_errors(data_dir):
        probabilities, label_ids, recording_ids = predict_split(model, batches)
    metrics = {
        "split": split,
        "data_dir": data_dir,
        **split_metrics(label_ids, probabilities, recording_ids, label_names),
    }
    species = label_names[:-1] if "with_background" in metrics else label_names
    write_json_file(JobDir(job_dir).metrics(split), metrics)
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


def evaluate_job(
    job_dir: str, split: str, *, data_dir: str | None = None, batch_size: int
) -> dict[str, Any]:
    """Evaluates the job's exported model on the dataset it was trained on (or `data_dir`) and
    prints the headline metrics."""
    model, label_names, _ = load_exported_model(job_dir)
    data_dir = data_dir or _trained_on(job_dir)
    if schemas.read_labels(data_dir) != label_names:
        raise TrainerError(
            f"{data_dir}: its labels.txt differs from the one the model was trained with"
        )
    thresholds = multilabel.read_thresholds(JobDir(job_dir).export, label_names)
    metrics = evaluate(
        model, data_dir, split, job_dir, batch_size=batch_size, thresholds=thresholds
    )
    print(summarize(metrics))
    return metrics


def _trained_on(job_dir: str) -> str:
    """The data dir of the run in job_dir."""
    path = JobDir(job_dir).run
    run = read_json_file(path)
    if run is None:
        raise TrainerError(f"{path}: not found; pass --data-dir")
    return run["data_dir"]


def summarize(metrics: dict[str, Any]) -> str:
    """The headline metrics of one split, in one line."""
    multi = f", macro F1 {metrics['macro_f1']:.3f}" if metrics.get("multi_label") else ""
    return (
        f"{metrics['split']}: top-1 {metrics['top1_accuracy']:.3f}, "
        f"top-5 {metrics['top5_accuracy']:.3f}, "
        f"macro AP {metrics['macro_average_precision']:.3f}{multi}, "
        f"per-recording accuracy {metrics['per_recording_accuracy']:.3f} "
        f"({metrics['examples']} snippets, {metrics['recordings']} recordings)"
    )
