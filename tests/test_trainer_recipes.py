"""Repeatable runs, the best epoch exported, augmentation, mixup and weight averaging of
trainer.task."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from tests.datasets import BALANCED, write_dataset
from trainer import inputs, model, task, train
from trainer.export import load_exported_model

pytestmark = pytest.mark.slow


class SpoilLastEpoch(keras.callbacks.Callback):
    """Makes the last epoch worse than the ones before: a learning rate a million times too big."""

    def __init__(self, last: int):
        super().__init__()
        self.last = last

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.last:
            self.model.optimizer.learning_rate.assign(1e3)


def run_tiny(data_dir: str, job_dir: Path) -> dict:
    """Three epochs of two steps, head only (its training step compiles in seconds)."""
    argv = [
        "--data-dir", data_dir, "--job-dir", str(job_dir), "--weights", "none",
        "--image-size", "75", "--batch-size", "8", "--steps-per-epoch", "2",
        "--head-epochs", "3", "--base-epochs", "0", "--seed", "7", "--time-masks", "1",
        "--frequency-masks", "1", "--mixup", "0.2",
    ]  # fmt: skip
    metrics = train.train(task.parse_args(argv), [SpoilLastEpoch(last=2)])
    return {
        "dir": job_dir,
        "metrics": metrics,
        "history": (job_dir / "history.csv").read_text(),
        "best": json.loads((job_dir / "checkpoints" / "best.json").read_text()),
    }


@pytest.fixture(scope="module")
def two_runs(small_dataset, tmp_path_factory):
    return [run_tiny(small_dataset, tmp_path_factory.mktemp(f"run{i}")) for i in range(2)]


def test_the_same_seed_gives_the_same_history_and_metrics(two_runs):
    first, second = two_runs
    assert first["history"] == second["history"]
    assert first["metrics"] == second["metrics"]


def test_two_from_scratch_commands_with_one_seed_give_the_same_run(small_dataset, tmp_path):
    """All layers trained from scratch, each run in its own process, as a user runs it twice."""

    def run(job_dir: Path) -> tuple[str, str]:
        command = [
            sys.executable, "-m", "trainer.task", "--data-dir", small_dataset, "--job-dir",
            str(job_dir), "--architecture", "compact", "--weights", "none", "--image-size", "75",
            "--batch-size", "8", "--steps-per-epoch", "3", "--head-epochs", "0",
            "--base-epochs", "2", "--learning-rate-schedule", "cosine", "--seed", "3",
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
        return (job_dir / "history.csv").read_text(), (job_dir / "metrics-test.json").read_text()

    first, second = run(tmp_path / "first"), run(tmp_path / "second")
    assert first == second
    assert len(first[0].splitlines()) == 3  # a header and two epochs


def test_the_best_epoch_is_exported_even_when_the_last_is_worse(two_runs):
    run = two_runs[0]
    assert run["best"]["epoch"] < 2  # the spoilt last epoch is not the best
    exported, _, _ = load_exported_model(str(run["dir"]))

    def weights_of(name: str) -> list[np.ndarray]:
        clone = keras.models.clone_model(exported)
        clone.load_weights(run["dir"] / "checkpoints" / name)
        return clone.get_weights()

    def same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
        return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))

    assert same(exported.get_weights(), weights_of("best.weights.h5"))
    assert not same(exported.get_weights(), weights_of("last.weights.h5"))


def test_augmentation_changes_training_inputs_and_leaves_inference_alone():
    augmentation = model.Augmentation(frequency_masks=2, time_masks=2, gain=0.2, contrast=0.2)
    augmented = model.build_model(32, 40, 3, image_size=75, seed=1, augmentation=augmentation)
    plain = model.build_model(32, 40, 3, image_size=75, seed=1)
    spectrograms = np.random.default_rng(0).integers(1, 255, (4, 32, 40), dtype=np.uint8)

    def images(classifier: keras.Model, training: bool) -> np.ndarray:
        last = "contrast" if classifier is augmented else "to_image"
        head = keras.Model(classifier.input, classifier.get_layer(last).output)
        return np.asarray(head(spectrograms, training=training))

    assert not np.allclose(images(augmented, True), images(plain, True))
    np.testing.assert_array_equal(images(augmented, False), images(plain, False))
    plain.set_weights(augmented.get_weights())
    np.testing.assert_allclose(
        augmented.predict(spectrograms, verbose=0), plain.predict(spectrograms, verbose=0)
    )


def test_mixup_mixes_training_examples_and_their_labels(small_dataset):
    info, labels = inputs.read_info_and_labels(small_dataset)
    plain = inputs.train_dataset(small_dataset, info, labels, 8, seed=0)
    mixed = inputs.train_dataset(small_dataset, info, labels, 8, seed=0, mixup=0.4)
    (x, y), (mx, my) = next(iter(plain)), next(iter(mixed))
    assert set(np.unique(y.numpy())) == {0.0, 1.0}
    assert np.allclose(my.numpy().sum(axis=1), 1.0) and (my.numpy().max(axis=1) < 1).any()
    assert mx.dtype == x.dtype and not np.array_equal(mx.numpy(), x.numpy())


class WeightsAtEpochEnd(keras.callbacks.Callback):
    """Reads, after the first epoch's callbacks, the model's weights and those of the backup and
    the best checkpoint just written."""

    def __init__(self, job_dir: Path):
        super().__init__()
        self.job_dir = job_dir

    def on_epoch_end(self, epoch, logs=None):
        if epoch:
            return
        clone = keras.models.clone_model(self.model)
        self.seen = {"model": self.model.get_weights()}
        for name, path in (
            ("backup", self.job_dir / "backup-phase2" / "backup.weights.h5"),
            ("best", self.job_dir / "checkpoints" / "best.weights.h5"),
        ):
            clone.load_weights(path)
            self.seen[name] = clone.get_weights()


def run_compact(data_dir: str, job_dir: Path, *extra: str) -> dict:
    """Two epochs of two steps of the compact base at full resolution, all layers."""
    argv = [
        "--data-dir", data_dir, "--job-dir", str(job_dir), "--architecture", "compact",
        "--weights", "none", "--full-resolution", "--batch-size", "4", "--steps-per-epoch", "2",
        "--head-epochs", "0", "--base-epochs", "2", "--seed", "5", *extra,
    ]  # fmt: skip
    probe = WeightsAtEpochEnd(job_dir)
    train.train(task.parse_args(argv), [probe])
    exported, _, _ = load_exported_model(str(job_dir))
    return {
        "history": (job_dir / "history.csv").read_text(),
        "exported": exported.get_weights(),
        "at_first_epoch_end": probe.seen,
    }


def same_weights(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def averaged_runs(tmp_path_factory) -> dict[str, list[dict]]:
    data_dir = write_dataset(tmp_path_factory.mktemp("data"), BALANCED)
    averaged = [
        run_compact(data_dir, tmp_path_factory.mktemp(f"ema{i}"), "--ema-momentum", "0.5")
        for i in range(2)
    ]
    return {
        "averaged": averaged,
        "plain": [run_compact(data_dir, tmp_path_factory.mktemp("plain"))],
    }


def test_weight_averaging_repeats_with_the_same_seed(averaged_runs):
    first, second = averaged_runs["averaged"]
    assert first["history"] == second["history"]
    assert same_weights(first["exported"], second["exported"])


def test_weight_averaging_changes_the_exported_weights(averaged_runs):
    (averaged, _), (plain,) = averaged_runs["averaged"], averaged_runs["plain"]
    assert averaged["history"] != plain["history"]  # validation scored the average
    assert not same_weights(averaged["exported"], plain["exported"])


def test_the_best_checkpoint_holds_the_average_and_the_backup_the_trained_weights(averaged_runs):
    seen = averaged_runs["averaged"][0]["at_first_epoch_end"]
    assert same_weights(seen["backup"], seen["model"])  # --resume goes on training these
    assert not same_weights(seen["best"], seen["model"])
    plain = averaged_runs["plain"][0]["at_first_epoch_end"]
    assert same_weights(plain["best"], plain["model"])
