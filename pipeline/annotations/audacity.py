"""Audacity label tracks: `start<TAB>end<TAB>label` lines, each optionally followed by a
`\\<TAB>low_hz<TAB>high_hz` line (the spectral selection)."""

from __future__ import annotations

import posixpath

from pipeline.annotations.events import AnnotationError, Event, Table, event_or_rejection
from pipeline.outcome import Outcome


def is_audacity(text: str) -> bool:
    """Whether a text file's first line is a label's: two numbers and a label, tab-separated."""
    fields = text.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r").split("\t")
    try:
        float(fields[0]), float(fields[1])
    except (ValueError, IndexError):
        return False
    return True


def read_audacity(path: str, text: str) -> Table:
    """A label track's events; the recording is the track's name without its extension."""
    file = posixpath.splitext(posixpath.basename(path))[0]
    pending: list[list[str]] = []  # [start, end, label, where, low, high]
    for line, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        fields = raw.split("\t")
        if not raw.strip():
            continue
        if fields[0] == "\\":
            if not pending or len(fields) < 3:
                raise AnnotationError(f"{path}:{line}: a frequency line without its label line")
            pending[-1][4:6] = fields[1:3]
        elif len(fields) >= 2:
            label = fields[2].strip() if len(fields) > 2 else ""
            pending.append([fields[0], fields[1], label, f"{path}:{line}", "", ""])
        else:
            raise AnnotationError(f"{path}:{line}: not an Audacity label line: {raw[:60]!r}")
    events: list[Event] = []
    rejected: list[Outcome] = []
    for start, end, label, where, low, high in pending:
        found = event_or_rejection(file, start, end, (label,), where, low, high)
        (events if isinstance(found, Event) else rejected).append(found)
    return Table(path=path, events=events, rejected=rejected, files=[file], complete=True)
