"""trainer.inputs on small hand-written datasets, and the clear errors bad datasets get."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.datasets import (
    BALANCED,
    HEIGHT,
    RARE_THIRD,
    WIDTH,
    trainer_fails_with,
    write_dataset,
)
from trainer import inputs


def species_drawn(data_dir: str, *, balance: bool, batches: int = 30) -> np.ndarray:
    info, labels = inputs.read_info_and_labels(data_dir)
    dataset = inputs.train_dataset(data_dir, info, labels, 16, balance=balance, cache=balance)
    counts = np.zeros(len(labels))
    for spectrograms, one_hot in dataset.take(batches):
        assert spectrograms.dtype == tf.uint8 and spectrograms.shape == (16, HEIGHT, WIDTH)
        counts += one_hot.numpy().sum(axis=0)
    return counts / counts.sum()


def test_training_draws_every_species_equally_often_unless_told_not_to(tmp_path):
    data_dir = write_dataset(tmp_path, RARE_THIRD)
    np.testing.assert_allclose(species_drawn(data_dir, balance=True), 1 / 3, atol=0.08)
    np.testing.assert_allclose(
        species_drawn(data_dir, balance=False), np.array([40, 20, 4]) / 64, atol=0.08
    )


def test_evaluation_reads_every_example_once_in_order(tmp_path):
    data_dir = write_dataset(tmp_path, RARE_THIRD, compression="NONE")
    info, labels = inputs.read_info_and_labels(data_dir)
    dataset = inputs.eval_dataset(data_dir, "validation", info, labels, 4)
    assert dataset.cardinality() == math.ceil(6 / 4)
    batches = list(dataset)
    assert [len(batch["label"]) for batch in batches] == [4, 2]
    assert np.concatenate([b["label"] for b in batches]).tolist() == [0, 0, 1, 1, 2, 2]
    first = batches[0]["spectrogram"].numpy()
    assert first.dtype == np.uint8 and first.shape == (4, HEIGHT, WIDTH)
    assert first[0, 0].min() == 250  # row 0 (0 Hz) is species 0's band


def test_an_unknown_format_version_is_refused(tmp_path, capsys):
    data_dir = write_dataset(tmp_path / "data", BALANCED)
    info = json.loads(Path(data_dir, "dataset.json").read_text())
    Path(data_dir, "dataset.json").write_text(json.dumps({**info, "format_version": 99}))
    assert "format version 99 is not supported" in trainer_fails_with(
        capsys, data_dir, tmp_path / "job"
    )


def test_labels_txt_must_agree_with_dataset_json(tmp_path, capsys):
    data_dir = write_dataset(tmp_path / "data", BALANCED)
    Path(data_dir, "labels.txt").write_text("Azure Whistler\nDusky Trillbird\n")
    error = trainer_fails_with(capsys, data_dir, tmp_path / "job")
    assert "labels.txt has 2 species but dataset.json says 3" in error


def test_a_record_label_beyond_labels_txt_is_refused(tmp_path, capsys):
    data_dir = write_dataset(tmp_path / "data", BALANCED, record_labels=[0, 1, 3])
    error = trainer_fails_with(capsys, data_dir, tmp_path / "job")
    assert "label index beyond the lines of labels.txt" in error


@pytest.mark.parametrize("compression", ["GZIP", "NONE"])
def test_a_corrupt_shard_is_refused(tmp_path, capsys, compression):
    data_dir = write_dataset(tmp_path / "data", BALANCED, compression=compression)
    (shard,) = Path(data_dir).glob("train-*")
    data = bytearray(shard.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    shard.write_bytes(bytes(data))
    assert "a TFRecord shard is corrupt" in trainer_fails_with(capsys, data_dir, tmp_path / "job")


def test_records_of_another_size_than_dataset_json_says_are_refused(tmp_path, capsys):
    data_dir = write_dataset(tmp_path / "data", BALANCED)
    info = json.loads(Path(data_dir, "dataset.json").read_text())
    Path(data_dir, "dataset.json").write_text(
        json.dumps({**info, "image": {"height": 8, "width": 24}})
    )
    assert "not of the size" in trainer_fails_with(capsys, data_dir, tmp_path / "job")


def test_a_rare_species_repeats_are_spread_out_not_side_by_side(tmp_path, monkeypatch):
    """Balancing repeats the rare species' 4 records about 10 times each; within a shuffle
    buffer smaller than the split, successive draws of that species still vary (the seed's
    way put each record's copies side by side ahead of the buffer)."""
    monkeypatch.setattr(inputs, "SHUFFLE_BUFFER", 16)
    data_dir = write_dataset(tmp_path, RARE_THIRD)
    info, labels = inputs.read_info_and_labels(data_dir)
    dataset = inputs.train_dataset(data_dir, info, labels, 16, seed=0)
    rare = [
        image.tobytes()
        for spectrograms, one_hot in dataset.take(8)
        for image, label in zip(spectrograms.numpy(), one_hot.numpy().argmax(axis=1), strict=True)
        if label == 2
    ]
    repeats = np.mean([a == b for a, b in zip(rare, rare[1:], strict=False)])
    assert len(rare) > 20 and repeats < 0.4, (len(rare), repeats)
