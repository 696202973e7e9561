"""The dataset's files written by the job: TFRecord shards, the Parquet index of every example,
and the attribution list of every recording in the dataset."""

from __future__ import annotations

import csv
import io
import struct
import zlib
from typing import Any

import apache_beam as beam
import google_crc32c
import pyarrow as pa
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.value_provider import StaticValueProvider

from pipeline.columns import ATTRIBUTION_COLUMNS
from schemas import ATTRIBUTION_FILE, INDEX_PREFIX, SPLITS, shard_suffix

TEMP_PREFIX = "beam-temp-"
INDEX_SCHEMA = pa.schema(
    [
        ("split", pa.string()),
        ("shard", pa.string()),
        ("species", pa.string()),
        ("label", pa.int64()),
        ("recording_id", pa.string()),
        ("snippet_index", pa.int64()),
        ("start_seconds", pa.float64()),
        ("source_file", pa.string()),
        ("sound_type", pa.string()),
        ("quality", pa.string()),
        ("license", pa.string()),
        ("recordist", pa.string()),
        ("url", pa.string()),
        ("labels", pa.string()),  # every label of the example, ";"-separated
        ("low_hz", pa.float64()),  # the annotated frequency band of its events (0, 0: none)
        ("high_hz", pa.float64()),
    ]
)


def shard_names(split: str, count: int, compression: str) -> list[str]:
    """File names of a split's shards: train-00000-of-00004.tfrecord[.gz]."""
    suffix = shard_suffix(compression)
    return [f"{split}-{i:05d}-of-{count:05d}{suffix}" for i in range(count)]


def _masked_crc(data: bytes) -> bytes:
    crc = google_crc32c.value(data)
    return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


def beam_compression(compression: str) -> str:
    """Beam's compression type of dataset.json's compression (NONE or GZIP)."""
    return CompressionTypes.GZIP if compression == "GZIP" else CompressionTypes.UNCOMPRESSED


class TFRecordSink(fileio.FileSink):
    """Writes (shard, serialized Example) elements as TFRecords; compression NONE or GZIP."""

    def __init__(self, compression: str) -> None:
        self._compression = compression

    def create_metadata(self, destination: str, full_file_name: str) -> fileio.FileMetadata:
        return fileio.FileMetadata(
            mime_type="application/octet-stream",
            compression_type=beam_compression(self._compression),
        )

    def open(self, fh) -> None:
        self._fh = fh

    def write(self, record: tuple[str, bytes]) -> None:
        data = record[1]
        length = struct.pack("<Q", len(data))
        self._fh.write(length + _masked_crc(length) + data + _masked_crc(data))

    def flush(self) -> None:
        """Nothing: the writer's close() right after finishes the file (a GZIP stream flushed
        here could not be closed)."""


def index_row(recording, label: int, snippet_index: int, start_seconds: float) -> dict[str, Any]:
    """The index fields of one example, besides its split and shard."""
    return {
        "species": recording.species,
        "label": label,
        "recording_id": recording.recording_id,
        "snippet_index": snippet_index,
        "start_seconds": start_seconds,
        "source_file": recording.source_file,
        "sound_type": recording.sound_type,
        "quality": recording.quality,
        "license": recording.license,
        "recordist": recording.recordist,
        "url": recording.url,
        "labels": recording.species,
        "low_hz": 0.0,
        "high_hz": 0.0,
    }


def _attribution_line(row: dict[str, Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([row[c] for c in ATTRIBUTION_COLUMNS])
    return out.getvalue()


def complete_shards(output: str, shards: dict[str, int], compression: str) -> None:
    """Writes an empty file for every shard no example was hashed to, so that a split's files
    are all there, as their names (-of-NNNNN) promise."""
    for split in SPLITS:
        for name in shard_names(split, shards[split], compression):
            path = f"{output}/{name}"
            if not FileSystems.exists(path):
                FileSystems.create(path, compression_type=beam_compression(compression)).close()


def write_outputs(
    examples,
    output: str,
    compression: str,
    shards: dict[str, int],
    index_shards: int,
    temp_directory: str,
) -> None:
    """Writes (split, index row, serialized Example) elements as the split's shards, one index
    row per example naming its shard, and one attribution line per recording.

    Each example's shard is a hash of its recording id and snippet index, so the index knows it
    before the write and the assignment is the same on any runner.
    """
    names = {split: shard_names(split, shards[split], compression) for split in SPLITS}

    def placed(element: tuple[str, dict, bytes]) -> tuple[dict, bytes]:
        split, row, example = element
        key = f"{row['recording_id']}\0{row['snippet_index']}".encode()
        shard = names[split][zlib.crc32(key) % len(names[split])]
        return {"split": split, "shard": shard, **row}, example

    rows_and_examples = examples | "Choose shards" >> beam.Map(placed)
    _ = (
        rows_and_examples
        | "Shard and bytes" >> beam.Map(lambda r: (r[0]["shard"], r[1]))
        | "Write shards"
        >> fileio.WriteToFiles(
            output,
            destination=lambda element: element[0],
            file_naming=lambda window, pane, index, total, compression, destination: destination,
            sink=lambda _: TFRecordSink(compression),
            shards=1,
            max_writers_per_bundle=0,  # every shard through one writer: exactly one file each
            temp_directory=StaticValueProvider(str, temp_directory),
        )  # fmt: skip
    )
    rows = rows_and_examples | "Index rows" >> beam.Map(lambda r: r[0])
    _ = rows | "Write index" >> beam.io.WriteToParquet(
        f"{output}/{INDEX_PREFIX}",
        INDEX_SCHEMA,
        file_name_suffix=".parquet",
        num_shards=index_shards,
        shard_name_template="-SSSSS-of-NNNNN",
        codec="zstd",
    )
    _ = (
        rows
        | "Attribution" >> beam.Map(_attribution_line)
        | "One line per recording" >> beam.Distinct()
        | "Write attribution"
        >> beam.io.WriteToText(
            f"{output}/{ATTRIBUTION_FILE}",
            shard_name_template="",
            num_shards=1,
            header=",".join(ATTRIBUTION_COLUMNS),
        )  # fmt: skip
    )
