"""The one definition of the record format and dataset metadata, shared by builder and trainer."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is first imported

# ruff: noqa: E402

from schemas.dataset_info import (
    ATTRIBUTION_FILE,
    BACKGROUND_LABEL,
    DATASET_INFO_FILE,
    FAILURES_FILE,
    FORMAT_VERSION,
    INDEX_FILES,
    INDEX_PREFIX,
    LABELS_FILE,
    SEED_FRONT_END,
    SPLITS,
    Counts,
    DatasetFiles,
    DatasetFormatError,
    DatasetInfo,
    ImageShape,
    InputInfo,
    LabelsInfo,
    SelectionInfo,
    SpeciesCounts,
    SpectrogramParams,
    SplitInfo,
    compression_of,
    read_dataset_info,
    read_labels,
    shard_pattern,
    shard_suffix,
)
from schemas.example import FEATURES, feature_spec, make_example, parse_examples

__all__ = [
    "ATTRIBUTION_FILE",
    "BACKGROUND_LABEL",
    "DATASET_INFO_FILE",
    "FAILURES_FILE",
    "FEATURES",
    "FORMAT_VERSION",
    "INDEX_FILES",
    "INDEX_PREFIX",
    "LABELS_FILE",
    "SEED_FRONT_END",
    "SPLITS",
    "Counts",
    "DatasetFiles",
    "DatasetFormatError",
    "DatasetInfo",
    "ImageShape",
    "InputInfo",
    "LabelsInfo",
    "SelectionInfo",
    "SpeciesCounts",
    "SpectrogramParams",
    "SplitInfo",
    "compression_of",
    "feature_spec",
    "make_example",
    "parse_examples",
    "read_dataset_info",
    "read_labels",
    "shard_pattern",
    "shard_suffix",
]
