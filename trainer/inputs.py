"""tf.data input pipelines over the builder's TFRecord shards; decoding ends at uint8 tensors."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import tensorflow as tf

import schemas
from schemas import DatasetFormatError

AUTOTUNE = tf.data.AUTOTUNE
SHUFFLE_BUFFER = 1024
PARSE_BATCH = 64  # records parsed together in training, before balancing and the shuffle
LABEL_OUT_OF_RANGE = "a record has a label index beyond the lines of labels.txt"


def read_metadata(data_dir: str) -> tuple[dict[str, Any], list[str]]:
    """Reads dataset.json and labels.txt, refusing an unknown format or disagreeing labels."""
    info = schemas.read_dataset_info(data_dir)
    labels = schemas.read_labels(data_dir)
    if len(labels) != info["labels"]["count"]:
        raise DatasetFormatError(
            f"{data_dir}: labels.txt has {len(labels)} species but dataset.json says "
            f"{info['labels']['count']}"
        )
    return info, labels


def split_size(info: dict[str, Any], split: str) -> int:
    """Number of examples of a split, from dataset.json."""
    return info["counts"]["examples"][split]


def steps_per_epoch(info: dict[str, Any], batch_size: int) -> int:
    """Batches in one pass over the training split."""
    return math.ceil(split_size(info, "train") / batch_size)


def _examples(
    data_dir: str, split: str, info: dict[str, Any], n_classes: int, *, training: bool, batch: int
) -> tf.data.Dataset:
    """Parsed features of a split's shards, read in parallel, in batches of `batch` (0: none)."""
    files = sorted(tf.io.gfile.glob(schemas.shard_pattern(data_dir, split)))
    if not files:
        raise DatasetFormatError(f"{data_dir}: no {split} shards")
    compression = "GZIP" if info["compression"] == "GZIP" else None
    height, width = info["image"]["height"], info["image"]["width"]

    def parse(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        features = schemas.parse_examples(serialized, height, width)
        label = features["label"]
        valid = tf.reduce_all((label >= 0) & (label < n_classes))
        with tf.control_dependencies([tf.debugging.Assert(valid, [LABEL_OUT_OF_RANGE])]):
            features["label"] = tf.identity(label)
        return features

    dataset = tf.data.Dataset.from_tensor_slices(files)
    if training:
        dataset = dataset.shuffle(len(files))

    def records(file: tf.Tensor) -> tf.data.Dataset:
        return tf.data.TFRecordDataset(file, compression_type=compression)

    dataset = dataset.interleave(
        records,
        num_parallel_calls=AUTOTUNE,
        deterministic=not training,
    )
    if batch:
        dataset = dataset.batch(batch)
    return dataset.map(parse, num_parallel_calls=AUTOTUNE, deterministic=not training)


def train_dataset(
    data_dir: str,
    info: dict[str, Any],
    labels: list[str],
    batch_size: int,
    *,
    balance: bool = True,
    cache: bool = False,
) -> tf.data.Dataset:
    """Endless shuffled (uint8 spectrograms, one-hot labels) batches of the training split.

    With `balance`, each example of a species is repeated (max count / its count) times on
    average, as the seed did, so that every species present is drawn about equally often.
    Records are parsed in batches and repeated with tf.repeat before they are unbatched for the
    shuffle: every record is read once per pass, none is rejected.
    """
    n_classes = len(labels)
    dataset = _examples(data_dir, "train", info, n_classes, training=True, batch=PARSE_BATCH)
    dataset = dataset.map(_spectrogram_and_label)
    if cache:
        dataset = dataset.cache()
    dataset = dataset.repeat()
    if balance:
        per_species = info["counts"]["per_species"]
        counts = np.array(
            [per_species.get(name, {}).get("examples", {}).get("train", 0) for name in labels],
            dtype=np.float32,
        )
        mean_copies = tf.constant(np.divide(counts.max(), counts, where=counts > 0, out=0 * counts))

        def repeated(spectrograms: tf.Tensor, label_ids: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            # the floor or the ceiling of the mean number of copies, at random: right on average
            copies = tf.gather(mean_copies, label_ids)
            copies = tf.cast(copies + tf.random.uniform(tf.shape(copies)), tf.int32)
            return tf.repeat(spectrograms, copies, axis=0), tf.repeat(label_ids, copies, axis=0)

        dataset = dataset.map(repeated, num_parallel_calls=AUTOTUNE)

    def one_hot(spectrograms: tf.Tensor, label_ids: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return spectrograms, tf.one_hot(label_ids, n_classes)

    options = tf.data.Options()
    options.deterministic = False
    return (
        dataset.unbatch()
        .shuffle(SHUFFLE_BUFFER)
        .batch(batch_size, drop_remainder=True, num_parallel_calls=AUTOTUNE)
        .map(one_hot, num_parallel_calls=AUTOTUNE)
        .prefetch(AUTOTUNE)
        .with_options(options)
    )


def _spectrogram_and_label(features: dict[str, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
    return features["spectrogram"], features["label"]


def eval_dataset(
    data_dir: str,
    split: str,
    info: dict[str, Any],
    labels: list[str],
    batch_size: int,
    *,
    cache: bool = False,
) -> tf.data.Dataset:
    """One deterministic pass over a split as batches of parsed features (all keys of schemas)."""
    dataset = _examples(data_dir, split, info, len(labels), training=False, batch=batch_size)
    batches = math.ceil(split_size(info, split) / batch_size)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    if cache:
        dataset = dataset.cache()
    return dataset.prefetch(AUTOTUNE)


def with_one_hot(dataset: tf.data.Dataset, n_classes: int) -> tf.data.Dataset:
    """(spectrogram, one-hot label) batches of an eval_dataset, for Keras' fit and evaluate."""

    def one_hot(features: dict[str, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        return features["spectrogram"], tf.one_hot(features["label"], n_classes)

    return dataset.map(one_hot)


@contextlib.contextmanager
def data_errors(data_dir: str) -> Iterator[None]:
    """Turns TensorFlow's errors about bad records met while reading into DatasetFormatError."""
    try:
        yield
    except tf.errors.OpError as error:
        message = error.message.splitlines()[0]
        if isinstance(error, tf.errors.DataLossError):
            problem = f"a TFRecord shard is corrupt ({message})"
        elif LABEL_OUT_OF_RANGE in message:
            problem = f"{LABEL_OUT_OF_RANGE}; labels.txt and the records disagree"
        elif "Input to reshape" in message:
            problem = "a record's spectrogram is not of the size that dataset.json gives"
        elif "expected to contain" in message:
            problem = f"the records disagree with the counts in dataset.json ({message})"
        else:
            raise
        raise DatasetFormatError(f"{data_dir}: {problem}") from None
