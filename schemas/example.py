"""The tf.train.Example of one spectrogram snippet: feature keys, dtypes and shapes.

The spectrogram is stored as raw uint8 bytes, row-major with shape (height, width):
row 0 is 0 Hz, the last row is the Nyquist frequency; columns are STFT frames in time.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

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
# Feature key -> dtype of features holding a list: "labels", every label index of a snippet
# (format 2; a record of format 1 has none, and its one label is its "label").
LIST_FEATURES = {"labels": "int64"}


def feature_spec() -> dict:
    """The tf.io parsing spec of the Example: every feature a scalar of its dtype, the list
    features of any length."""
    import tensorflow as tf

    return {
        **{
            key: tf.io.FixedLenFeature([], tf.dtypes.as_dtype(dtype), default_value=default)
            for key, (dtype, default) in FEATURES.items()
        },
        **{key: tf.io.VarLenFeature(tf.dtypes.as_dtype(d)) for key, d in LIST_FEATURES.items()},
    }


@functools.cache
def _messages() -> dict:
    """Message classes of tensorflow/core/example/{example,feature}.proto, built from the
    protobuf package alone (the same fields, numbers and types), so that workers serialise
    Examples byte for byte as tf.train.Example does without importing TensorFlow."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    proto = descriptor_pb2.FileDescriptorProto(
        name="birdsong/tf_example.proto", package="tensorflow", syntax="proto3"
    )
    field = descriptor_pb2.FieldDescriptorProto
    repeated, optional = field.LABEL_REPEATED, field.LABEL_OPTIONAL

    def add(container, name: str, fields, map_entry: bool = False):
        descriptor = container.add(name=name)
        if map_entry:
            descriptor.options.map_entry = True
        for number, (field_name, kind, label, type_name, oneof) in enumerate(fields, start=1):
            entry = descriptor.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                entry.type_name = type_name
            if oneof is not None:
                entry.oneof_index = oneof
        return descriptor

    add(proto.message_type, "BytesList", [("value", field.TYPE_BYTES, repeated, None, None)])
    add(proto.message_type, "FloatList", [("value", field.TYPE_FLOAT, repeated, None, None)])
    add(proto.message_type, "Int64List", [("value", field.TYPE_INT64, repeated, None, None)])
    feature = add(proto.message_type, "Feature", [
        ("bytes_list", field.TYPE_MESSAGE, optional, ".tensorflow.BytesList", 0),
        ("float_list", field.TYPE_MESSAGE, optional, ".tensorflow.FloatList", 0),
        ("int64_list", field.TYPE_MESSAGE, optional, ".tensorflow.Int64List", 0),
    ])  # fmt: skip
    feature.oneof_decl.add(name="kind")
    features = add(proto.message_type, "Features", [
        ("feature", field.TYPE_MESSAGE, repeated, ".tensorflow.Features.FeatureEntry", None),
    ])  # fmt: skip
    add(features.nested_type, "FeatureEntry", [
        ("key", field.TYPE_STRING, optional, None, None),
        ("value", field.TYPE_MESSAGE, optional, ".tensorflow.Feature", None),
    ], map_entry=True)  # fmt: skip
    add(proto.message_type, "Example", [
        ("features", field.TYPE_MESSAGE, optional, ".tensorflow.Features", None),
    ])  # fmt: skip
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    names = ("Example", "Features", "Feature", "BytesList", "FloatList", "Int64List")
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"tensorflow.{name}"))
        for name in names
    }


def _feature(messages: dict, dtype: str, value: str | bytes | int | float | list[int]):
    if isinstance(value, list):
        return messages["Feature"](int64_list=messages["Int64List"](value=value))
    if dtype == "string":
        data = value.encode("utf-8") if isinstance(value, str) else value
        return messages["Feature"](bytes_list=messages["BytesList"](value=[data]))
    if dtype == "int64":
        return messages["Feature"](int64_list=messages["Int64List"](value=[int(value)]))
    return messages["Feature"](float_list=messages["FloatList"](value=[float(value)]))


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
    labels: Sequence[int] | None = None,
):
    """The Example of one snippet, from its uint8 (height, width) spectrogram; `labels`: all
    its label indices (default: `label` alone), `label` the first of them.

    A protobuf message of tf.train.Example's definition, made without TensorFlow:
    `.SerializeToString()` gives the bytes tf.train.Example would.
    """
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
        "labels": [int(i) for i in labels] if labels is not None else [int(label)],
    }
    messages = _messages()
    dtypes = {**{key: dtype for key, (dtype, _) in FEATURES.items()}, **LIST_FEATURES}
    feature = {key: _feature(messages, dtypes[key], value) for key, value in values.items()}
    return messages["Example"](features=messages["Features"](feature=feature))


def parse_examples(serialized, height: int, width: int, num_labels: int | None = None) -> dict:
    """Parses a batch (or one) of serialized Examples; "spectrogram" becomes uint8 (..., h, w).
    With `num_labels`, "labels" is the multi-hot float32 (..., num_labels) of every label (of
    "label" alone in a record without "labels"); without, it is left out."""
    import tensorflow as tf

    features = tf.io.parse_example(serialized, feature_spec())
    indices = features.pop("labels")
    if num_labels is not None:
        dense = tf.sparse.to_dense(indices, default_value=-1)
        hot = tf.minimum(tf.reduce_sum(tf.one_hot(dense, num_labels), axis=-2), 1.0)
        alone = tf.one_hot(features["label"], num_labels)
        present = tf.reduce_any(dense >= 0, axis=-1, keepdims=True)
        features["labels"] = tf.where(present, hot, alone)
    pixels = tf.io.decode_raw(features["spectrogram"], tf.uint8)
    features["spectrogram"] = tf.reshape(
        pixels, tf.concat([tf.shape(serialized), [height, width]], 0)
    )
    return features
