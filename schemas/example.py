"""The tf.train.Example of one spectrogram snippet: feature keys, dtypes and shapes.

The spectrogram is stored as raw uint8 bytes, row-major with shape (height, width):
row 0 is 0 Hz, the last row is the Nyquist frequency; columns are STFT frames in time.
"""

from __future__ import annotations

import numpy as np

# TensorFlow is imported where it is used: the builder's launcher never needs it.
# Feature key -> (dtype, default value; None: required).
FEATURES = {
    "spectrogram": ("string", None),
    "height": ("int64", None),
    "width": ("int64", None),
    "label": ("int64", None),
    "species": ("string", None),
    "recording_id": ("string", None),
    "snippet_index": ("int64", None),
    "start_seconds": ("float32", None),
    "source_file": ("string", None),
    "sound_type": ("string", ""),
    "license": ("string", ""),
    "quality": ("string", ""),
}


def feature_spec() -> dict:
    """The tf.io parsing spec of the Example: every feature a scalar of its dtype."""
    import tensorflow as tf

    return {
        key: tf.io.FixedLenFeature([], tf.dtypes.as_dtype(dtype), default_value=default)
        for key, (dtype, default) in FEATURES.items()
    }


def _feature(dtype: str, value: str | bytes | int | float):
    import tensorflow as tf

    if dtype == "string":
        data = value.encode("utf-8") if isinstance(value, str) else value
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[data]))
    if dtype == "int64":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))
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
):
    """The tf.train.Example of one snippet, from its uint8 (height, width) spectrogram."""
    import tensorflow as tf

    if spectrogram.dtype != np.uint8 or spectrogram.ndim != 2:
        raise ValueError(
            f"spectrogram must be 2-D uint8, got {spectrogram.dtype} {spectrogram.shape}"
        )
    height, width = spectrogram.shape
    values = {
        "spectrogram": np.ascontiguousarray(spectrogram).tobytes(),
        "height": height,
        "width": width,
        "label": label,
        "species": species,
        "recording_id": recording_id,
        "snippet_index": snippet_index,
        "start_seconds": start_seconds,
        "source_file": source_file,
        "sound_type": sound_type,
        "license": license,
        "quality": quality,
    }
    feature = {key: _feature(FEATURES[key][0], value) for key, value in values.items()}
    return tf.train.Example(features=tf.train.Features(feature=feature))


def parse_examples(serialized, height: int, width: int) -> dict:
    """Parses a batch (or one) of serialized Examples; "spectrogram" becomes uint8 (..., h, w)."""
    import tensorflow as tf

    features = tf.io.parse_example(serialized, feature_spec())
    pixels = tf.io.decode_raw(features["spectrogram"], tf.uint8)
    features["spectrogram"] = tf.reshape(
        pixels, tf.concat([tf.shape(serialized), [height, width]], 0)
    )
    return features
