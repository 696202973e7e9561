"""Writers of predict's rows to a file, each finished file's rows appended and flushed so that a
long run keeps its work: CSV and JSON Lines hold every row; a Raven selection table holds one
selection per file and window row with its top species."""

from __future__ import annotations

import csv
import json
from typing import Any, TextIO

from schemas import SpectrogramParams
from trainer.prediction.rows import columns

FORMATS = ("csv", "json", "raven")
FORMAT_OF_SUFFIX = {".csv": "csv", ".json": "json", ".jsonl": "json", ".txt": "raven"}
RAVEN_COLUMNS = (
    "Selection",
    "View",
    "Channel",
    "Begin Time (s)",
    "End Time (s)",
    "Low Freq (Hz)",
    "High Freq (Hz)",
    "Species",
    "Score",
    "Begin Path",
)


class CsvWriter:
    """Every row, with a header line, in the columns of `rows.columns`."""

    def __init__(self, stream: TextIO, top_k: int) -> None:
        self._stream = stream
        self._table = csv.DictWriter(stream, columns(top_k))
        self._table.writeheader()

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Appends the rows of one file."""
        self._table.writerows(rows)
        self._stream.flush()


class JsonLinesWriter:
    """Every row as one JSON object a line."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Appends the rows of one file."""
        self._stream.write("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
        self._stream.flush()


class RavenWriter:
    """A Raven selection table (tab-separated): a selection per file and window row over the whole
    frequency range, with its top species and score; other rows (failed files) are left out."""

    def __init__(self, stream: TextIO, params: SpectrogramParams) -> None:
        self._stream = stream
        self._nyquist = params.sample_rate / 2
        self._selections = 0
        self._table = csv.DictWriter(stream, RAVEN_COLUMNS, delimiter="\t", lineterminator="\n")
        self._table.writeheader()

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Appends the selections of one file."""
        for row in rows:
            if row["kind"] in ("file", "window"):
                self._selections += 1
                self._table.writerow(self._selection(row))
        self._stream.flush()

    def _selection(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "Selection": self._selections,
            "View": "Spectrogram 1",
            "Channel": 1,
            "Begin Time (s)": row["start_s"],
            "End Time (s)": row["end_s"],
            "Low Freq (Hz)": 0.0,
            "High Freq (Hz)": self._nyquist,
            "Species": row["species_1"],
            "Score": row["score_1"],
            "Begin Path": row["file"],
        }


def result_writer(
    stream: TextIO, output_format: str, top_k: int, params: SpectrogramParams
) -> CsvWriter | JsonLinesWriter | RavenWriter:
    """The writer of `output_format` (one of FORMATS) on `stream`."""
    if output_format == "csv":
        return CsvWriter(stream, top_k)
    if output_format == "json":
        return JsonLinesWriter(stream)
    return RavenWriter(stream, params)
