"""The catalog as a Parquet file: written by the launcher, read by the job with Beam's Parquet
source, so the job request stays the same size for a hundred or a million recordings."""

from __future__ import annotations

import dataclasses
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from pipeline.catalog import Catalog, Recording
from pipeline.outcome import Outcome

CATALOG_FILE = ".catalog.parquet"
_RECORDING_FIELDS = [f.name for f in dataclasses.fields(Recording)]
SCHEMA = pa.schema(
    [(name, pa.int64() if name == "size_bytes" else pa.string()) for name in _RECORDING_FIELDS]
    + [("split", pa.string()), ("reason", pa.string()), ("detail", pa.string())]
)
_ROW_GROUP = 100_000  # rows; Beam's Parquet source splits the file between workers by row group


def write_catalog(path: str, catalog: Catalog, splits: dict[str, str]) -> int:
    """Writes kept recordings (with their split) and refused files (with their reason) to a
    Parquet file on any Beam filesystem; returns its size in bytes."""
    columns: dict[str, list[Any]] = {name: [] for name in SCHEMA.names}
    for recording in catalog.recordings:
        for name in _RECORDING_FIELDS:
            columns[name].append(getattr(recording, name))
        columns["split"].append(splits[recording.recording_id])
        columns["reason"].append("")
        columns["detail"].append("")
    for failure in catalog.failures:
        for name in _RECORDING_FIELDS:
            columns[name].append(0 if name == "size_bytes" else "")
        columns["source_file"][-1] = failure.file
        columns["split"].append("")
        columns["reason"].append(failure.reason)
        columns["detail"].append(failure.detail)
    table = pa.Table.from_pydict(columns, schema=SCHEMA)
    with FileSystems.create(path, mime_type="application/octet-stream") as f:
        pq.write_table(table, f, row_group_size=_ROW_GROUP, compression="zstd")
    return FileSystems.match([path])[0].metadata_list[0].size_in_bytes


def is_failure(row: dict[str, Any]) -> bool:
    """Whether a catalog row is a file the launcher refused (rather than a recording to process)."""
    return bool(row["reason"])


def recording_of(row: dict[str, Any]) -> tuple[Recording, str]:
    """(Recording, split) of a catalog row."""
    return Recording(**{name: row[name] for name in _RECORDING_FIELDS}), row["split"]


def failure_of(row: dict[str, Any]) -> Outcome:
    """The Outcome of a refused file's catalog row."""
    return Outcome(file=row["source_file"], reason=row["reason"], detail=row["detail"])
