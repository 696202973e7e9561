"""The exported model that trainer.predict loads: Keras, SavedModel and optionally TFLite.

Layout under JOB_DIR/export/: model.keras; saved_model/ whose serving_default signature maps
uint8 `spectrogram` (batch, height, width) to float32 `probabilities` (batch, species);
labels.txt and dataset.json copied from the dataset; model.tflite (float16) on request.
"""

from __future__ import annotations

import contextlib
import io
import os

import keras
import tensorflow as tf

import schemas
import trainer.layers  # noqa: F401  (registers the custom layers that model.keras refers to)
import trainer.losses  # noqa: F401  (and the multi-label loss and metric it was compiled with)
from trainer import TrainerError
from trainer.job_dir import EXPORT_DIR, JobDir

KERAS_FILE = "model.keras"
SAVED_MODEL_DIR = "saved_model"
TFLITE_FILE = "model.tflite"


def export_model(model: keras.Model, job_dir: str, data_dir: str, *, tflite: bool = False) -> str:
    """Writes the export layout for `model`, trained on `data_dir`; returns the export dir."""
    export_dir = JobDir(job_dir).export
    tf.io.gfile.makedirs(export_dir)
    model.save(os.path.join(export_dir, KERAS_FILE))
    saved_model_dir = os.path.join(export_dir, SAVED_MODEL_DIR)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serving_default",
        lambda spectrogram: {"probabilities": model(spectrogram, training=False)},
        input_signature=[tf.TensorSpec((None, *model.input.shape[1:]), tf.uint8, "spectrogram")],
    )
    with contextlib.redirect_stdout(io.StringIO()):  # Keras 3.6 prints the endpoints regardless
        archive.write_out(saved_model_dir, verbose=False)
    for name in (schemas.LABELS_FILE, schemas.DATASET_INFO_FILE):
        tf.io.gfile.copy(os.path.join(data_dir, name), os.path.join(export_dir, name), True)
    if tflite:
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
        with tf.io.gfile.GFile(os.path.join(export_dir, TFLITE_FILE), "wb") as f:
            f.write(converter.convert())
    return export_dir


def export_dir_of(path: str) -> str:
    """The export dir of a job dir, or `path` itself (an export dir)."""
    export_dir = JobDir(path).export
    return export_dir if tf.io.gfile.exists(os.path.join(export_dir, KERAS_FILE)) else path


def load_exported_model(path: str) -> tuple[keras.Model, list[str], schemas.DatasetInfo]:
    """Loads (model, species labels, dataset info) from a job dir or its export dir.

    The model takes uint8 spectrograms (batch, height, width) and returns probabilities
    (batch, len(labels)); the dataset info holds the spectrogram parameters it was trained on.
    """
    export_dir = export_dir_of(path)
    keras_file = os.path.join(export_dir, KERAS_FILE)
    if not tf.io.gfile.exists(keras_file):
        raise TrainerError(f"{path}: no exported model ({EXPORT_DIR}/{KERAS_FILE}) found")
    model = keras.saving.load_model(keras_file)
    return model, schemas.read_labels(export_dir), schemas.read_dataset_info(export_dir)
