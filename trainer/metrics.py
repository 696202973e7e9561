"""Evaluation metrics in plain numpy, from predicted probabilities and true labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from schemas import BACKGROUND_LABEL


def top_k_accuracy(labels: np.ndarray, probabilities: np.ndarray, k: int) -> float:
    """Fraction of examples whose true label is among the k most probable."""
    top_k = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top_k == labels[:, None], axis=1)))


def average_precision(is_positive: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve as a step function over distinct score thresholds."""
    order = np.argsort(-scores, kind="stable")
    scores, is_positive = scores[order], is_positive[order]
    last_of_threshold = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_positives = np.cumsum(is_positive)[last_of_threshold]
    precision = true_positives / (last_of_threshold + 1)
    recall_gain = np.diff(np.r_[0, true_positives]) / true_positives[-1]
    return float(np.sum(precision * recall_gain))


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts of (true label, predicted label) pairs; rows are true labels."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def per_recording_accuracy(
    labels: np.ndarray, probabilities: np.ndarray, recording_ids: Sequence[str]
) -> tuple[float, int]:
    """Accuracy of recordings classified by their snippets' mean probabilities, and their count."""
    recordings, index = np.unique(np.asarray(recording_ids), return_inverse=True)
    sums = np.zeros((len(recordings), probabilities.shape[1]))
    np.add.at(sums, index, probabilities)
    recording_labels = np.zeros(len(recordings), dtype=labels.dtype)
    recording_labels[index] = labels
    return float(np.mean(sums.argmax(axis=1) == recording_labels)), len(recordings)


def compute_metrics(
    labels: np.ndarray,
    probabilities: np.ndarray,
    recording_ids: Sequence[str],
    species: Sequence[str],
) -> dict[str, Any]:
    """All evaluation metrics of one split, as a JSON-ready dict."""
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    n_classes = len(species)
    predicted = probabilities.argmax(axis=1)
    matrix = confusion_matrix(labels, predicted, n_classes)
    support = matrix.sum(axis=1)
    predicted_count = matrix.sum(axis=0)
    correct = np.diag(matrix)
    precision = np.divide(
        correct, predicted_count, out=np.zeros(n_classes), where=predicted_count > 0
    )
    recall = np.divide(correct, support, out=np.zeros(n_classes), where=support > 0)
    ap = {
        name: average_precision(labels == index, probabilities[:, index])
        for index, name in enumerate(species)
        if support[index] > 0
    }
    recording_accuracy, n_recordings = per_recording_accuracy(labels, probabilities, recording_ids)
    return {
        "examples": len(labels),
        "recordings": n_recordings,
        "top1_accuracy": top_k_accuracy(labels, probabilities, 1),
        "top5_accuracy": top_k_accuracy(labels, probabilities, min(5, n_classes)),
        "macro_average_precision": float(np.mean(list(ap.values()))),
        "per_recording_accuracy": recording_accuracy,
        "per_species": {
            name: {
                "precision": float(precision[index]),
                "recall": float(recall[index]),
                "support": int(support[index]),
                "average_precision": ap.get(name),
            }
            for index, name in enumerate(species)
        },
        "confusion_matrix": matrix.tolist(),
    }


def split_metrics(
    true_labels: np.ndarray, probabilities: np.ndarray, recording_ids: list[str], labels: list[str]
) -> dict[str, Any]:
    """The metrics of a split; with the background class, those of the species alone.

    With BACKGROUND_LABEL last in `labels`, the headline metrics cover the species' examples
    with the background's probability left out (the rest renormalised), comparable with a
    model trained without it; "with_background" holds the metrics over every example and
    class, a recording's background windows counted as a recording of their own.
    """
    if labels[-1] != BACKGROUND_LABEL:
        return compute_metrics(true_labels, probabilities, recording_ids, labels)
    background = true_labels == len(labels) - 1
    species = probabilities[~background, :-1]
    species = species / np.maximum(species.sum(axis=1, keepdims=True), 1e-12)
    ids = np.asarray(recording_ids)
    with_background = compute_metrics(
        true_labels,
        probabilities,
        [f"{r} {b}" for r, b in zip(ids, background, strict=True)],
        labels,
    )
    return {
        **compute_metrics(true_labels[~background], species, list(ids[~background]), labels[:-1]),
        "with_background": with_background,
    }
