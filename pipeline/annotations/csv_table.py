"""Annotation CSVs: file, start, end, label(s) and an optional frequency band per row, under
the column names of Perch, Raven exports and plain spreadsheets."""

from __future__ import annotations

import csv
import io
import re

from pipeline.annotations.events import AnnotationError, Event, Table, event_or_rejection
from pipeline.outcome import Outcome

FILE_COLUMNS = (
    "file",
    "filename",
    "fid",
    "file_name",
    "file-name",
    "path",
    "begin file",
    "recording",
)
START_COLUMNS = ("start", "start_time_s", "begin time (s)", "start time (s)", "start_s", "begin")
END_COLUMNS = ("end", "end_time_s", "end time (s)", "end_s")
LABEL_COLUMNS = ("label", "labels", "species", "ebird_codes", "species ebird code", "annotation",
                 "class")  # fmt: skip
LOW_COLUMNS = ("low freq (hz)", "low_hz", "low_freq", "frequency_low", "low")
HIGH_COLUMNS = ("high freq (hz)", "high_hz", "high_freq", "frequency_high", "high")
_SEPARATORS = re.compile(r"[;,|]")


def _column(columns: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((columns[n] for n in names if n in columns), None)


def read_csv(path: str, text: str, chosen_label: str | None = None) -> Table:
    """A CSV's events; several labels in one cell are separated by `;`, `,` or `|`. A CSV is not
    taken as complete: it names only the recordings of its rows."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = {c.strip().lower(): c for c in reader.fieldnames or [] if c}
    found = {kind: _column(columns, names) for kind, names in (
        ("file", FILE_COLUMNS), ("start", START_COLUMNS), ("end", END_COLUMNS),
        ("label", (chosen_label.lower(),) if chosen_label else LABEL_COLUMNS),
        ("low", LOW_COLUMNS), ("high", HIGH_COLUMNS),
    )}  # fmt: skip
    missing = [kind for kind in ("file", "start", "end", "label") if not found[kind]]
    if missing:
        raise AnnotationError(f"{path}: no {' or '.join(missing)} column in an annotation CSV "
                              f"(columns: {', '.join(columns.values())})")  # fmt: skip
    events: list[Event] = []
    rejected: list[Outcome] = []
    files: list[str] = []
    for line, row in enumerate(reader, start=2):

        def value(kind: str, row=row) -> str:
            return (row.get(found[kind]) or "").strip() if found[kind] else ""

        file = value("file").replace("\\", "/")
        if file not in files:
            files.append(file)
        labels = tuple(label.strip() for label in _SEPARATORS.split(value("label")))
        result = event_or_rejection(file, value("start"), value("end"), labels, f"{path}:{line}",
                                    value("low"), value("high"))  # fmt: skip
        (events if isinstance(result, Event) else rejected).append(result)
    return Table(path=path, events=events, rejected=rejected, files=files, complete=False)
