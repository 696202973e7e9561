"""tf.data input pipelines over the builder's TFRecord shards; decoding ends at uint8 tensors."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np
import tensorflow as tf

import schemas
from schemas import DatasetFormatError
from trainer.multilabel import MASKED, targets

AUTOTUNE = tf.data.AUTOTUNE
SHUFFLE_BUFFER = 1024
PARSE_BATCH = 64  # records parsed together in training, before balancing and the shuffle
LABEL_OUT_OF_RANGE = "a record has a label index beyond the lines of labels.txt"


def read_info_and_labels(data_dir: str) -> tuple[schemas.DatasetInfo, list[str]]:
    """Reads dataset.json and labels.txt (the label names, line i is label id i), refusing an
    unknown format or disagreeing labels."""
    info = schemas.read_dataset_info(data_dir)
    label_names = schemas.read_labels(data_dir)
    if len(label_names) != info.labels.count:
        raise DatasetFormatError(
            f"{data_dir}: labels.txt has {len(label_names)} species but dataset.json says "
            f"{info.labels.count}"
        )
    return info, label_names


def split_size(info: schemas.DatasetInfo, split: str) -> int:
    """Number of examples of a split, from dataset.json."""
    return info.counts.examples[split]


def steps_per_epoch(info: schemas.DatasetInfo, batch_size: int) -> int:
    """Batches in one pass over the training split."""
    return math.ceil(split_size(info, "train") / batch_size)


def _examples(
    data_dir: str,
    split: str,
    info: schemas.DatasetInfo,
    n_classes: int,
    *,
    training: bool,
    batch: int,
    seed: int | None = None,
) -> tf.data.Dataset:
    """Parsed features of a split's shards, read in parallel, in batches of `batch` (0: none).

    Training shuffles the shards and reads them in any order, unless a seed makes it repeatable.
    """
    files = sorted(tf.io.gfile.glob(schemas.shard_pattern(data_dir, split)))
    if not files:
        raise DatasetFormatError(f"{data_dir}: no {split} shards")
    height, width = info.image.height, info.image.width

    def parse(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        features = schemas.parse_examples(serialized, height, width, n_classes)
        label = features["label"]
        valid = tf.reduce_all((label >= 0) & (label < n_classes))
        with tf.control_dependencies([tf.debugging.Assert(valid, [LABEL_OUT_OF_RANGE])]):
            features["label"] = tf.identity(label)
        return features

    dataset = tf.data.Dataset.from_tensor_slices(files)
    deterministic = not training or seed is not None
    if training:
        dataset = dataset.shuffle(len(files), seed=seed)

    def records(file: tf.Tensor) -> tf.data.Dataset:
        return tf.data.TFRecordDataset(file, compression_type=info.tfrecord_compression)

    dataset = dataset.interleave(records, num_parallel_calls=AUTOTUNE, deterministic=deterministic)
    if batch:
        dataset = dataset.batch(batch)
    return dataset.map(parse, num_parallel_calls=AUTOTUNE, deterministic=deterministic)


def train_dataset(
    data_dir: str,
    info: schemas.DatasetInfo,
    label_names: list[str],
    batch_size: int,
    *,
    balance: bool = True,
    cache: bool = False,
    seed: int | None = None,
    mixup: float = 0.0,
    multi_label: bool = False,
    background_share: float | None = None,
) -> tf.data.Dataset:
    """Endless shuffled (uint8 spectrograms, one-hot labels) batches of the training split;
    with `multi_label`, the labels are the records' multi-hot vectors of all their labels,
    MASKED (-1) at their masked labels (see trainer.losses).

    With `balance`, every species present is drawn equally often: one shuffled, repeating
    stream per species (a filter of the split), sampled with tf.data's sample_from_datasets,
    so a rare species' repeats are spread over the run rather than side by side (a snippet of
    several labels is in the stream of its first). With `background_share` (0 to <1), the
    background class' stream gives that fraction of the examples and the species share the
    rest equally (None: the background is drawn like a species). Each stream
    reads the split for its species (with `cache`, from memory). With `mixup` (a > 0), each
    example is mixed with another of its batch and their labels alike, by a Beta(a, a) weight
    (a label masked in either stays masked).
    A seed makes the order (and the mixing) repeatable.
    """
    n_classes = len(label_names)
    dataset = _examples(
        data_dir, "train", info, n_classes, training=True, batch=PARSE_BATCH, seed=seed
    )
    dataset = dataset.map(_spectrogram_and_label).unbatch()
    if cache:
        dataset = dataset.cache()
    if balance:
        present = [
            index
            for index, name in enumerate(label_names)
            if info.counts.split_examples("train", name)
        ]
        weights = _class_weights([label_names[index] for index in present], background_share)
        present = [index for index, weight in zip(present, weights, strict=True) if weight]
        buffer = max(16, SHUFFLE_BUFFER // len(present))

        def species_stream(index: int) -> tf.data.Dataset:
            stream = dataset.filter(lambda _, label, __: label == index)
            return stream.shuffle(buffer, seed=None if seed is None else seed + index).repeat()

        dataset = tf.data.Dataset.sample_from_datasets(
            [species_stream(index) for index in present], [w for w in weights if w], seed=seed
        )
    else:
        dataset = dataset.repeat().shuffle(SHUFFLE_BUFFER, seed=seed)

    def one_hot(
        spectrograms: tf.Tensor, label_ids: tf.Tensor, multi_hot: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        return spectrograms, multi_hot if multi_label else tf.one_hot(label_ids, n_classes)

    options = tf.data.Options()
    options.deterministic = seed is not None
    dataset = dataset.batch(batch_size, drop_remainder=True, num_parallel_calls=AUTOTUNE)
    dataset = dataset.map(one_hot, num_parallel_calls=AUTOTUNE)
    if mixup:
        dataset = _mixup(dataset, mixup, seed)
    return dataset.prefetch(AUTOTUNE).with_options(options)


def _class_weights(names: list[str], background_share: float | None) -> list[float]:
    """The balanced stream's weight of each class present in training: equal, or
    `background_share` for the background class and the rest equally to the species."""
    if background_share is None:
        return [1.0 / len(names)] * len(names)
    if schemas.BACKGROUND_LABEL not in names:
        raise DatasetFormatError(
            f"--background-share: the training split has no {schemas.BACKGROUND_LABEL} examples"
        )
    species = len(names) - 1
    return [background_share if name == schemas.BACKGROUND_LABEL else
            (1.0 - background_share) / species for name in names]  # fmt: skip


def _mixup(dataset: tf.data.Dataset, alpha: float, seed: int | None) -> tf.data.Dataset:
    """Mixes each example of a batch with the batch's reverse, labels too, by Beta(a, a); a
    label masked in either is masked in the mix."""
    base = tf.constant(np.random.default_rng(seed).integers(2**31, size=2), tf.int64)

    def mix(step: tf.Tensor, batch: tuple[tf.Tensor, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        spectrograms, one_hot = batch
        size = tf.shape(one_hot)[:1]
        seeds = tf.stack([base[0], base[1] + step])
        a = tf.random.stateless_gamma(size, seeds, alpha)
        b = tf.random.stateless_gamma(size, seeds + [0, 2**40], alpha)
        weight = a / (a + b)
        images = tf.cast(spectrograms, tf.float32)
        mixed = weight[:, None, None] * images + (1 - weight[:, None, None]) * images[::-1]
        mixed_one_hot = weight[:, None] * one_hot + (1 - weight[:, None]) * one_hot[::-1]
        masked = (one_hot < 0) | (one_hot[::-1] < 0)
        mixed_one_hot = tf.where(masked, MASKED, mixed_one_hot)
        return tf.cast(tf.round(mixed), tf.uint8), mixed_one_hot

    return dataset.enumerate().map(mix, num_parallel_calls=AUTOTUNE)


def _spectrogram_and_label(
    features: dict[str, tf.Tensor],
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    return (
        features["spectrogram"],
        features["label"],
        targets(features["labels"], features["masked_labels"]),
    )


def eval_dataset(
    data_dir: str,
    split: str,
    info: schemas.DatasetInfo,
    label_names: list[str],
    batch_size: int,
    *,
    cache: bool = False,
) -> tf.data.Dataset:
    """One deterministic pass over a split as batches of parsed features (all keys of schemas)."""
    dataset = _examples(data_dir, split, info, len(label_names), training=False, batch=batch_size)
    batches = math.ceil(split_size(info, split) / batch_size)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    if cache:
        dataset = dataset.cache()
    return dataset.prefetch(AUTOTUNE)


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
