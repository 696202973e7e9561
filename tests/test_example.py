"""The record declared once: the Example codec, the index schema and their agreement."""

import numpy as np
import pyarrow as pa
import pytest
import tensorflow as tf

from schemas import FIELDS, index_row, index_schema, make_example, parse_examples

DTYPES = {field.name: field.dtype for field in FIELDS}


def test_examples_without_tensorflow_equal_tf_train_example():
    image = np.random.default_rng(2).integers(0, 256, (6, 5), dtype=np.uint8)
    values = {"label": 7, "species": "Finch's Warbler (wéstern)", "recording_id": "XC12",
              "snippet_index": 3, "start_seconds": 12.345678, "source_file": "a/b c.mp3",
              "sound_type": "song", "license": "//creativecommons.org/licenses/by/4.0/",
              "quality": ""}  # fmt: skip
    example = make_example(image, **values, labels=[7, 2], masked_labels=[2, 5])
    ours = example.SerializeToString(deterministic=True)
    everything = {"spectrogram": image.tobytes(), "height": 6, "width": 5, **values}
    feature = {}
    for key, value in everything.items():
        dtype = DTYPES[key]
        if dtype == "string":
            data = value.encode("utf-8") if isinstance(value, str) else value
            feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[data]))
        elif dtype == "int64":
            feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
        else:
            feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
    feature["labels"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[7, 2]))
    feature["masked_labels"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[2, 5]))
    reference = tf.train.Example(features=tf.train.Features(feature=feature))
    assert ours == reference.SerializeToString(deterministic=True)
    parsed = parse_examples(tf.constant([ours]), 6, 5, num_labels=8)
    np.testing.assert_array_equal(parsed["labels"][0].numpy(), [0, 0, 1, 0, 0, 0, 0, 1])
    masked = parsed["masked_labels"][0].numpy()  # a label is never masked
    np.testing.assert_array_equal(masked, [0, 0, 0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(parsed["spectrogram"][0].numpy(), image)
    assert parsed["species"][0].numpy().decode() == values["species"]
    assert parsed["start_seconds"][0].numpy() == np.float32(values["start_seconds"])


def test_an_example_names_what_it_misses_and_what_it_does_not_know():
    image = np.zeros((2, 3), np.uint8)
    with pytest.raises(ValueError, match=r"missing \['species'.*unknown \['colour'\]"):
        make_example(image, label=0, colour="red", recording_id="r", snippet_index=0,
                     start_seconds=0.0, source_file="a.mp3")  # fmt: skip


def test_the_index_holds_the_declared_index_fields_in_order():
    schema = index_schema()
    assert schema.names == [field.name for field in FIELDS if field.in_index]
    assert schema.field("start_seconds").type == pa.float64()
    assert schema.field("labels").type == pa.list_(pa.int64())
    snippet = {name: "" for name in schema.names if name not in ("split", "shard", "labels")}
    row = index_row("train", "train-00000-of-00001.tfrecord", {**snippet, "label": 4, "extra": 1})
    assert list(row) == schema.names and row["split"] == "train"
    assert row["labels"] == [4]  # a snippet without its labels: its one label


def test_a_snippet_without_labels_lists_its_one_label():
    image = np.zeros((2, 3), np.uint8)
    values = {"label": 1, "species": "b", "recording_id": "r", "snippet_index": 0,
              "start_seconds": 0.0, "source_file": "a.mp3"}  # fmt: skip
    example = make_example(image, **values)
    assert list(example.features.feature["labels"].int64_list.value) == [1]
    assert example == make_example(image, **values, labels=[1])
