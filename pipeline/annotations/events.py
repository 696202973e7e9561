"""What every annotation format is read into: events with their recording, times and labels."""

from __future__ import annotations

import dataclasses

from pipeline.outcome import Outcome


class AnnotationError(ValueError):
    """A table that cannot be read at all: one line naming the file and why."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    """One annotated sound: where it is in its recording, what it is, where it was written."""

    file: str  # the recording as the table names it (a path, a name, or a name without extension)
    start: float  # seconds
    end: float
    labels: tuple[str, ...]
    low_hz: float = 0.0  # 0, 0: no frequency band given
    high_hz: float = 0.0
    where: str = ""  # "table:line", for failure lines
    secondary: bool = False  # labels of the whole recording (xeno-canto's `also`), no window


@dataclasses.dataclass(kw_only=True)
class Table:
    """What one annotation file holds: its events, the lines it refused, and the recordings it
    annotates (also those with no event), completely or not (then unannotated stretches are
    unknown, never background)."""

    path: str
    events: list[Event]
    rejected: list[Outcome]
    files: list[str]
    complete: bool


def event_or_rejection(
    file: str, start: str | float, end: str | float, labels: tuple[str, ...], where: str,
    low: str | float = "", high: str | float = "",
) -> Event | Outcome:  # fmt: skip
    """The Event of one table line, or why it gives none (end before start, no label)."""
    try:
        begin, finish = float(start), float(end)
        band = sorted(float(v) if str(v).strip() else 0.0 for v in (low, high))
    except ValueError:
        return Outcome(
            file=file,
            reason="annotation_unreadable",
            detail=f"{where}: a time or frequency is not a number",
        )
    if finish < begin:
        return Outcome(file=file, reason="annotation_end_before_start", detail=f"{where}: ends at {finish:g} s, before its start {begin:g} s")  # fmt: skip
    if begin < 0:
        return Outcome(
            file=file,
            reason="annotation_unreadable",
            detail=f"{where}: starts before 0 s ({begin:g})",
        )
    labels = tuple(label for label in labels if label)
    if not labels:
        return Outcome(file=file, reason="annotation_unreadable", detail=f"{where}: no label")
    return Event(
        file=file, start=begin, end=finish, labels=labels, low_hz=band[0], high_hz=band[1],
        where=where,
    )  # fmt: skip
