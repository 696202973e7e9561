"""Raven Pro selection tables: tab-separated, one selection per row, a label column."""

from __future__ import annotations

import csv
import io
import posixpath
import re

from pipeline.annotations.events import AnnotationError, Event, Table, event_or_rejection
from pipeline.outcome import Outcome

LABEL_COLUMNS = ("Species", "Annotation", "label", "class")
FILE_COLUMNS = ("Begin File", "Begin Path", "File", "Filename")
_TABLE_SUFFIX = re.compile(r"(\.Table\.\d+)?(\.selections)?\.txt$", re.IGNORECASE)


def is_raven(text: str) -> bool:
    """Whether a text file's header is a selection table's."""
    header = text.split("\n", 1)[0]
    return "\t" in header and "Begin Time (s)" in header


def recording_of_table(path: str) -> str:
    """The recording a single-file table annotates: its name without `.Table.1.selections.txt`."""
    return _TABLE_SUFFIX.sub("", posixpath.basename(path))


def label_column(columns: list[str], chosen: str | None, path: str) -> str:
    """The column holding labels: `chosen`, else the first of LABEL_COLUMNS (any case)."""
    lower = {c.lower(): c for c in columns}
    for name in [chosen] if chosen else LABEL_COLUMNS:
        if name.lower() in lower:
            return lower[name.lower()]
    wanted = f"--label-column {chosen!r}" if chosen else f"one of {', '.join(LABEL_COLUMNS)}"
    raise AnnotationError(f"{path}: no label column ({wanted}); columns are {', '.join(columns)}")


def read_raven(path: str, text: str, chosen_label: str | None = None) -> Table:
    """A selection table's events; a `Begin File` column names each row's recording, else the
    table's name does. Waveform rows repeating a Spectrogram selection are skipped."""
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    columns = [c.strip() for c in reader.fieldnames or [] if c and c.strip()]
    missing = {"Begin Time (s)", "End Time (s)"} - set(columns)
    if missing:
        raise AnnotationError(
            f"{path}: not a Raven selection table (no {', '.join(sorted(missing))})"
        )
    label = label_column(columns, chosen_label, path)
    file_column = next((c for c in FILE_COLUMNS if c in columns), None)
    own = recording_of_table(path)
    events: list[Event] = []
    rejected: list[Outcome] = []
    files = [] if file_column else [own]
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k}
        if row.get("View", "Spectrogram").lower().startswith("waveform"):
            continue
        file = posixpath.basename(row[file_column].replace("\\", "/")) if file_column else own
        if file not in files:
            files.append(file)
        found = event_or_rejection(
            file, row["Begin Time (s)"], row["End Time (s)"], (row.get(label, ""),),
            f"{path}:{line}", row.get("Low Freq (Hz)", ""), row.get("High Freq (Hz)", ""),
        )  # fmt: skip
        (events if isinstance(found, Event) else rejected).append(found)
    return Table(path=path, events=events, rejected=rejected, files=files, complete=True)
