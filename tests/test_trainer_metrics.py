"""trainer.metrics on hand-made predictions whose metrics are worked out by hand."""

import numpy as np
import pytest

from trainer.metrics import average_precision, compute_metrics, top_k_accuracy

SPECIES = ["a", "b", "c"]
LABELS = np.array([0, 0, 1, 1, 2, 2, 0])
PROBABILITIES = np.array(
    [
        [0.7, 0.2, 0.1],  # a, right
        [0.3, 0.6, 0.1],  # a, taken for b
        [0.2, 0.5, 0.3],  # b, right
        [0.1, 0.3, 0.6],  # b, taken for c
        [0.1, 0.1, 0.8],  # c, right
        [0.5, 0.3, 0.2],  # c, taken for a, and not in the top 2
        [0.9, 0.05, 0.05],  # a, right
    ]
)
RECORDINGS = ["r1", "r1", "r2", "r2", "r3", "r4", "r5"]


def test_top_k_accuracy():
    assert top_k_accuracy(LABELS, PROBABILITIES, 1) == pytest.approx(4 / 7)
    assert top_k_accuracy(LABELS, PROBABILITIES, 2) == pytest.approx(6 / 7)
    assert top_k_accuracy(LABELS, PROBABILITIES, 3) == 1.0


def test_average_precision_counts_tied_scores_as_one_threshold():
    # b's positives rank 2nd and, tied with a negative, 3rd-4th: precision 1/2 at both recalls.
    assert average_precision(LABELS == 1, PROBABILITIES[:, 1]) == pytest.approx(0.5)
    assert average_precision(np.array([1, 0, 1]), np.array([0.9, 0.8, 0.1])) == pytest.approx(
        (1 + 2 / 3) / 2
    )


def test_compute_metrics_agrees_with_the_hand_computation():
    metrics = compute_metrics(LABELS, PROBABILITIES, RECORDINGS, SPECIES)
    assert metrics["examples"] == 7 and metrics["recordings"] == 5
    assert metrics["top1_accuracy"] == pytest.approx(4 / 7)
    assert metrics["top5_accuracy"] == 1.0  # only 3 species
    # a: positives ranked 1, 2, 4 -> (1 + 1 + 3/4) / 3; b: 1/2; c: ranked 1 and 4 -> (1 + 1/2) / 2
    assert metrics["per_species"]["a"]["average_precision"] == pytest.approx(11 / 12)
    assert metrics["per_species"]["c"]["average_precision"] == pytest.approx(3 / 4)
    assert metrics["macro_average_precision"] == pytest.approx((11 / 12 + 1 / 2 + 3 / 4) / 3)
    assert metrics["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [1, 0, 1]]
    expected = {"a": (2 / 3, 2 / 3, 3), "b": (1 / 2, 1 / 2, 2), "c": (1 / 2, 1 / 2, 2)}
    for name, (precision, recall, support) in expected.items():
        got = metrics["per_species"][name]
        assert got["precision"] == pytest.approx(precision)
        assert got["recall"] == pytest.approx(recall)
        assert got["support"] == support
    # r1 [.5 .4 .1] right, r2 [.15 .4 .45] wrong, r3 right, r4 wrong, r5 right
    assert metrics["per_recording_accuracy"] == pytest.approx(3 / 5)


def test_species_without_examples_are_left_out_of_the_mean_average_precision():
    metrics = compute_metrics(LABELS[:4], PROBABILITIES[:4], RECORDINGS[:4], SPECIES)
    assert metrics["per_species"]["c"] == {
        "precision": 0.0,  # c was predicted once, wrongly
        "recall": 0.0,
        "support": 0,
        "average_precision": None,
    }
    a = average_precision(LABELS[:4] == 0, PROBABILITIES[:4, 0])
    b = average_precision(LABELS[:4] == 1, PROBABILITIES[:4, 1])
    assert metrics["macro_average_precision"] == pytest.approx((a + b) / 2)


def test_species_metrics_with_and_without_the_background_class():
    from schemas import BACKGROUND_LABEL
    from trainer.metrics import split_metrics

    labels = ["A", "B", BACKGROUND_LABEL]
    true = np.array([0, 1, 2, 2])
    probabilities = np.array(
        [[0.3, 0.1, 0.6], [0.1, 0.5, 0.4], [0.1, 0.1, 0.8], [0.5, 0.1, 0.4]], np.float64
    )
    metrics = split_metrics(true, probabilities, ["r1", "r2", "r1", "r2"], labels)
    # the species alone: background examples and probability left out, so r1 is A, r2 is B
    assert (metrics["examples"], metrics["recordings"], metrics["top1_accuracy"]) == (2, 2, 1.0)
    assert set(metrics["per_species"]) == {"A", "B"}
    everything = metrics["with_background"]
    assert (everything["examples"], everything["recordings"]) == (4, 4)
    assert (
        everything["top1_accuracy"] == 0.5
    )  # r1's species window went to background, r2's bg to A
