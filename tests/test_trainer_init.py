"""--init-from: the base of an earlier export starts a new run, whose head is new."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from schemas import SPLITS
from tests.datasets import (
    BALANCED,
    HEIGHT,
    SPECIES,
    WIDTH,
    trainer_fails_with,
    write_dataset,
    write_info,
)
from trainer import task, train
from trainer.export import export_model
from trainer.model import base_of, build_model

COMPACT = ["--architecture", "compact", "--full-resolution"]


def export_compact(path: Path, data_dir: str, height: int = HEIGHT, width: int = WIDTH) -> list:
    """Exports an untrained compact full-resolution model of 3 species; returns its base's
    weights."""
    model = build_model(height, width, 3, architecture="compact", full_resolution=True, seed=1)
    export_model(model, str(path), data_dir)
    return base_of(model).get_weights()


class BaseAtStart(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.weights = base_of(self.model).get_weights()
        self.species = self.model.output.shape[-1]


@pytest.mark.slow
def test_the_base_comes_from_the_export_and_the_head_is_new(tmp_path):
    exported_base = export_compact(tmp_path / "earlier", write_dataset(tmp_path / "3", BALANCED))
    two = {split: counts[:2] for split, counts in BALANCED.items()}
    data_dir = write_dataset(tmp_path / "2", two, labels=SPECIES[:2])
    argv = [
        "--data-dir", data_dir, "--job-dir", str(tmp_path / "job"), *COMPACT, "--init-from",
        str(tmp_path / "earlier"), "--batch-size", "4", "--steps-per-epoch", "1",
        "--head-epochs", "1", "--base-epochs", "0", "--seed", "0",
    ]  # fmt: skip
    start = BaseAtStart()
    train.train(task.parse_args(argv), [start])
    assert start.species == 2
    for ours, theirs in zip(start.weights, exported_base, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_an_export_of_another_front_end_or_base_is_refused_in_one_line(tmp_path, capsys):
    data_dir = write_dataset(tmp_path / "data", BALANCED)
    wider = tmp_path / "wider"
    write_info(wider, SPECIES, {s: [1, 1, 1] for s in SPLITS}, height=HEIGHT, width=40)
    export_compact(tmp_path / "wide", str(wider), width=40)
    export_compact(tmp_path / "same", data_dir)
    refusals = [
        ("wide", COMPACT, "trained on another front end than", "width 40 there, 24 here"),
        ("same", [], "its base is compact_cnn, not --architecture inception-v3's", ""),
        ("same", COMPACT[:2], "its base takes 16x22x1, this run's 75x75x3", ""),
    ]
    for name, flags, reason, detail in refusals:
        export = str(tmp_path / name)
        error = trainer_fails_with(
            capsys, data_dir, tmp_path / "job", *flags, "--init-from", export
        )
        assert f"--init-from {export}: {reason}" in error and detail in error
        assert not (tmp_path / "job").exists()
