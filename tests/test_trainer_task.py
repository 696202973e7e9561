"""End to end on a small dataset built by the pipeline: train (interrupted, then resumed),
export, evaluate; several tests inspect the one job dir that the module fixture trains."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import schemas
from tests.test_trainer_model import calibrate_batchnorm
from trainer import evaluate, inputs, model, task, train
from trainer.export import load_exported_model
from trainer.metrics import compute_metrics

IMAGE_SIZE = 75
HEAD_EPOCHS, BASE_EPOCHS = 2, 3
INTERRUPTED_AT = (HEAD_EPOCHS + 1, 2)  # (epoch, batch): mid-way through phase 2's second epoch


class Interrupted(Exception):
    pass


class Interrupt(keras.callbacks.Callback):
    """Stops training as a crash would, after a given batch of a given epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == INTERRUPTED_AT:
            raise Interrupted


class EpochsRun(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def read_history(job_dir: Path) -> list[dict[str, str]]:
    with open(job_dir / "history.csv") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def base_weights(small_dataset, tmp_path_factory) -> str:
    """A stand-in for ImageNet weights (offline): a random Inception-v3 base whose BatchNorm
    statistics are those of small_dataset."""
    info, labels = inputs.read_info_and_labels(small_dataset)
    batches = inputs.eval_dataset(small_dataset, "train", info, labels, 64)
    spectrograms = np.concatenate([batch["spectrogram"] for batch in batches])
    untrained = model.build_model(*spectrograms.shape[1:], len(labels), image_size=IMAGE_SIZE)
    calibrate_batchnorm(untrained, spectrograms)
    path = str(tmp_path_factory.mktemp("weights") / "base.weights.h5")
    untrained.get_layer("inception_v3").save_weights(path)
    return path


@pytest.fixture(scope="module")
def job(small_dataset, base_weights, tmp_path_factory):
    """Trains on small_dataset, interrupted mid-epoch in phase 2 and then resumed."""
    job_dir = tmp_path_factory.mktemp("job")
    argv = [
        "--data-dir", small_dataset, "--job-dir", str(job_dir), "--weights", base_weights,
        "--image-size", str(IMAGE_SIZE), "--batch-size", "8", "--steps-per-epoch", "4",
        "--head-epochs", str(HEAD_EPOCHS), "--base-epochs", str(BASE_EPOCHS),
        "--backup-every-steps", "2", "--seed", "0",
    ]  # fmt: skip
    with pytest.raises(Interrupted):
        train.train(task.parse_args(argv), [Interrupt()])
    interrupted = {
        "history": read_history(job_dir),
        "state": json.loads((job_dir / "state.json").read_text()),
    }
    epochs_run = EpochsRun()
    metrics = train.train(task.parse_args([*argv, "--resume"]), [epochs_run])
    return {
        "dir": job_dir,
        "data_dir": small_dataset,
        "interrupted": interrupted,
        "epochs_run": epochs_run.epochs,
        "metrics": metrics,
    }


def test_both_phases_run_and_the_loss_falls(job):
    history = read_history(job["dir"])
    assert [int(row["epoch"]) for row in history] == list(range(HEAD_EPOCHS + BASE_EPOCHS))
    losses = [float(row["loss"]) for row in history]
    assert losses[-1] < losses[0] / 2, losses
    assert json.loads((job["dir"] / "state.json").read_text()) == {"phases_done": 2}


def test_resume_continues_from_the_saved_phase_and_epoch(job):
    interrupted_epoch = INTERRUPTED_AT[0]
    assert job["interrupted"]["state"] == {"phases_done": 1}
    assert len(job["interrupted"]["history"]) == interrupted_epoch
    # The resumed run redid only the interrupted epoch and those after it ...
    assert job["epochs_run"] == list(range(interrupted_epoch, HEAD_EPOCHS + BASE_EPOCHS))
    # ... and kept the epochs finished before.
    assert read_history(job["dir"])[:interrupted_epoch] == job["interrupted"]["history"]
    assert not list(job["dir"].glob("backup*"))  # backups go once their phase is done


def event_tags(log_dir: Path) -> set[str]:
    return {
        value.tag
        for path in log_dir.glob("events.out.tfevents.*")
        for event in tf.compat.v1.train.summary_iterator(str(path))
        for value in event.summary.value
    }


def test_checkpoints_history_and_tensorboard_logs_appear(job):
    checkpoints = {path.name for path in (job["dir"] / "checkpoints").iterdir()}
    assert checkpoints == {
        "last.weights.h5",
        "best.weights.h5",
        "best.json",
        "phase1.weights.h5",
        "phase2.weights.h5",
    }
    logs = job["dir"] / "logs"
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= event_tags(logs / "train")
    assert "epoch_loss" in event_tags(logs / "validation")
    species = schemas.read_labels(job["data_dir"])
    images = event_tags(logs / "spectrograms")
    assert images and {tag.split(": ")[1] for tag in images} <= set(species)


def test_the_export_holds_everything_predict_needs(job):
    export = job["dir"] / "export"
    assert (export / "model.keras").is_file()
    assert (export / "saved_model" / "saved_model.pb").is_file()
    data_dir = Path(job["data_dir"])
    for name in ("labels.txt", "dataset.json"):
        assert (export / name).read_bytes() == (data_dir / name).read_bytes()
    for path in (job["dir"], export):
        _, labels, info = load_exported_model(str(path))
        assert labels == schemas.read_labels(str(data_dir))
        assert info == schemas.read_dataset_info(str(data_dir))


def test_metrics_json_holds_every_metric_and_agrees_with_the_predictions(job):
    metrics = json.loads((job["dir"] / "metrics-test.json").read_text())
    assert metrics == json.loads(json.dumps(job["metrics"]))
    keras_model, labels, _ = load_exported_model(str(job["dir"]))
    info, _ = inputs.read_info_and_labels(job["data_dir"])
    batches = list(inputs.eval_dataset(job["data_dir"], "test", info, labels, 64))
    expected = compute_metrics(
        np.concatenate([b["label"] for b in batches]),
        np.concatenate([keras_model.predict(b["spectrogram"], verbose=0) for b in batches]),
        [r.decode() for b in batches for r in b["recording_id"].numpy()],
        labels,
    )
    for key in (
        "top1_accuracy",
        "top5_accuracy",
        "macro_average_precision",
        "per_recording_accuracy",
    ):
        assert metrics[key] == pytest.approx(expected[key], abs=1e-6)
    assert metrics["confusion_matrix"] == expected["confusion_matrix"]
    assert set(metrics["per_species"]) == set(labels)
    assert all(
        set(value) == {"precision", "recall", "support", "average_precision"}
        for value in metrics["per_species"].values()
    )
    assert metrics["examples"] == info.counts.examples["test"]
    assert (job["dir"] / "confusion-test.png").read_bytes().startswith(b"\x89PNG")


def test_evaluate_command_writes_the_metrics_of_a_split(job, capsys):
    assert evaluate.main(["--job-dir", str(job["dir"]), "--split", "validation"]) == 0
    assert "validation: top-1" in capsys.readouterr().out
    metrics = json.loads((job["dir"] / "metrics-validation.json").read_text())
    info = schemas.read_dataset_info(job["data_dir"])
    assert metrics["examples"] == info.counts.examples["validation"]
    assert (job["dir"] / "confusion-validation.png").is_file()


def test_offline_imagenet_weights_get_one_line_naming_the_ways_on(
    small_dataset, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(model, "IMAGENET_WEIGHTS_URL", "http://127.0.0.1:9/not-cached.h5")
    argv = ["--data-dir", small_dataset, "--job-dir", str(tmp_path / "job"), "--image-size", "75"]
    assert task.main(argv) == 1
    (error,) = capsys.readouterr().err.strip().splitlines()
    assert "cannot download the ImageNet weights" in error
    assert "--weights FILE" in error and "--weights none" in error
    assert not (tmp_path / "job").exists()  # so the suggested `--weights none` run can start


def test_from_scratch_with_no_head_phase_trains_the_base_only(small_dataset, tmp_path):
    argv = [
        "--data-dir", small_dataset, "--job-dir", str(tmp_path), "--weights", "none",
        "--image-size", str(IMAGE_SIZE), "--batch-size", "8", "--steps-per-epoch", "1",
        "--head-epochs", "0", "--base-epochs", "1",
    ]  # fmt: skip
    assert task.main(argv) == 0
    assert [row["epoch"] for row in read_history(tmp_path)] == ["0"]
    assert (tmp_path / "metrics-test.json").is_file()
