"""dataset.json as a typed DatasetInfo: what the builder writes is what every reader gets."""

from __future__ import annotations

import glob
import json
import shutil
from pathlib import Path

import pytest

from schemas import (
    ATTRIBUTION_FILE,
    DATASET_INFO_FILE,
    FAILURES_FILE,
    FIELDS,
    INDEX_FILES,
    LABELS_FILE,
    DatasetFormatError,
    DatasetInfo,
    compression_of,
    read_dataset_info,
    shard_pattern,
)


def test_the_dataset_names_its_index_and_attribution_files(small_dataset):
    info = read_dataset_info(small_dataset)
    assert glob.glob(f"{small_dataset}/{INDEX_FILES}")
    for name in (LABELS_FILE, FAILURES_FILE, ATTRIBUTION_FILE):
        assert Path(small_dataset, name).is_file(), name
    assert glob.glob(shard_pattern(small_dataset, "train"))
    assert info.compression == "NONE" and info.tfrecord_compression == ""


def test_dataset_json_describes_the_record_and_version_1_still_reads(small_dataset, tmp_path):
    values = json.loads(Path(small_dataset, DATASET_INFO_FILE).read_text())
    assert values["format_version"] == 5
    assert list(values["features"]) == [field.name for field in FIELDS]
    assert values["features"]["start_seconds"]["dtype"] == "float32"
    assert not values["features"]["url"]["in_example"] and values["features"]["url"]["in_index"]
    del values["features"], values["error"]  # as pipeline.build wrote version 1
    shutil.copy(Path(small_dataset, "labels.txt"), tmp_path)
    Path(tmp_path, DATASET_INFO_FILE).write_text(json.dumps({**values, "format_version": 1}))
    info = read_dataset_info(str(tmp_path))
    assert info.error is None and info.format_version == 1
    assert info.features == read_dataset_info(small_dataset).features
    assert DatasetInfo.from_dict(info.to_dict()) == info


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format_version": 6}, "format version 6 is not supported"),
        ({"complete": False}, "did not finish"),
        ({"counts": {"examples": {}}}, "not a dataset.json of version 5"),
    ],
)
def test_a_dataset_json_of_another_version_or_shape_is_refused(
    small_dataset, tmp_path, change, message
):
    values = json.loads(Path(small_dataset, DATASET_INFO_FILE).read_text())
    Path(tmp_path, DATASET_INFO_FILE).write_text(json.dumps({**values, **change}))
    with pytest.raises(DatasetFormatError, match=message):
        read_dataset_info(str(tmp_path))


def test_compression_is_named_in_one_way():
    assert compression_of("gzip") == "GZIP" and compression_of("none") == "NONE"
    with pytest.raises(ValueError, match="not one of"):
        compression_of("zstd")
