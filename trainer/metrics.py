"""Evaluation metrics in plain numpy, from predicted probabilities and true labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from schemas import BACKGROUND_LABEL


def top_k_accuracy(label_ids: np.ndarray, probabilities: np.ndarray, k: int) -> float:
    """Fraction of examples whose true label is among the k most probable."""
    top_k = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top_k == label_ids[:, None], axis=1)))


def average_precision(is_positive: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve as a step function over distinct score thresholds."""
    order = np.argsort(-scores, kind="stable")
    scores, is_positive = scores[order], is_positive[order]
    last_of_threshold = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_positives = np.cumsum(is_positive)[last_of_threshold]
    precision = true_positives / (last_of_threshold + 1)
    recall_gain = np.diff(np.r_[0, true_positives]) / true_positives[-1]
    return float(np.sum(precision * recall_gain))


def confusion_matrix(label_ids: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts of (true label, predicted label) pairs; rows are true labels."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (label_ids, predicted), 1)
    return matrix


def per_recording_accuracy(
    label_ids: np.ndarray, probabilities: np.ndarray, recording_ids: Sequence[str]
) -> tuple[float, int]:
    """Accuracy of recordings classified by their snippets' mean probabilities, and their count."""
    recordings, index = np.unique(np.asarray(recording_ids), return_inverse=True)
    sums = np.zeros((len(recordings), probabilities.shape[1]))
    np.add.at(sums, index, probabilities)
    recording_label_ids = np.zeros(len(recordings), dtype=label_ids.dtype)
    recording_label_ids[index] = label_ids
    return float(np.mean(sums.argmax(axis=1) == recording_label_ids)), len(recordings)


def compute_metrics(
    label_ids: np.ndarray,
    probabilities: np.ndarray,
    recording_ids: Sequence[str],
    label_names: Sequence[str],
) -> dict[str, Any]:
    """All evaluation metrics of one split, as a JSON-ready dict (per species by label name)."""
    label_ids = np.asarray(label_ids)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    n_classes = len(label_names)
    predicted = probabilities.argmax(axis=1)
    matrix = confusion_matrix(label_ids, predicted, n_classes)
    support = matrix.sum(axis=1)
    predicted_count = matrix.sum(axis=0)
    correct = np.diag(matrix)
    precision = np.divide(
        correct, predicted_count, out=np.zeros(n_classes), where=predicted_count > 0
    )
    recall = np.divide(correct, support, out=np.zeros(n_classes), where=support > 0)
    ap = {
        name: average_precision(label_ids == index, probabilities[:, index])
        for index, name in enumerate(label_names)
        if support[index] > 0
    }
    recording_accuracy, n_recordings = per_recording_accuracy(
        label_ids, probabilities, recording_ids
    )
    return {
        "examples": len(label_ids),
        "recordings": n_recordings,
        "top1_accuracy": top_k_accuracy(label_ids, probabilities, 1),
        "top5_accuracy": top_k_accuracy(label_ids, probabilities, min(5, n_classes)),
        "macro_average_precision": float(np.mean(list(ap.values()))),
        "per_recording_accuracy": recording_accuracy,
        "per_species": {
            name: {
                "precision": float(precision[index]),
                "recall": float(recall[index]),
                "support": int(support[index]),
                "average_precision": ap.get(name),
            }
            for index, name in enumerate(label_names)
        },
        "confusion_matrix": matrix.tolist(),
    }


def split_metrics(
    label_ids: np.ndarray,
    probabilities: np.ndarray,
    recording_ids: list[str],
    label_names: list[str],
) -> dict[str, Any]:
    """The metrics of a split; with the background class, those of the species alone.

    With BACKGROUND_LABEL last in `label_names`, the headline metrics cover the species'
    examples with the background's probability left out (the rest renormalised), comparable
    with a model trained without it; "with_background" holds the metrics over every example and
    class, a recording's background windows counted as a recording of their own.
    """
    if label_names[-1] != BACKGROUND_LABEL:
        return compute_metrics(label_ids, probabilities, recording_ids, label_names)
    background = label_ids == len(label_names) - 1
    species_probabilities = probabilities[~background, :-1]
    species_probabilities = species_probabilities / np.maximum(
        species_probabilities.sum(axis=1, keepdims=True), 1e-12
    )
    ids = np.asarray(recording_ids)
    with_background = compute_metrics(
        label_ids,
        probabilities,
        [f"{r} {b}" for r, b in zip(ids, background, strict=True)],
        label_names,
    )
    return {
        **compute_metrics(
            label_ids[~background],
            species_probabilities,
            list(ids[~background]),
            label_names[:-1],
        ),
        "with_background": with_background,
    }
