"""The one definition of the record format and dataset metadata, shared by builder and trainer."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is first imported

# ruff: noqa: E402

from schemas.dataset_info import (
    BACKGROUND_LABEL,
    DATASET_INFO_FILE,
    FAILURES_FILE,
    FORMAT_VERSION,
    LABELS_FILE,
    SPLITS,
    DatasetFormatError,
    SpectrogramParams,
    read_dataset_info,
    read_labels,
    shard_pattern,
)
from schemas.example import FEATURES, feature_spec, make_example, parse_examples

__all__ = [
    "BACKGROUND_LABEL",
    "DATASET_INFO_FILE",
    "FAILURES_FILE",
    "FEATURES",
    "FORMAT_VERSION",
    "LABELS_FILE",
    "SPLITS",
    "DatasetFormatError",
    "SpectrogramParams",
    "feature_spec",
    "make_example",
    "parse_examples",
    "read_dataset_info",
    "read_labels",
    "shard_pattern",
]
