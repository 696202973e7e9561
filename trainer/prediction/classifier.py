"""An exported model over spectrogram windows: loaded once, called in fixed-size batches."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from schemas import DatasetFormatError
from trainer.detection import read_detection_threshold
from trainer.export import export_dir_of, load_exported_model
from trainer.multilabel import read_thresholds


class Classifier:
    """An exported model loaded once, with its labels and the spectrogram parameters it needs."""

    def __init__(self, model_path: str, batch_size: int = 32) -> None:
        self.model, self.labels, info = load_exported_model(model_path)
        # A multi-label model's threshold per species; None: a softmax over the species.
        export_dir = export_dir_of(model_path)
        self.thresholds = read_thresholds(export_dir, self.labels)
        # A single-label model's with the background class: bird where 1 - P(background)
        # reaches it; None: where the background is not the most probable label.
        self.detection_threshold = read_detection_threshold(export_dir)
        self.params = info.spectrogram
        self.batch_size = batch_size
        shape = (self.params.frequency_rows, self.params.frames)
        if tuple(self.model.input_shape[1:]) != shape:
            raise DatasetFormatError(
                f"{model_path}: the model takes spectrograms of {self.model.input_shape[1:]} but "
                f"the spectrogram parameters of its dataset.json give {shape}"
            )
        # One batch shape, traced once, without XLA (slower on a CPU; predict_on_batch may use it).
        self._predict = tf.function(
            lambda images: self.model(images, training=False),
            input_signature=[tf.TensorSpec((batch_size, *shape), tf.uint8)],
        )

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """float32 (n, species) of uint8 spectrograms (n, height, width), in fixed-size batches."""
        outputs = []
        for first in range(0, len(images), self.batch_size):
            batch = images[first : first + self.batch_size]
            padded = np.zeros((self.batch_size, *batch.shape[1:]), np.uint8)
            padded[: len(batch)] = batch
            outputs.append(self._predict(padded).numpy()[: len(batch)])
        return np.concatenate(outputs) if outputs else np.zeros((0, len(self.labels)), np.float32)
