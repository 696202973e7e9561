"""Keras callbacks of the trainer: validation per recording, the best epoch, backups for --resume."""

from __future__ import annotations

import os
import time
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from trainer import multilabel
from trainer.evaluation import predict_split
from trainer.job_dir import BACKUP_STATE, BACKUP_WEIGHTS, read_json_file, write_json_file
from trainer.losses import MaskedBinaryCrossentropy
from trainer.metrics import split_metrics


class Validation(keras.callbacks.Callback):
    """Scores the validation split after each epoch: val_loss, val_accuracy, val_top5_accuracy and
    val_recording_accuracy (recordings classified by their snippets' mean probabilities); with
    `multi_label`, those of trainer.multilabel (a hit: a true label) and val_mean_ap, the
    loss and metrics skipping masked labels.

    One pass over the split instead of Keras' own validation; the values go into the epoch's
    logs, so the callbacks after this one (CSVLogger, TensorBoard) see them.
    """

    def __init__(
        self,
        dataset: tf.data.Dataset,
        label_names: list[str],
        label_smoothing: float,
        multi_label: bool = False,
    ):
        super().__init__()
        self.dataset = dataset
        self.label_names = label_names
        self.multi_label = multi_label
        loss = MaskedBinaryCrossentropy if multi_label else keras.losses.CategoricalCrossentropy
        self.loss = loss(label_smoothing=label_smoothing)

    def on_epoch_end(self, epoch, logs=None):
        if self.multi_label:
            scores, targets, recording_ids = multilabel.predict_targets(self.model, self.dataset)
            thresholds = np.full(len(self.label_names), multilabel.DEFAULT_THRESHOLD)
            metrics = multilabel.multi_label_metrics(
                targets, scores, recording_ids, self.label_names, thresholds
            )
            logs.update(
                val_loss=float(self.loss(targets, scores)),
                val_accuracy=metrics["top1_accuracy"],
                val_top5_accuracy=metrics["top5_accuracy"],
                val_recording_accuracy=metrics["per_recording_accuracy"],
                val_mean_ap=metrics["macro_average_precision"],
            )
            return
        probabilities, label_ids, recording_ids = predict_split(self.model, self.dataset)
        metrics = split_metrics(label_ids, probabilities, recording_ids, self.label_names)
        one_hot = np.eye(len(self.label_names), dtype=np.float32)[label_ids]
        logs.update(
            val_loss=float(self.loss(one_hot, probabilities)),
            val_accuracy=metrics["top1_accuracy"],
            val_top5_accuracy=metrics["top5_accuracy"],
            val_recording_accuracy=metrics["per_recording_accuracy"],
        )


class EpochLog(keras.callbacks.Callback):
    """One plain line per epoch on standard output, for log files and pipes (where Keras' progress
    bar would write its escape codes): the epoch, its seconds and every metric, validation's too.
    Goes after Validation, whose metrics it prints."""

    def on_epoch_begin(self, epoch, logs=None):
        self.began = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.monotonic() - self.began
        metrics = ", ".join(f"{name} {float(value):.4f}" for name, value in logs.items())
        print(f"epoch {epoch + 1}/{self.params['epochs']} ({seconds:.0f} s): {metrics}", flush=True)


class BestEpoch(keras.callbacks.Callback):
    """Keeps the weights of the best validation epoch so far, with a JSON state saying which.

    by "recording_accuracy": highest val_recording_accuracy, ties broken by lower val_loss;
    by "loss": lowest val_loss. A resumed run continues from the best.json already there.
    """

    def __init__(self, weights: str, state: str, by: str):
        super().__init__()
        self.weights, self.state, self.by = weights, state, by

    def _score(self, logs: dict[str, Any]) -> tuple[float, ...]:
        if self.by == "loss":
            return (-logs["val_loss"],)
        return (logs["val_recording_accuracy"], -logs["val_loss"])

    def on_epoch_end(self, epoch, logs=None):
        best = read_json_file(self.state)
        if best is None or self._score(logs) > self._score(best):
            self.model.save_weights(self.weights, overwrite=True)
            write_json_file(self.state, {"epoch": epoch, "by": self.by, **_floats(logs)})


class Backup(keras.callbacks.Callback):
    """Backs up the weights (with the optimizer's state) and the next epoch, for --resume.

    At each epoch's end, and with `every_steps` also every so many batches (the resumed run
    then redoes that epoch from its start). `restore` reads a backup back.
    """

    def __init__(self, directory: str, every_steps: int = 0):
        super().__init__()
        self.directory = directory
        self.every_steps = every_steps
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.every_steps and (batch + 1) % self.every_steps == 0:
            self._save(self.epoch)

    def on_epoch_end(self, epoch, logs=None):
        self._save(epoch + 1)

    def _save(self, next_epoch: int) -> None:
        tf.io.gfile.makedirs(self.directory)
        self.model.save_weights(os.path.join(self.directory, BACKUP_WEIGHTS), overwrite=True)
        write_json_file(os.path.join(self.directory, BACKUP_STATE), {"epoch": next_epoch})

    @staticmethod
    def restore(model: keras.Model, directory: str) -> int | None:
        """Loads a backup into a compiled model; returns the epoch to go on from, or None."""
        state = read_json_file(os.path.join(directory, BACKUP_STATE))
        if state is None:
            return None
        model.optimizer.build(model.trainable_variables)
        model.load_weights(os.path.join(directory, BACKUP_WEIGHTS))
        return state["epoch"]


def _floats(logs: dict[str, Any]) -> dict[str, float]:
    return {key: float(value) for key, value in logs.items() if key.startswith("val_")}
