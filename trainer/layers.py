"""Layers that turn uint8 spectrograms into the base's input inside the model (on the GPU)."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="trainer")
class TimeCrop(keras.layers.Layer):
    """Crops (batch, height, width) spectrograms to `width` frames in time; never in frequency.

    Training takes a random offset for every example of the batch, inference the centre.
    """

    def __init__(self, width: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.width = width
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        slack = inputs.shape[2] - self.width
        if not training:
            return inputs[:, :, slack // 2 : slack // 2 + self.width]
        batch = tf.shape(inputs)[:1]
        offsets = keras.random.randint(batch, 0, slack + 1, seed=self.seed_generator)
        columns = offsets[:, None] + tf.range(self.width)[None, :]
        return tf.gather(inputs, columns, axis=2, batch_dims=1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:2], self.width)

    def get_config(self):
        return {**super().get_config(), "width": self.width, "seed": self.seed}


def _unit_range(pixels: tf.Tensor) -> tf.Tensor:
    """Pixel values 0 to 255 (as floats) scaled to [-1, 1]."""
    return pixels / 127.5 - 1.0


@keras.saving.register_keras_serializable(package="trainer")
class SpectrogramToImage(keras.layers.Layer):
    """Resizes (batch, height, width) uint8 spectrograms to (batch, size, size, 3) in [-1, 1]."""

    def __init__(self, size: int, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def call(self, inputs):
        image = tf.image.resize(tf.cast(inputs[..., None], tf.float32), (self.size, self.size))
        return tf.cast(_unit_range(tf.image.grayscale_to_rgb(image)), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, 3)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package="trainer")
class SpectrogramToChannel(keras.layers.Layer):
    """(batch, height, width) uint8 spectrograms to (batch, height, width, 1) in [-1, 1], at
    their own size: the full-resolution input of the compact base."""

    def call(self, inputs):
        return tf.cast(_unit_range(tf.cast(inputs[..., None], tf.float32)), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape, 1)


@keras.saving.register_keras_serializable(package="trainer")
class SpecAugment(keras.layers.Layer):
    """SpecAugment's masks in training: bands of rows and columns set to 0 (the quietest value).

    Each of `frequency_masks` (`time_masks`) masks covers 0 to `max_fraction` of the rows
    (frames) at a random place, drawn per example; inference passes the input through unchanged.
    """

    def __init__(
        self,
        frequency_masks: int = 0,
        time_masks: int = 0,
        max_fraction: float = 0.1,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.frequency_masks = frequency_masks
        self.time_masks = time_masks
        self.max_fraction = max_fraction
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _keep(self, batch: tf.Tensor, length: int, masks: int) -> tf.Tensor:
        """(batch, length) 1.0 outside `masks` random bands, 0.0 inside them."""
        keep = tf.ones((batch, length))
        positions = tf.range(length, dtype=tf.float32)[None, :]
        for _ in range(masks):
            width = keras.random.uniform(
                (batch, 1), 0, self.max_fraction * length, seed=self.seed_generator
            )
            start = keras.random.uniform((batch, 1), 0, 1, seed=self.seed_generator) * (
                length - width
            )
            keep *= tf.cast((positions < start) | (positions >= start + width), tf.float32)
        return keep

    def call(self, inputs, training=False):
        if not training or not (self.frequency_masks or self.time_masks):
            return inputs
        batch = tf.shape(inputs)[0]
        rows = self._keep(batch, inputs.shape[1], self.frequency_masks)
        columns = self._keep(batch, inputs.shape[2], self.time_masks)
        keep = rows[:, :, None] * columns[:, None, :]
        return tf.cast(tf.cast(inputs, tf.float32) * keep, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "frequency_masks": self.frequency_masks,
            "time_masks": self.time_masks,
            "max_fraction": self.max_fraction,
            "seed": self.seed,
        }
