"""The trainer's typed options and the presets of trainer.task."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
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
    weights: str = "imagenet"
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
    mixed_precision: bool = True
    seed: int | None = None
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

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# The seed's recipe: ImageNet weights, 299x299, the head for 5 epochs, then all layers.
SEED = {
    "architecture": "inception-v3", "weights": "imagenet", "image_size": 299, "batch_size": 32,
    "head_epochs": 5, "base_epochs": 20, "learning_rate_schedule": "constant",
    "head_learning_rate": 1e-3, "base_learning_rate": 1e-4,
    "label_smoothing": 0.0, "time_masks": 0, "frequency_masks": 0, "gain": 0.0,
    "contrast": 0.0, "mixup": 0.0,
}  # fmt: skip

# The from-scratch recipe for 2 CPU cores: the compact CNN, 40 epochs with a cosine schedule,
# SpecAugment and mixup; about 21 minutes on the real set (BENCHMARKS.md, 6).
SCRATCH_CPU = {
    "architecture": "compact", "weights": "none", "image_size": 128, "batch_size": 16,
    "head_epochs": 0, "base_epochs": 40, "base_learning_rate": 1e-3,
    "learning_rate_schedule": "cosine", "label_smoothing": 0.1, "seed": 0, "time_masks": 2,
    "frequency_masks": 2, "gain": 0.0, "contrast": 0.0, "mixup": 0.2,
}  # fmt: skip

PRESETS = {"seed": SEED, "scratch-cpu": SCRATCH_CPU}
