"""The model: uint8 spectrograms in, time crop and image preprocessing, a base (Inception-v3 or a
compact CNN), softmax."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import keras
import tensorflow as tf

from trainer import TrainerError
from trainer.layers import SpecAugment, SpectrogramToChannel, SpectrogramToImage, TimeCrop
from trainer.options import TrainOptions

COMPACT_FILTERS = (16, 32, 64, 128)
CROP_FRACTION = 3.75 / 4.0
SCRATCH_BATCHNORM_MOMENTUM = 0.9
BASE_NAMES = {"inception-v3": "inception_v3", "compact": "compact_cnn"}  # the base sub-model's
IMAGENET_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
    "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
)
IMAGENET_WEIGHTS_MD5 = "bcbd6486424b2319ff4ef7d526e38f63"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Augmentation:
    """Training-only augmentation inside the model (see trainer.layers and Keras' layers); by
    default none, as in TrainOptions."""

    frequency_masks: int = TrainOptions.frequency_masks
    time_masks: int = TrainOptions.time_masks
    mask_fraction: float = TrainOptions.mask_fraction
    gain: float = TrainOptions.gain
    contrast: float = TrainOptions.contrast


def resolve_weights(weights: str, architecture: str = TrainOptions.architecture) -> str | None:
    """Maps --weights ("imagenet", "none" or a file) to a local weights file, or None."""
    if weights == "none":
        return None
    if architecture == "compact":
        raise TrainerError("--architecture compact has no pretrained weights; use --weights none")
    if weights != "imagenet":
        if not tf.io.gfile.exists(weights):
            raise TrainerError(f"--weights {weights}: no such file")
        return weights
    try:
        return keras.utils.get_file(
            IMAGENET_WEIGHTS_URL.rsplit("/", 1)[1],
            IMAGENET_WEIGHTS_URL,
            cache_subdir="models",
            file_hash=IMAGENET_WEIGHTS_MD5,
        )
    except Exception as error:  # get_file raises a bare Exception when offline
        raise TrainerError(
            f"cannot download the ImageNet weights of Inception-v3 ({error}); pass a local "
            f"copy of {IMAGENET_WEIGHTS_URL} with --weights FILE, or train from scratch with "
            "--weights none"
        ) from None


def compact_cnn(input_shape: tuple[int, int, int]) -> keras.Model:
    """A small VGG-style base for training from scratch on a CPU: per block of COMPACT_FILTERS,
    two 3x3 convolutions with BatchNorm and ReLU, then 2x2 max pooling; global average pooling.

    About 290,000 weights and a fifth of Inception-v3's multiply-adds at the same image size.
    `input_shape` is (rows, columns, channels): a square RGB image or a full-resolution crop.
    """
    inputs = keras.Input(input_shape)
    x = inputs
    for filters in COMPACT_FILTERS:
        for _ in range(2):
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, x, name=BASE_NAMES["compact"])


def base_input_shape(
    height: int,
    width: int,
    *,
    architecture: str = TrainOptions.architecture,
    image_size: int = TrainOptions.image_size,
    full_resolution: bool = TrainOptions.full_resolution,
) -> tuple[int, int, int]:
    """The (rows, columns, channels) the base sees for spectrograms of height x width: the
    time crop itself in one channel with `full_resolution` (compact only), else a square RGB
    image of image_size."""
    if not full_resolution:
        return (image_size, image_size, 3)
    if architecture != "compact":
        raise TrainerError(
            f"--full-resolution is for --architecture compact; {architecture} takes square RGB "
            "images of --image-size"
        )
    return (height, crop_width(width), 1)


def crop_width(width: int) -> int:
    """Frames of the random time crop of spectrograms `width` frames wide."""
    return round(width * CROP_FRACTION)


def base_of(model: keras.Model) -> keras.Model:
    """The base sub-model of a classifier of build_model."""
    return next(layer for layer in model.layers if isinstance(layer, keras.Model))


def _base(architecture: str, input_shape: tuple[int, int, int], weights: str | None) -> keras.Model:
    if architecture == "compact":
        base = compact_cnn(input_shape)
        if weights:
            base.load_weights(weights)
        return base
    try:
        return keras.applications.InceptionV3(
            include_top=False,
            weights=weights,
            input_shape=input_shape,
            pooling="avg",
        )
    except (ValueError, OSError) as error:
        if weights is None:
            raise
        raise TrainerError(
            f"--weights {weights}: not weights of Inception-v3 without its top "
            f"({str(error).splitlines()[0]})"
        ) from None


def build_model(
    height: int,
    width: int,
    n_classes: int,
    *,
    architecture: str = TrainOptions.architecture,
    image_size: int = TrainOptions.image_size,
    full_resolution: bool = TrainOptions.full_resolution,
    weights: str | None = None,
    dropout: float = TrainOptions.dropout,
    freeze_batchnorm: bool = True,
    mixed_precision: bool = False,
    seed: int | None = None,
    augmentation: Augmentation = Augmentation(),
    multi_label: bool = False,
) -> keras.Model:
    """Builds the classifier; `weights` is a weights file of the base (see resolve_weights);
    its outputs are a softmax over the species, or with `multi_label` a sigmoid per species.
    The base sees square RGB images of `image_size`, or with `full_resolution` (compact only)
    the time crop at its own size in one channel (base_input_shape).

    The base's BatchNorm runs in inference mode while the base is frozen, and with
    `freeze_batchnorm` (the fine-tuning recipe for pretrained weights) also once it trains;
    a base trained from scratch needs `freeze_batchnorm=False` to learn, and then its moving
    averages use momentum SCRATCH_BATCHNORM_MOMENTUM to keep up with the fast-changing
    weights (with Keras' 0.99, the demo's validation accuracy stayed at chance for 20 epochs).
    """
    input_shape = base_input_shape(
        height,
        width,
        architecture=architecture,
        image_size=image_size,
        full_resolution=full_resolution,
    )
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16" if mixed_precision else "float32")
    try:
        inputs = keras.Input((height, width), dtype="uint8", name="spectrogram")
        x = TimeCrop(crop_width(width), seed=seed, name="time_crop")(inputs)
        x = SpecAugment(
            augmentation.frequency_masks,
            augmentation.time_masks,
            augmentation.mask_fraction,
            seed=seed,
            name="spec_augment",
        )(x)
        if full_resolution:
            x = SpectrogramToChannel(name="to_image")(x)
        else:
            x = SpectrogramToImage(image_size, name="to_image")(x)
        if augmentation.gain:
            x = keras.layers.RandomBrightness(
                augmentation.gain, value_range=(-1.0, 1.0), seed=seed, name="gain"
            )(x)
        if augmentation.contrast:
            x = keras.layers.RandomContrast(augmentation.contrast, seed=seed, name="contrast")(x)
        base = _base(architecture, input_shape, weights)
        if not freeze_batchnorm:
            for layer in base.layers:
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.momentum = SCRATCH_BATCHNORM_MOMENTUM
        x = base(x, training=False if freeze_batchnorm else None)
        x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(x)
        outputs = keras.layers.Dense(
            n_classes,
            activation="sigmoid" if multi_label else "softmax",
            dtype="float32",
            name="probabilities",
        )(x)
        return keras.Model(inputs, outputs, name=f"birdsong_{base.name}")
    finally:
        keras.config.set_dtype_policy(previous_policy)


def ensemble(members: Sequence[keras.Model]) -> keras.Model:
    """One model over trained classifiers of the same input: the mean of their probabilities
    (the members are renamed member_0, member_1, ...)."""
    inputs = keras.Input(members[0].input.shape[1:], dtype="uint8", name="spectrogram")
    for index, member in enumerate(members):
        member.name = f"member_{index}"
    outputs = keras.layers.Average(name="probabilities")([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name="birdsong_ensemble")


def set_phase(model: keras.Model, phase: int, unfreeze_from: str | None = None) -> None:
    """Phase 1 trains the head only; phase 2 also the base, all of it or from a named layer up."""
    base = base_of(model)
    names = [layer.name for layer in base.layers]
    if unfreeze_from and unfreeze_from not in names:
        raise TrainerError(
            f"--unfreeze-from {unfreeze_from}: the base has no such layer "
            "(Inception-v3's blocks are mixed0 ... mixed10)"
        )
    first = names.index(unfreeze_from) if unfreeze_from else 0
    base.trainable = phase == 2
    for index, layer in enumerate(base.layers):
        layer.trainable = phase == 2 and index >= first
