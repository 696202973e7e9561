"""Dataset metadata: spectrogram parameters, file names and dataset.json's format version."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from schemas.example import describe_fields

# dataset.json's format version: it goes up whenever the record's fields (schemas.example) or
# dataset.json's entries change. This code reads the versions in READABLE_VERSIONS, whose
# records it parses as they are: version 1 has the same Example fields and no "features" entry;
# version 2 has a "features" entry; version 3 adds every record's "labels" (several per
# snippet, from annotations) and their band (low_hz, high_hz) to the Example and the index;
# version 4 adds "masked_labels" (labels the loss skips, secondary species); version 5 adds
# the training split's window choice to "snippets" (train_overlap, train_max_per_recording)
# and the spectrogram's "scaling" (older versions' images are all "snippet"), and the counts
# of --background-from files and windows (counts.background_files, counts.background_windows).
FORMAT_VERSION = 5
READABLE_VERSIONS = (1, 2, 3, 4, 5)
SPLITS = ("train", "validation", "test")
DATASET_INFO_FILE = "dataset.json"
LABELS_FILE = "labels.txt"
FAILURES_FILE = "failures.jsonl"
INDEX_PREFIX = "index"  # index-00000-of-00002.parquet, ...
INDEX_FILES = f"{INDEX_PREFIX}-*-of-*.parquet"
ATTRIBUTION_FILE = "ATTRIBUTION.csv"
# The reserved label of "no bird" windows (pipeline.build --background-snippets), last in labels.txt.
BACKGROUND_LABEL = "(background)"


FREQUENCY_SCALES = ("linear", "mel")
NORMALIZATIONS = ("db", "pcen")
SCALINGS = ("snippet", "fixed")


class DatasetFormatError(ValueError):
    """A dataset folder that is missing, incomplete or of an unknown format version."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class SpectrogramParams:
    """How audio becomes a uint8 spectrogram image; stored in dataset.json and in exports.

    The defaults' front end (128 mel rows from 500 Hz, PCEN) measured better on real field
    recordings than the seed's (SEED_FRONT_END: 224 linear rows from 0 Hz, dB; BENCHMARKS.md, 6).
    """

    sample_rate: int = 22050
    fft_size: int = 512
    hop: int = 256
    window: str = "hamming"
    snippet_seconds: float = 4.0
    frequency_rows: int = 128
    db_range: float = 80.0
    frequency_scale: str = "mel"  # mel, or linear (the seed's)
    fmin: float = 500.0  # lowest frequency of the image in Hz
    fmax: float = 0.0  # highest frequency in Hz; 0: the Nyquist frequency
    normalization: str = "pcen"  # pcen, or db (per-snippet dB below its maximum; the seed's)
    scaling: str = "snippet"  # snippet: by each snippet's maximum; fixed: one range for all

    def __post_init__(self) -> None:
        if self.frequency_scale not in FREQUENCY_SCALES:
            raise ValueError(
                f"frequency scale {self.frequency_scale!r}: not one of {FREQUENCY_SCALES}"
            )
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization {self.normalization!r}: not one of {NORMALIZATIONS}")
        if self.scaling not in SCALINGS:
            raise ValueError(f"scaling {self.scaling!r}: not one of {SCALINGS}")
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
        """Parameters from dataset.json; fields newer than the file take the seed's values,
        which files written before those fields existed were built with."""
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{**SEED_FRONT_END, **{k: v for k, v in values.items() if k in known}})


# The seed's front end: 224 rows evenly spaced from 0 Hz to Nyquist, dB below each maximum.
SEED_FRONT_END = {
    "frequency_rows": 224, "frequency_scale": "linear", "fmin": 0.0, "fmax": 0.0,
    "normalization": "db",
}  # fmt: skip


def shard_pattern(data_dir: str, split: str) -> str:
    """Glob of a split's TFRecord shards (plain or GZIP-compressed)."""
    return f"{data_dir.rstrip('/')}/{split}-*-of-*.tfrecord*"


COMPRESSIONS = ("NONE", "GZIP")  # dataset.json's names; the builder's --compression none|gzip


def compression_of(flag: str) -> str:
    """dataset.json's compression ("NONE" or "GZIP") of the builder's --compression value."""
    name = flag.upper()
    if name not in COMPRESSIONS:
        raise ValueError(f"compression {flag!r}: not one of none, gzip")
    return name


def shard_suffix(compression: str) -> str:
    """File name ending of the shards of a dataset of this compression."""
    return ".tfrecord.gz" if compression == "GZIP" else ".tfrecord"


@dataclasses.dataclass(frozen=True)
class ImageShape:
    """Rows (frequency) and columns (frames) of every Example's uint8 spectrogram."""

    height: int
    width: int


@dataclasses.dataclass(frozen=True)
class InputInfo:
    """What the builder read: the recordings, the metadata file and the layout."""

    input: str | None
    metadata: str | None
    layout: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class SelectionInfo:
    """The selections applied, and the sound types of the recordings they kept."""

    types: list[str]
    min_recordings: int
    top_species: int
    kept_types: dict[str, int]


@dataclasses.dataclass(frozen=True)
class LabelsInfo:
    """labels.txt: its name, number of lines and the rule that ordered them."""

    file: str
    count: int
    order: str


@dataclasses.dataclass(frozen=True)
class SplitInfo:
    """How recordings were assigned to splits."""

    fractions: dict[str, float]
    seed: int
    rule: str


@dataclasses.dataclass(frozen=True)
class SpeciesCounts:
    """One species' recordings and examples per split."""

    recordings: dict[str, int]
    examples: dict[str, int]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Counts:
    """What the build produced and refused; every input file is counted once."""

    input_files: int
    recordings: dict[str, int]  # per split
    examples: dict[str, int]  # per split
    per_species: dict[str, SpeciesCounts]
    failures: dict[str, int]  # per reason
    failed_files: int
    metadata_rows_without_file: int
    recovered_with_ffmpeg: int
    decoders: dict[str, int]  # recordings per decoder that read them
    events: dict[str, int] = dataclasses.field(default_factory=dict)  # annotated, per split
    windows_per_label: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    # --background-from files and their windows, per split (also counted under the background
    # label's recordings and examples)
    background_files: dict[str, int] = dataclasses.field(default_factory=dict)
    background_windows: dict[str, int] = dataclasses.field(default_factory=dict)

    def split_examples(self, split: str, species: str) -> int:
        """Examples of one species in one split (0 for a species without any)."""
        counts = self.per_species.get(species)
        return counts.examples.get(split, 0) if counts else 0

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Counts:
        per_species = {name: SpeciesCounts(**c) for name, c in values["per_species"].items()}
        return cls(**{**values, "per_species": per_species})


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetInfo:
    """The content of dataset.json, written by pipeline.build and read by everyone else."""

    complete: bool
    created: str
    command: list[str]
    input: InputInfo
    spectrogram: SpectrogramParams
    image: ImageShape
    snippets: dict[str, Any]  # the builder's snippet choice, for the record
    selections: SelectionInfo
    labels: LabelsInfo
    split: SplitInfo
    compression: str  # "NONE" or "GZIP", see compression_of
    shards: dict[str, int]
    workers: int | None  # local worker processes; None: the runner's service decided
    counts: Counts
    features: dict[str, dict[str, Any]] = dataclasses.field(default_factory=describe_fields)
    error: str | None = None  # why an incomplete build is incomplete
    format_version: int = FORMAT_VERSION

    @property
    def tfrecord_compression(self) -> str:
        """TensorFlow's compression_type argument for the shards ("GZIP" or "")."""
        return "GZIP" if self.compression == "GZIP" else ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of dataset.json, format_version first."""
        values = dataclasses.asdict(self)
        return {"format_version": values.pop("format_version"), **values}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DatasetInfo:
        """Reads a dataset.json object of a readable format version (the record's fields
        described as this code declares them)."""
        fields = {field.name for field in dataclasses.fields(cls)}
        values = {key: value for key, value in values.items() if key in fields}
        pieces = {
            "input": InputInfo,
            "image": ImageShape,
            "selections": SelectionInfo,
            "labels": LabelsInfo,
            "split": SplitInfo,
        }
        typed = {key: kind(**values[key]) for key, kind in pieces.items() if key in values}
        typed["spectrogram"] = SpectrogramParams.from_dict(values["spectrogram"])
        typed["counts"] = Counts.from_dict(values["counts"])
        return cls(**{**values, **typed, "features": describe_fields()})


def read_dataset_info(data_dir: str) -> DatasetInfo:
    """Reads dataset.json, refusing a dataset that is incomplete or of an unknown version."""
    import tensorflow as tf  # for tf.io.gfile: local, gs:// and every TensorFlow filesystem

    path = f"{data_dir.rstrip('/')}/{DATASET_INFO_FILE}"
    if not tf.io.gfile.exists(path):
        raise DatasetFormatError(
            f"{path}: not found; is {data_dir} a dataset built by pipeline.build?"
        )
    try:
        with tf.io.gfile.GFile(path) as f:
            values = json.load(f)
    except json.JSONDecodeError as error:
        raise DatasetFormatError(f"{path}: not valid JSON ({error})") from None
    version = values.get("format_version") if isinstance(values, dict) else None
    if version not in READABLE_VERSIONS:
        raise DatasetFormatError(
            f"{path}: format version {version!r} is not supported (this code reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}); rebuild the dataset with this version "
            "of pipeline.build"
        )
    try:
        info = DatasetInfo.from_dict(values)
    except (KeyError, TypeError, ValueError) as error:
        raise DatasetFormatError(
            f"{path}: not a dataset.json of version {version} ({error})"
        ) from None
    if not info.complete:
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
