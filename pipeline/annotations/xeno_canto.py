"""The `annotation-set` of xeno-canto API v3 pages: events of each recording, by its file."""

from __future__ import annotations

import json

from pipeline.annotations.events import AnnotationError, Event, Table, event_or_rejection
from pipeline.columns import XC_EPITHET, XC_FILE_NAME, XC_GENUS, XC_ID, XC_SPECIES
from pipeline.outcome import Outcome

ANNOTATION_SET = "annotation-set"
ALSO = "also"


def _first(entry: dict, *names: str) -> str:
    return next((str(entry[n]).strip() for n in names if entry.get(n) not in (None, "")), "")


def read_xeno_canto(path: str, text: str, secondary: bool = False) -> Table:
    """Events of the `annotation-set` of every recording of one API page (or a list of
    records). Scientific names are given as the page's English names (the catalog's species);
    with `secondary`, a record's `also` species become secondary labels of the whole
    recording."""
    try:
        page = json.loads(text)
    except json.JSONDecodeError as error:
        raise AnnotationError(f"{path}: not valid JSON ({error})") from None
    records = page.get("recordings", page) if isinstance(page, dict) else page
    if not isinstance(records, list):
        raise AnnotationError(f"{path}: no list of recordings")
    english = {
        f"{r.get(XC_GENUS, '')} {r.get(XC_EPITHET, '')}": r.get(XC_SPECIES, "")
        for r in records if r.get(XC_SPECIES)
    }  # fmt: skip

    def name(label: str) -> str:
        return english.get(label, label)

    events: list[Event] = []
    rejected: list[Outcome] = []
    files: list[str] = []
    for number, record in enumerate(records):
        file = _first(record, XC_FILE_NAME) or f"XC{_first(record, XC_ID)}"
        annotations = record.get(ANNOTATION_SET) or []
        also = [name(s) for s in record.get(ALSO) or [] if s] if secondary else []
        if not annotations and not also:
            continue
        files.append(file)
        for index, entry in enumerate(annotations):
            label = name(_first(entry, "label", "scientific_name", "species"))
            found = event_or_rejection(
                file, _first(entry, "start_time", "start"), _first(entry, "end_time", "end"),
                (label,), f"{path}:recording {number} annotation {index}",
                _first(entry, "frequency_low", "low"), _first(entry, "frequency_high", "high"),
            )  # fmt: skip
            (events if isinstance(found, Event) else rejected).append(found)
        if also:
            events.append(
                Event(
                    file=file,
                    start=0.0,
                    end=float("inf"),
                    labels=tuple(also),
                    where=f"{path}:{ALSO}",
                    secondary=True,
                )
            )
    return Table(path=path, events=events, rejected=rejected, files=files, complete=False)
