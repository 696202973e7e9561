"""The multi-label loss and metric that skip masked (snippet, species) entries: targets are
multi-hot with trainer.multilabel.MASKED (-1) where a species is neither present nor absent (a secondary species of
--secondary-labels exclude-as-negative). Registered, so that model.keras exports load."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def unmasked(y_true: Any) -> tuple[Any, Any]:
    """(targets with masked entries 0, their weights: 1, or 0 where masked)."""
    known = ops.cast(ops.greater_equal(y_true, 0.0), y_true.dtype)
    return y_true * known, known


@keras.saving.register_keras_serializable(package="birdsong")
class MaskedBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy of each snippet averaged over its unmasked species (with no mask,
    keras.losses.BinaryCrossentropy's value); a snippet masked everywhere counts 0."""

    def __init__(
        self,
        label_smoothing: float = 0.0,
        name: str = "masked_binary_crossentropy",
        **kwargs,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.label_smoothing = label_smoothing

    def call(self, y_true: Any, y_pred: Any) -> Any:
        y_pred = ops.convert_to_tensor(y_pred)
        targets, known = unmasked(ops.cast(y_true, y_pred.dtype))
        if self.label_smoothing:
            targets = targets * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        entries = ops.binary_crossentropy(targets, y_pred) * known
        return ops.sum(entries, axis=-1) / ops.maximum(ops.sum(known, axis=-1), 1.0)

    def get_config(self) -> dict:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="birdsong")
class MaskedAUC(keras.metrics.AUC):
    """keras.metrics.AUC of the unmasked entries only (their sample weight 0 where masked)."""

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        targets, known = unmasked(ops.cast(y_true, "float32"))
        if sample_weight is not None:
            known = known * ops.reshape(ops.cast(sample_weight, known.dtype), (-1, 1))
        super().update_state(targets, y_pred, sample_weight=known)
