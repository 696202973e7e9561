"""The trainer's typed options, where every default of trainer.task is written, and its presets.

TrainOptions' defaults are the original system's recipe (Inception-v3 with ImageNet weights,
299x299 images, batches of 32, the head for 5 epochs, then all layers for 20, constant learning
rates); trainer.task's flags take their defaults from it, and a preset names only the options
it changes. This module imports neither TensorFlow nor Keras, so that a command can parse its
flags before TensorFlow loads.
"""

from __future__ import annotations

import dataclasses
from typing import Any

ARCHITECTURES = ("inception-v3", "compact")
LEARNING_RATE_SCHEDULES = ("constant", "cosine")
BEST_BY = ("recording_accuracy", "loss")
MULTI_LABEL = ("auto", "on", "off")
MIN_IMAGE_SIZE = 75  # the smallest input Inception-v3 accepts


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainOptions:
    """Everything trainer.train needs; trainer.task builds it from the command line."""

    data_dir: str = "demo-output/dataset"
    job_dir: str = "demo-output/job"
    batch_size: int = 32
    balance: bool = True
    cache: bool = False
    steps_per_epoch: int | None = None
    architecture: str = "inception-v3"
    image_size: int = 299
    full_resolution: bool = False  # compact only: the time crop at its own size, one channel
    weights: str = "imagenet"
    init_from: str | None = None  # an earlier export (or its job dir) whose base starts this one
    dropout: float = 0.5
    head_epochs: int = 5
    base_epochs: int = 20
    head_learning_rate: float = 1e-3
    base_learning_rate: float = 1e-4
    learning_rate_schedule: str = "constant"
    unfreeze_from: str | None = None
    epsilon: float = 1e-7
    label_smoothing: float = 0.0
    weight_decay: float = 0.0
    ema_momentum: float = 0.0  # > 0: validate, keep and export a moving average of the weights
    mixed_precision: bool = True
    seed: int | None = None  # the random seed; None: not repeatable, faster
    best_by: str = "recording_accuracy"
    time_masks: int = 0
    frequency_masks: int = 0
    mask_fraction: float = 0.1
    gain: float = 0.0
    contrast: float = 0.0
    mixup: float = 0.0
    preset: str | None = None
    resume: bool = False
    overwrite: bool = False
    backup_every_steps: int = 0
    export_tflite: bool = False
    ensemble: int = 1  # > 1: that many runs of seeds seed, seed + 1, ...; their mean exported
    multi_label: str = "auto"  # on: sigmoid per species; auto: on for datasets of several labels
    background_share: float | None = None  # of training examples; None: like a species

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# The original system's recipe is TrainOptions' defaults, so its preset changes nothing; should a
# default ever change, the old value goes here (tests/test_trainer_options.py checks the recipe).
ORIGINAL_RECIPE: dict[str, Any] = {}

# The from-scratch recipe for 2 CPU cores: the compact CNN, 40 epochs with a cosine schedule,
# SpecAugment and mixup; about 21 minutes on the real set (BENCHMARKS.md, 6).
SCRATCH_CPU: dict[str, Any] = {
    "architecture": "compact", "weights": "none", "image_size": 128, "batch_size": 16,
    "head_epochs": 0, "base_epochs": 40, "base_learning_rate": 1e-3,
    "learning_rate_schedule": "cosine", "label_smoothing": 0.1, "seed": 0, "time_masks": 2,
    "frequency_masks": 2, "mixup": 0.2,
}  # fmt: skip

PRESETS = {"seed": ORIGINAL_RECIPE, "scratch-cpu": SCRATCH_CPU}
