"""dataset.json as a typed DatasetInfo: what the builder writes is what every reader gets."""

from __future__ import annotations

import glob
import json
import shutil
from pathlib import Path

import pytest

from schemas import (
    DATASET_INFO_FILE,
    DatasetFiles,
    DatasetFormatError,
    DatasetInfo,
    compression_of,
    read_dataset_info,
    shard_pattern,
)


def test_the_dataset_names_its_index_and_attribution_files(small_dataset):
    info = read_dataset_info(small_dataset)
    assert glob.glob(f"{small_dataset}/{info.files.index}")
    for name in (info.files.labels, info.files.failures, info.files.attribution):
        assert Path(small_dataset, name).is_file(), name
    assert glob.glob(shard_pattern(small_dataset, "train"))
    assert info.compression == "NONE" and info.tfrecord_compression == ""


def test_a_dataset_json_written_before_it_named_its_files_still_reads(small_dataset, tmp_path):
    values = json.loads(Path(small_dataset, DATASET_INFO_FILE).read_text())
    assert values["format_version"] == 2 and values["files"]["index"] == "index-*-of-*.parquet"
    del values["files"], values["error"]  # as pipeline.build wrote version 1 before
    shutil.copy(Path(small_dataset, "labels.txt"), tmp_path)
    Path(tmp_path, DATASET_INFO_FILE).write_text(json.dumps(values))
    info = read_dataset_info(str(tmp_path))
    assert info.files == DatasetFiles() and info.error is None
    assert info == read_dataset_info(small_dataset)
    assert DatasetInfo.from_dict(info.to_dict()) == info


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format_version": 3}, "format version 3 is not supported"),
        ({"complete": False}, "did not finish"),
        ({"counts": {"examples": {}}}, "not a dataset.json of version 2"),
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
