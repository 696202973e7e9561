"""Several labels per snippet: metrics of sigmoid outputs, F1-optimal thresholds per species
(chosen on validation, stored with the export as thresholds.json, used by predict)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import rankdata

from trainer.metrics import average_precision

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

THRESHOLDS_FILE = "thresholds.json"
DEFAULT_THRESHOLD = 0.5  # of a species without a positive validation example
MASKED = -1.0  # the target of a masked label: no positive and no negative (trainer.losses)


def wanted(option: str, windows_per_label: dict) -> bool:
    """Whether to train with several labels: --multi-label on, or auto and a dataset of
    annotated windows (dataset.json counts their windows per label)."""
    return option == "on" or (option == "auto" and bool(windows_per_label))


def targets(
    labels: np.ndarray | tf.Tensor, masked_labels: np.ndarray | tf.Tensor
) -> np.ndarray | tf.Tensor:
    """Multi-hot targets of multi-hot labels and masked labels (parse_examples' pair, never
    both 1, arrays or tensors): MASKED where masked."""
    return labels + MASKED * masked_labels


def roc_auc(is_positive: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (ties count half); None without both classes."""
    positives, negatives = int(is_positive.sum()), int((~is_positive).sum())
    if not positives or not negatives:
        return None
    ranks = rankdata(scores)  # ties share their mean rank
    return float(
        (ranks[is_positive].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    )


def _f1(is_positive: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    hits = int(np.sum(is_positive & predicted))
    precision = hits / max(1, int(predicted.sum()))
    recall = hits / max(1, int(is_positive.sum()))
    return (2 * precision * recall / (precision + recall) if hits else 0.0), precision, recall


def ranked_cuts(
    is_positive: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The places a threshold on `scores` can cut: (scores best first, positives among the
    scores up to each, the index of the last of each distinct score)."""
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], np.cumsum(is_positive[order])
    return ranked, hits, np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]


def threshold_at(ranked: np.ndarray, cut: int) -> float:
    """The threshold keeping ranked[: cut + 1]: the middle between ranked[cut] and the next
    lower score (0 below the lowest)."""
    below = ranked[cut + 1] if cut + 1 < len(ranked) else 0.0
    return float((ranked[cut] + below) / 2)


def best_thresholds(targets: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Per species, the score threshold of the highest F1 on (targets, scores) of the
    snippets where it is not masked (the middle between that score and the next lower one);
    DEFAULT_THRESHOLD without positives."""
    thresholds = np.full(targets.shape[1], DEFAULT_THRESHOLD)
    for index in range(targets.shape[1]):
        known = targets[:, index] >= 0
        is_positive = targets[known, index] > 0.5
        if not is_positive.any():
            continue
        ranked, hits, last = ranked_cuts(is_positive, scores[known, index])
        f1 = 2 * hits[last] / (last + 1 + is_positive.sum())
        thresholds[index] = threshold_at(ranked, last[int(np.argmax(f1))])
    return thresholds


def multi_label_metrics(
    targets: np.ndarray,
    scores: np.ndarray,
    recording_ids: Sequence[str],
    label_names: Sequence[str],
    thresholds: np.ndarray,
) -> dict[str, Any]:
    """The metrics of one split of multi-hot `targets`: per species average precision, ROC AUC,
    and F1, precision and recall at `thresholds`, of the snippets where it is not masked
    (targets MASKED); their class-wise means; the top-1 and top-5
    hit rates (the best scores among the true labels); and per recording, the rate of
    recordings whose mean scores' best species is one of theirs."""
    known = np.asarray(targets) >= 0
    targets, scores = np.asarray(targets) > 0.5, np.asarray(scores, np.float64)
    predicted = scores >= thresholds
    per_species, aps, f1s = {}, [], []
    for index, name in enumerate(label_names):
        rows = known[:, index]
        is_positive, column = targets[rows, index], scores[rows, index]
        f1, precision, recall = _f1(is_positive, predicted[rows, index])
        ap = average_precision(is_positive, column) if is_positive.any() else None
        if ap is not None:
            aps.append(ap)
            f1s.append(f1)
        per_species[name] = {"average_precision": ap, "roc_auc": roc_auc(is_positive, column),
                             "f1": f1, "precision": precision, "recall": recall,
                             "threshold": float(thresholds[index]), "support": int(is_positive.sum())}  # fmt: skip
    top = np.argsort(-scores, axis=1, kind="stable")
    recordings, inverse = np.unique(np.asarray(recording_ids), return_inverse=True)
    sums = np.zeros((len(recordings), scores.shape[1]))
    np.add.at(sums, inverse, scores)
    heard = np.zeros((len(recordings), scores.shape[1]), bool)
    np.logical_or.at(heard, inverse, targets)
    return {
        "multi_label": True,
        "examples": len(targets),
        "recordings": len(recordings),
        "top1_accuracy": float(np.mean(targets[np.arange(len(top)), top[:, 0]]))
        if len(top)
        else 0.0,
        "top5_accuracy": float(np.mean(np.take_along_axis(targets, top[:, :5], 1).any(axis=1))),
        "macro_average_precision": float(np.mean(aps)) if aps else 0.0,
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
        "per_recording_accuracy": float(np.mean(heard[np.arange(len(recordings)), sums.argmax(1)])),
        "per_species": per_species,
    }


def write_thresholds(export_dir: str, label_names: Sequence[str], thresholds: np.ndarray) -> None:
    """Writes thresholds.json into an export: {species: threshold}."""
    import tensorflow as tf

    values = {name: round(float(t), 6) for name, t in zip(label_names, thresholds, strict=True)}
    with tf.io.gfile.GFile(os.path.join(export_dir, THRESHOLDS_FILE), "w") as f:
        f.write(json.dumps(values, indent=2, ensure_ascii=False))


def read_thresholds(export_dir: str, label_names: Sequence[str]) -> np.ndarray | None:
    """The thresholds of a multi-label export, in label order; None for a single-label one."""
    import tensorflow as tf

    path = os.path.join(export_dir, THRESHOLDS_FILE)
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        values = json.load(f)
    return np.array([values[name] for name in label_names], np.float32)


def predict_targets(
    model: keras.Model, batches: tf.data.Dataset
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(scores, multi-hot targets, MASKED at masked labels, recording ids) of every example of
    an eval_dataset."""
    scores, truth, recording_ids = [], [], []
    for features in batches:
        scores.append(np.asarray(model.predict_on_batch(features["spectrogram"])))
        truth.append(targets(features["labels"], features["masked_labels"]).numpy())
        recording_ids.extend(r.decode() for r in features["recording_id"].numpy())
    return np.concatenate(scores), np.concatenate(truth), recording_ids
