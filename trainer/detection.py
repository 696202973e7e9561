"""The detection threshold of a single-label model with the background class: a window holds a
bird when 1 - P(background) reaches it. Chosen on the validation split at the end of training
(highest balanced accuracy of bird against background windows), stored with the export as
detection.json, used by predict.

1 - P(background) is the probability the softmax gives to all species together: a window
where two similar species split the probability is still a bird, which the best species'
probability would miss. Balanced accuracy (the mean of the rates of bird and of background
windows told right) does not depend on how many background windows the dataset holds, which
the builder's flags decide and a soundscape does not share.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from trainer.multilabel import ranked_cuts, threshold_at

DETECTION_FILE = "detection.json"
SCORE = "1 - P(background)"
RULE = (
    "a window holds a bird when its score reaches the threshold; the threshold of the highest "
    "balanced accuracy of bird against background windows of the validation split (the middle "
    "between two consecutive scores; the highest of equally good ones)"
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Detection:
    """A detection threshold and how it did on the validation windows it was chosen on."""

    threshold: float
    balanced_accuracy: float
    bird_windows: int
    background_windows: int

    def describe(self) -> str:
        """One line for the training summary."""
        return (
            f"bird where {SCORE} >= {self.threshold:.3f} (balanced accuracy "
            f"{self.balanced_accuracy:.3f} on {self.bird_windows} bird and "
            f"{self.background_windows} background validation windows)"
        )


def bird_scores(probabilities: np.ndarray) -> np.ndarray:
    """Each window's bird score, 1 - P(background) (the background is the last label)."""
    return 1.0 - np.asarray(probabilities, np.float64)[:, -1]


def best_detection(probabilities: np.ndarray, label_ids: np.ndarray) -> Detection | None:
    """The threshold of the highest balanced accuracy on windows' softmax `probabilities` and
    their label ids (the last label is the background); None without both kinds of window."""
    is_bird = np.asarray(label_ids) != probabilities.shape[1] - 1
    birds, background = int(is_bird.sum()), int((~is_bird).sum())
    if not birds or not background:
        return None
    ranked, hits, last = ranked_cuts(is_bird, bird_scores(probabilities))
    background_right = background - (last + 1 - hits[last])  # background windows under the cut
    balanced = (hits[last] / birds + background_right / background) / 2
    best = int(np.argmax(balanced))
    return Detection(
        threshold=threshold_at(ranked, last[best]),
        balanced_accuracy=float(balanced[best]),
        bird_windows=birds,
        background_windows=background,
    )


def write_detection(export_dir: str, detection: Detection) -> None:
    """Writes detection.json into an export: the threshold, its score and rule, and its
    validation figures."""
    import tensorflow as tf

    values = {"score": SCORE, "rule": RULE, **dataclasses.asdict(detection)}
    with tf.io.gfile.GFile(os.path.join(export_dir, DETECTION_FILE), "w") as f:
        f.write(json.dumps(values, indent=2))


def read_detection_threshold(export_dir: str) -> float | None:
    """The detection threshold of an export; None when it has none (a model without the
    background class, or whose validation split lacked bird or background windows)."""
    import tensorflow as tf

    path = os.path.join(export_dir, DETECTION_FILE)
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        return float(json.load(f)["threshold"])
