"""The tf.train.Example of one spectrogram snippet: feature keys, dtypes and shapes.

The spectrogram is stored as raw uint8 bytes, row-major with shape (height, width):
row 0 is 0 Hz, the last row is the Nyquist frequency; columns are STFT frames in time.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

FEATURE_SPEC = {
    "spectrogram": tf.io.FixedLenFeature([], tf.string),
    "height": tf.io.FixedLenFeature([], tf.int64),
    "width": tf.io.FixedLenFeature([], tf.int64),
    "label": tf.io.FixedLenFeature([], tf.int64),
    "species": tf.io.FixedLenFeature([], tf.string),
    "recording_id": tf.io.FixedLenFeature([], tf.string),
    "snippet_index": tf.io.FixedLenFeature([], tf.int64),
    "start_seconds": tf.io.FixedLenFeature([], tf.float32),
    "source_file": tf.io.FixedLenFeature([], tf.string),
    "sound_type": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "license": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "quality": tf.io.FixedLenFeature([], tf.string, default_value=""),
}


def _bytes(value: str | bytes) -> tf.train.Feature:
    data = value.encode("utf-8") if isinstance(value, str) else value
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[data]))


def _int(value: int) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))


def _float(value: float) -> tf.train.Feature:
    return tf.train.Feature(float_list=tf.train.FloatList(value=[float(value)]))


def make_example(
    spectrogram: np.ndarray,
    *,
    label: int,
    species: str,
    recording_id: str,
    snippet_index: int,
    start_seconds: float,
    source_file: str,
    sound_type: str = "",
    license: str = "",
    quality: str = "",
) -> tf.train.Example:
    """Builds the Example of one snippet from its uint8 (height, width) spectrogram."""
    if spectrogram.dtype != np.uint8 or spectrogram.ndim != 2:
        raise ValueError(
            f"spectrogram must be 2-D uint8, got {spectrogram.dtype} {spectrogram.shape}"
        )
    height, width = spectrogram.shape
    feature = {
        "spectrogram": _bytes(np.ascontiguousarray(spectrogram).tobytes()),
        "height": _int(height),
        "width": _int(width),
        "label": _int(label),
        "species": _bytes(species),
        "recording_id": _bytes(recording_id),
        "snippet_index": _int(snippet_index),
        "start_seconds": _float(start_seconds),
        "source_file": _bytes(source_file),
        "sound_type": _bytes(sound_type),
        "license": _bytes(license),
        "quality": _bytes(quality),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature))


def parse_examples(serialized: tf.Tensor, height: int, width: int) -> dict[str, tf.Tensor]:
    """Parses a batch (or one) of serialized Examples; "spectrogram" becomes uint8 (..., h, w)."""
    features = tf.io.parse_example(serialized, FEATURE_SPEC)
    pixels = tf.io.decode_raw(features["spectrogram"], tf.uint8)
    features["spectrogram"] = tf.reshape(
        pixels, tf.concat([tf.shape(serialized), [height, width]], 0)
    )
    return features
