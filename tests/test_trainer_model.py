"""The in-model preprocessing layers and the two training phases of the model."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.datasets import BALANCED, trainer_fails_with, write_dataset
from trainer import TrainerError
from trainer.layers import SpectrogramToChannel, SpectrogramToImage, TimeCrop
from trainer.model import SCRATCH_BATCHNORM_MOMENTUM, base_of, build_model, set_phase

HEIGHT, WIDTH, SPECIES = 16, 40, 3


def column_numbers(batch: int) -> tf.Tensor:
    """Spectrograms whose every pixel holds its column number, to read crop offsets back."""
    return tf.constant(np.tile(np.arange(WIDTH, dtype=np.uint8), (batch, HEIGHT, 1)))


def calibrate_batchnorm(model: keras.Model, spectrograms: np.ndarray) -> None:
    """Sets the base's BatchNorm statistics to those of `spectrograms`, as pretrained weights
    would have them, so that an untrained base gives features of a sensible scale."""
    base = model.get_layer("inception_v3")
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0  # one batch sets the moving statistics
    base(model.get_layer("to_image")(model.get_layer("time_crop")(spectrograms)), training=True)


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return build_model(HEIGHT, WIDTH, SPECIES, image_size=75, freeze_batchnorm=False, seed=0)


def test_time_crop_takes_its_own_random_offset_for_every_example_in_training():
    crop = TimeCrop(30, seed=1)
    cropped = crop(column_numbers(32), training=True).numpy()
    assert cropped.shape == (32, HEIGHT, 30) and cropped.dtype == np.uint8
    offsets = cropped[:, 0, 0]
    assert len(set(offsets)) > 1
    assert set(offsets) <= set(range(WIDTH - 30 + 1))
    expected = offsets[:, None, None] + np.arange(30)  # contiguous in time, every row kept
    np.testing.assert_array_equal(cropped, np.broadcast_to(expected, cropped.shape))
    assert not np.array_equal(crop(column_numbers(32), training=True).numpy()[:, 0, 0], offsets)


def test_time_crop_takes_the_centre_at_inference():
    crop = TimeCrop(30)
    for _ in range(2):
        cropped = crop(column_numbers(4)).numpy()
        np.testing.assert_array_equal(cropped[:, :, 0], np.full((4, HEIGHT), 5))
        assert cropped.shape == (4, HEIGHT, 30)


def test_spectrogram_to_image_gives_three_equal_channels_in_minus_one_to_one():
    pixels = np.zeros((2, HEIGHT, WIDTH), np.uint8)
    pixels[1] = 255
    image = SpectrogramToImage(75)(tf.constant(pixels)).numpy()
    assert image.shape == (2, 75, 75, 3)
    np.testing.assert_allclose(image[0], -1.0)
    np.testing.assert_allclose(image[1], 1.0)
    np.testing.assert_array_equal(image[..., 0], image[..., 2])


def test_spectrogram_to_channel_keeps_the_size_in_one_channel_in_minus_one_to_one():
    pixels = np.zeros((2, HEIGHT, WIDTH), np.uint8)
    pixels[1] = 255
    channel = SpectrogramToChannel()(tf.constant(pixels)).numpy()
    assert channel.shape == (2, HEIGHT, WIDTH, 1)
    np.testing.assert_allclose(channel[0], -1.0)
    np.testing.assert_allclose(channel[1], 1.0)


def test_full_resolution_feeds_the_compact_base_the_crop_itself():
    full = build_model(HEIGHT, WIDTH, SPECIES, architecture="compact", full_resolution=True)
    assert tuple(base_of(full).input.shape) == (None, HEIGHT, 38, 1)  # 40 frames cropped to 38
    assert full.predict(column_numbers(2), verbose=0).shape == (2, SPECIES)
    with pytest.raises(TrainerError, match="--full-resolution is for --architecture compact"):
        build_model(HEIGHT, WIDTH, SPECIES, full_resolution=True)


def test_model_takes_uint8_spectrograms_and_gives_probabilities(model):
    assert model.input.dtype == "uint8" and tuple(model.input.shape) == (None, HEIGHT, WIDTH)
    probabilities = model.predict(column_numbers(2), verbose=0)
    assert probabilities.shape == (2, SPECIES)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_phase_1_trains_only_the_head_and_keeps_the_base_batchnorm_in_inference_mode(model):
    set_phase(model, 1)
    assert sorted(w.path for w in model.trainable_weights) == [
        "probabilities/bias",
        "probabilities/kernel",
    ]
    base = model.get_layer("inception_v3")
    before = [w.numpy().copy() for w in base.weights]
    model.compile(keras.optimizers.Adam(0.1), "categorical_crossentropy")
    model.train_on_batch(column_numbers(4), np.eye(SPECIES)[[0, 1, 2, 0]])
    for old, new in zip(before, base.weights, strict=True):
        np.testing.assert_array_equal(old, new.numpy(), err_msg=new.path)  # moving stats too


def test_phase_2_trains_the_base_from_a_named_layer_up(model):
    set_phase(model, 2)
    everything = len(model.trainable_weights)
    set_phase(model, 2, "mixed9")
    top = {w.path.split("/")[0] for w in model.trainable_weights}
    assert 2 < len(model.trainable_weights) < everything
    assert "conv2d" not in top and "probabilities" in top
    with pytest.raises(TrainerError, match="no such layer"):
        set_phase(model, 2, "mixed99")


def test_batchnorm_averages_move_faster_only_in_a_base_trained_from_scratch(model):
    pretrained = build_model(HEIGHT, WIDTH, SPECIES, image_size=75)
    for built, momentum in ((model, SCRATCH_BATCHNORM_MOMENTUM), (pretrained, 0.99)):
        layers = built.get_layer("inception_v3").layers
        norms = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]
        assert norms and {layer.momentum for layer in norms} == {momentum}


def test_mixed_precision_keeps_the_softmax_in_float32():
    mixed = build_model(HEIGHT, WIDTH, SPECIES, image_size=75, mixed_precision=True)
    assert mixed.get_layer("inception_v3").compute_dtype == "float16"
    assert mixed.output.dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"  # the global policy is left alone


def test_a_weights_file_that_is_not_inception_v3_is_refused(tmp_path, capsys):
    data_dir = write_dataset(tmp_path / "data", BALANCED)
    weights = tmp_path / "notes.h5"
    weights.write_text("not weights")
    error = trainer_fails_with(capsys, data_dir, tmp_path / "job", "--weights", str(weights))
    assert "not weights of Inception-v3" in error
