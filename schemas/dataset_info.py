"""Dataset metadata: spectrogram parameters, file names and the dataset.json format version."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

FORMAT_VERSION = 1
SPLITS = ("train", "validation", "test")
DATASET_INFO_FILE = "dataset.json"
LABELS_FILE = "labels.txt"
FAILURES_FILE = "failures.jsonl"
# The reserved label of "no bird" windows (pipeline.build --background-snippets), last in labels.txt.
BACKGROUND_LABEL = "(background)"


FREQUENCY_SCALES = ("linear", "mel")
NORMALIZATIONS = ("db", "pcen")


class DatasetFormatError(ValueError):
    """A dataset folder that is missing, incomplete or of an unknown format version."""


@dataclasses.dataclass(frozen=True)
class SpectrogramParams:
    """How audio becomes a uint8 spectrogram image; stored in dataset.json and in exports."""

    sample_rate: int = 22050
    fft_size: int = 512
    hop: int = 256
    window: str = "hamming"
    snippet_seconds: float = 4.0
    frequency_rows: int = 224
    db_range: float = 80.0
    frequency_scale: str = "linear"  # linear (the seed's) or mel
    fmin: float = 0.0  # lowest frequency of the image in Hz
    fmax: float = 0.0  # highest frequency in Hz; 0: the Nyquist frequency
    normalization: str = "db"  # db (per-snippet dB below its maximum) or pcen

    def __post_init__(self) -> None:
        if self.frequency_scale not in FREQUENCY_SCALES:
            raise ValueError(
                f"frequency scale {self.frequency_scale!r}: not one of {FREQUENCY_SCALES}"
            )
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization {self.normalization!r}: not one of {NORMALIZATIONS}")
        if not 0 <= self.fmin < self.top_frequency <= self.sample_rate / 2:
            raise ValueError(
                f"frequency range {self.fmin}-{self.fmax} Hz: needs 0 <= fmin < fmax <= "
                f"{self.sample_rate / 2:g} (half the sample rate)"
            )

    @property
    def snippet_samples(self) -> int:
        return round(self.snippet_seconds * self.sample_rate)

    @property
    def top_frequency(self) -> float:
        """Frequency in Hz of the image's last row."""
        return self.fmax or self.sample_rate / 2

    @property
    def frames(self) -> int:
        """Width in frames of one snippet's spectrogram."""
        return 1 + (self.snippet_samples - self.fft_size) // self.hop

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SpectrogramParams:
        """Parameters from dataset.json; fields newer than the file take their defaults."""
        return cls(
            **{
                field.name: values[field.name]
                for field in dataclasses.fields(cls)
                if field.name in values
            }
        )


def shard_pattern(data_dir: str, split: str) -> str:
    """Glob of a split's TFRecord shards (plain or GZIP-compressed)."""
    return f"{data_dir.rstrip('/')}/{split}-*-of-*.tfrecord*"


def read_dataset_info(data_dir: str) -> dict[str, Any]:
    """Reads dataset.json, refusing a dataset that is incomplete or of an unknown version."""
    import tensorflow as tf  # for tf.io.gfile: local, gs:// and every TensorFlow filesystem

    path = f"{data_dir.rstrip('/')}/{DATASET_INFO_FILE}"
    if not tf.io.gfile.exists(path):
        raise DatasetFormatError(
            f"{path}: not found; is {data_dir} a dataset built by pipeline.build?"
        )
    try:
        with tf.io.gfile.GFile(path) as f:
            info = json.load(f)
    except json.JSONDecodeError as error:
        raise DatasetFormatError(f"{path}: not valid JSON ({error})") from None
    version = info.get("format_version")
    if version != FORMAT_VERSION:
        raise DatasetFormatError(
            f"{path}: format version {version!r} is not supported (this code reads version "
            f"{FORMAT_VERSION}); rebuild the dataset with this version of pipeline.build"
        )
    if not info.get("complete"):
        raise DatasetFormatError(f"{path}: the build that wrote it did not finish")
    return info


def read_labels(data_dir: str) -> list[str]:
    """Species names of labels.txt; line i is label i."""
    import tensorflow as tf

    path = f"{data_dir.rstrip('/')}/{LABELS_FILE}"
    if not tf.io.gfile.exists(path):
        raise DatasetFormatError(f"{path}: not found")
    with tf.io.gfile.GFile(path) as f:
        return [line for line in f.read().split("\n") if line]
