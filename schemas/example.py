"""The record of one spectrogram snippet, declared once: its fields, from which the
tf.train.Example codec, the Parquet index's schema and dataset.json's description derive.

The spectrogram is stored as raw uint8 bytes, row-major with shape (height, width): row 0 is
the image's lowest frequency (`fmin`), the last row its highest; columns are STFT frames in time.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np

# TensorFlow and pyarrow are imported where they are used: the builder's launcher needs neither.


@dataclasses.dataclass(frozen=True, kw_only=True)
class Field:
    """One field of the record: in the Example, in the Parquet index, or both."""

    name: str
    dtype: str  # "string", "int64" or "float32" (the index keeps floats as float64)
    default: str | int | float | tuple | None = None  # None: every record has a value
    in_example: bool = True
    in_index: bool = True
    repeated: bool = False  # a list of values of any length (Int64List / a pyarrow list)
    doc: str

    def describe(self) -> dict[str, Any]:
        """This field as dataset.json describes it."""
        return {key: value for key, value in dataclasses.asdict(self).items() if key != "name"}


FIELDS = (
    Field(name="split", dtype="string", in_example=False, doc="train, validation or test"),
    Field(name="shard", dtype="string", in_example=False, doc="the shard's file name"),
    Field(name="spectrogram", dtype="string", in_index=False, doc="uint8 pixels, row-major"),
    Field(name="height", dtype="int64", in_index=False, doc="rows: frequency, lowest first"),
    Field(name="width", dtype="int64", in_index=False, doc="columns: STFT frames"),
    Field(name="label", dtype="int64", doc="line of labels.txt, from 0"),
    Field(name="species", dtype="string", doc="the label's name"),
    Field(name="recording_id", dtype="string", doc="the recording the snippet is cut from"),
    Field(name="snippet_index", dtype="int64", doc="the snippet's place among its recording's"),
    Field(name="start_seconds", dtype="float32", doc="where the snippet starts in the recording"),
    Field(name="source_file", dtype="string", doc="the input file, relative to --input"),
    Field(name="sound_type", dtype="string", default="", doc="song, call, ... (metadata)"),
    Field(name="license", dtype="string", default="", doc="the recording's licence (metadata)"),
    Field(name="quality", dtype="string", default="", doc="A-E rating (metadata)"),
    Field(name="recordist", dtype="string", default="", in_example=False, doc="(metadata)"),
    Field(name="url", dtype="string", default="", in_example=False, doc="(metadata)"),
    Field(name="labels", dtype="int64", default=(), repeated=True,
          doc="every label of the snippet, `label` first (format 3; a record without: `label` "
              "alone)"),
    Field(name="masked_labels", dtype="int64", default=(), repeated=True,
          doc="labels neither present nor absent in the snippet (a recording's secondary "
              "species with --secondary-labels exclude-as-negative): the loss skips them "
              "(format 4; a record without: none)"),
    Field(name="low_hz", dtype="float32", default=0.0, in_example=False,
          doc="lowest frequency of its annotated events' band (0, 0: none given)"),
    Field(name="high_hz", dtype="float32", default=0.0, in_example=False,
          doc="highest frequency of its annotated events' band"),
)  # fmt: skip
EXAMPLE_FIELDS = tuple(field for field in FIELDS if field.in_example)
INDEX_FIELDS = tuple(field for field in FIELDS if field.in_index)


def describe_fields() -> dict[str, dict[str, Any]]:
    """dataset.json's description of the record: each field's dtype, default, place and doc."""
    return {field.name: field.describe() for field in FIELDS}


def feature_spec() -> dict:
    """The tf.io parsing spec of the Example: every feature a scalar of its dtype, a repeated
    one a sparse list of any length (empty in records written before it)."""
    import tensorflow as tf

    return {
        field.name: tf.io.VarLenFeature(tf.dtypes.as_dtype(field.dtype))
        if field.repeated
        else tf.io.FixedLenFeature([], tf.dtypes.as_dtype(field.dtype), default_value=field.default)
        for field in EXAMPLE_FIELDS
    }


def index_schema():
    """The pyarrow schema of the Parquet index: its fields in declared order."""
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64(), "float32": pa.float64()}
    return pa.schema(
        [
            (field.name, pa.list_(types[field.dtype]) if field.repeated else types[field.dtype])
            for field in INDEX_FIELDS
        ]
    )


def index_row(split: str, shard: str, snippet: dict[str, Any]) -> dict[str, Any]:
    """The index row of one snippet (its values, as make_example takes them) written to
    `shard`; fields with a default may be left out."""
    values = {"split": split, "shard": shard, **snippet}
    return {field.name: _value(field, values) for field in INDEX_FIELDS}


def _value(field: Field, values: dict[str, Any]) -> Any:
    """A field's value among `values`: its default when left out, and a repeated field's
    `labels` default is the snippet's one `label`."""
    if field.name in values:
        value = values[field.name]
        return list(value) if field.repeated else value
    if field.name == "labels":
        return [int(values["label"])]
    return list(field.default) if field.repeated else field.default


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


def _feature(messages: dict, field: Field, value: Any):
    dtype = field.dtype
    if field.repeated:
        if dtype != "int64":
            raise ValueError(f"{field.name}: only int64 fields may be repeated")
        return messages["Feature"](int64_list=messages["Int64List"](value=[int(v) for v in value]))
    if dtype == "string":
        data = value.encode("utf-8") if isinstance(value, str) else value
        return messages["Feature"](bytes_list=messages["BytesList"](value=[data]))
    if dtype == "int64":
        return messages["Feature"](int64_list=messages["Int64List"](value=[int(value)]))
    return messages["Feature"](float_list=messages["FloatList"](value=[float(value)]))


def make_example(spectrogram: np.ndarray, **values: Any):
    """The Example of one snippet, from its uint8 (height, width) spectrogram and the values
    of its Example fields (those with a default may be left out; fields only in the index are
    ignored).

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
        **values,
    }
    missing = [f.name for f in EXAMPLE_FIELDS if f.default is None and f.name not in values]
    unknown = set(values) - {field.name for field in FIELDS}
    if missing or unknown:
        raise ValueError(f"Example values: missing {missing}, unknown {sorted(unknown)}")
    messages = _messages()
    feature = {
        field.name: _feature(messages, field, _value(field, values)) for field in EXAMPLE_FIELDS
    }
    return messages["Example"](features=messages["Features"](feature=feature))


def parse_examples(serialized, height: int, width: int, num_labels: int | None = None) -> dict:
    """Parses a batch (or one) of serialized Examples; "spectrogram" becomes uint8 (..., h, w).
    With `num_labels`, "labels" is the multi-hot float32 (..., num_labels) of every label (of
    "label" alone in a record without "labels", formats 1 and 2), and "masked_labels" the
    multi-hot float32 of its masked labels that are not among its labels (none before format
    4); without, both are left out."""
    import tensorflow as tf

    features = tf.io.parse_example(serialized, feature_spec())
    indices, masked = features.pop("labels"), features.pop("masked_labels")
    if num_labels is not None:
        hot = _multi_hot(indices, num_labels)
        alone = tf.one_hot(features["label"], num_labels)
        listed = tf.sparse.to_dense(indices, default_value=-1)
        present = tf.reduce_any(listed >= 0, axis=-1, keepdims=True)
        features["labels"] = tf.where(present, hot, alone)
        features["masked_labels"] = _multi_hot(masked, num_labels) * (1.0 - features["labels"])
    pixels = tf.io.decode_raw(features["spectrogram"], tf.uint8)
    features["spectrogram"] = tf.reshape(
        pixels, tf.concat([tf.shape(serialized), [height, width]], 0)
    )
    return features


def _multi_hot(indices, num_labels: int):
    """The multi-hot float32 (..., num_labels) of a sparse batch of label ids."""
    import tensorflow as tf

    dense = tf.sparse.to_dense(indices, default_value=-1)
    return tf.minimum(tf.reduce_sum(tf.one_hot(dense, num_labels), axis=-2), 1.0)
