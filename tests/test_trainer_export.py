"""The export layout: model.keras, a SavedModel and TFLite that predict alike, labels, metadata."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import schemas
from schemas import SPLITS, ImageShape
from tests.datasets import BALANCED, trainer_fails_with, write_dataset, write_info
from tests.test_trainer_model import calibrate_batchnorm
from trainer import TrainerError, task, train
from trainer.export import export_model, load_exported_model
from trainer.model import base_of, build_model

HEIGHT, WIDTH, SPECIES = 16, 40, ["a", "b", "c"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An untrained model (with sensible BatchNorm statistics) exported with TFLite."""
    data_dir = tmp_path_factory.mktemp("data")
    write_info(data_dir, SPECIES, {s: [1, 1, 1] for s in SPLITS}, height=HEIGHT, width=WIDTH)
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    model = build_model(HEIGHT, WIDTH, len(SPECIES), image_size=75, seed=0)
    calibrate_batchnorm(model, rng.integers(0, 256, (64, HEIGHT, WIDTH), dtype=np.uint8))
    spectrograms = rng.integers(0, 256, (8, HEIGHT, WIDTH), dtype=np.uint8)
    spectrograms[:4, :8] = 255  # loud low frequencies in half of them
    job_dir = tmp_path_factory.mktemp("job")
    export_model(model, str(job_dir), str(data_dir), tflite=True)
    return job_dir, model, spectrograms, model.predict(spectrograms, verbose=0)


def test_predictions_of_the_model_under_test_differ_between_inputs(exported):
    *_, expected = exported
    assert expected.std(axis=0).max() > 0.05


def test_saved_model_serves_uint8_spectrograms_as_the_in_memory_model(exported):
    job_dir, _, spectrograms, expected = exported
    signature = tf.saved_model.load(str(job_dir / "export" / "saved_model")).signatures[
        "serving_default"
    ]
    (spec,) = signature.structured_input_signature[1].values()
    assert (spec.name, spec.dtype, tuple(spec.shape)) == (
        "spectrogram",
        tf.uint8,
        (None, HEIGHT, WIDTH),
    )
    outputs = signature(spectrogram=tf.constant(spectrograms))
    assert list(outputs) == ["probabilities"] and outputs["probabilities"].dtype == tf.float32
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-5)


def test_tflite_model_predicts_as_the_in_memory_model(exported):
    job_dir, _, spectrograms, expected = exported
    # LiteRT, the runtime that replaces tf.lite.Interpreter on devices
    interpreter = pytest.importorskip("ai_edge_litert.interpreter").Interpreter
    run = interpreter(str(job_dir / "export" / "model.tflite")).get_signature_runner()
    got = np.concatenate([run(spectrogram=s[None])["probabilities"] for s in spectrograms])
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-5)
    # Its float16 weights make it close, not equal (as float32 it agrees to 1e-4); an untrained
    # network amplifies their rounding more than a trained one would.
    assert np.mean(got.argmax(axis=1) == expected.argmax(axis=1)) >= 0.75
    np.testing.assert_allclose(got, expected, atol=0.2)


def test_load_exported_model_takes_a_job_dir_or_its_export_dir(exported):
    job_dir, _, spectrograms, expected = exported
    for path in (job_dir, job_dir / "export"):
        model, labels, info = load_exported_model(str(path))
        assert labels == SPECIES and info.image == ImageShape(height=HEIGHT, width=WIDTH)
        np.testing.assert_allclose(model.predict(spectrograms, verbose=0), expected, atol=1e-6)
    with pytest.raises(TrainerError, match="no exported model"):
        load_exported_model(str(job_dir / "checkpoints"))


def serve(saved_model_dir, spectrograms: np.ndarray) -> np.ndarray:
    """The probabilities of a SavedModel's serving_default signature."""
    signature = tf.saved_model.load(str(saved_model_dir)).signatures["serving_default"]
    return signature(spectrogram=tf.constant(spectrograms))["probabilities"].numpy()


@pytest.mark.slow
def test_a_full_resolution_model_trains_and_its_export_serves_the_datasets_spectrograms(tmp_path):
    data_dir = write_dataset(tmp_path / "data", BALANCED)
    argv = [
        "--data-dir", data_dir, "--job-dir", str(tmp_path / "job"), "--architecture", "compact",
        "--weights", "none", "--full-resolution", "--batch-size", "4", "--steps-per-epoch", "2",
        "--head-epochs", "0", "--base-epochs", "1", "--seed", "0",
    ]  # fmt: skip
    train.train(task.parse_args(argv))
    model, _, info = load_exported_model(str(tmp_path / "job"))
    height, width = info.image.height, info.image.width
    assert height != width and tuple(model.input.shape) == (None, height, width)
    assert tuple(base_of(model).input.shape) == (None, height, round(width * 15 / 16), 1)
    spectrograms = np.random.default_rng(0).integers(0, 256, (3, height, width), dtype=np.uint8)
    np.testing.assert_allclose(
        serve(tmp_path / "job" / "export" / "saved_model", spectrograms),
        model.predict(spectrograms, verbose=0),
        atol=1e-6,
    )
    assert schemas.read_labels(data_dir) == schemas.read_labels(str(tmp_path / "job" / "export"))


def test_full_resolution_with_inception_v3_is_refused_in_one_line(tmp_path, capsys):
    data_dir = write_dataset(tmp_path / "data", BALANCED)
    error = trainer_fails_with(capsys, data_dir, tmp_path / "job", "--full-resolution")
    assert "--full-resolution is for --architecture compact" in error
    assert not (tmp_path / "job").exists()
