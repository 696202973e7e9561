"""Annotations joined to the recordings they name: each annotated Recording carries its events
(as JSON, through the catalog file to the job); refused annotations become failures."""

from __future__ import annotations

import collections
import dataclasses
import json
import posixpath
from collections.abc import Iterable

from pipeline.annotations.events import Event, Table
from pipeline.annotations.windows import drop_duplicates
from pipeline.catalog import Recording
from pipeline.outcome import Outcome

COMPLETE_CHOICES = ("auto", "yes", "no")  # auto: Raven and Audacity tables are complete


@dataclasses.dataclass(frozen=True)
class Annotated:
    """What a recording's annotation tells the job: its events, and whether they are all."""

    events: list[Event]
    complete: bool

    def to_json(self) -> str:
        return json.dumps({"complete": self.complete,
                           "events": [dataclasses.astuple(e) for e in self.events]})  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> Annotated:
        values = json.loads(text)
        names = [field.name for field in dataclasses.fields(Event)]
        events = [
            Event(**{**dict(zip(names, fields, strict=True)), "labels": tuple(fields[3])})
            for fields in values["events"]
        ]
        return cls(events, values["complete"])


def _keys(relative: str) -> list[str]:
    """Names a table may give a recording by: its path, its file name, either without extension."""
    name = posixpath.basename(relative)
    return [relative, posixpath.splitext(relative)[0], name, posixpath.splitext(name)[0]]


def resolve_files(named: Iterable[str], relative_paths: Iterable[str]) -> dict[str, str]:
    """{name a table gives: relative path of the audio file} for every name that matches one
    file by path, path without extension, file name or file name without extension."""
    candidates: dict[str, set[str]] = collections.defaultdict(set)
    for relative in relative_paths:
        for key in _keys(relative):
            candidates[key].add(relative)
    resolved = {}
    for name in named:
        for key in _keys(name.replace("\\", "/").lstrip("./")):
            if len(candidates.get(key, ())) == 1:
                resolved[name] = next(iter(candidates[key]))
                break
    return resolved


def _failure(rejected: Outcome, file: str | None = None) -> Outcome:
    return dataclasses.replace(rejected, file=file) if file else rejected


def annotations_by_file(
    tables: list[Table],
    relative_paths: Iterable[str],
    complete: str,
    species: set[str] | None,
) -> tuple[dict[str, Annotated], list[Outcome]]:
    """({relative path: its Annotated}, failures) of every table: events naming no audio file,
    with labels outside `species` (None: any), or duplicating another are refused."""
    named = [file for table in tables for file in table.files]
    resolved = resolve_files(named, relative_paths)
    events: dict[str, list[Event]] = collections.defaultdict(list)
    completes: dict[str, bool] = {}
    failures: list[Outcome] = []
    for table in tables:
        failures += [_failure(r, resolved.get(r.file)) for r in table.rejected]
        for file in table.files:
            if file in resolved:
                is_complete = complete == "yes" or (complete == "auto" and table.complete)
                completes[resolved[file]] = completes.get(resolved[file], True) and is_complete
            else:
                failures.append(Outcome(
                    file=file, reason="annotation_unknown_file",
                    detail=f"{table.path}: names a recording not found under --input",
                ))  # fmt: skip
        for event in table.events:
            if event.file not in resolved:
                continue
            labels = tuple(label for label in event.labels if species is None or label in species)
            failures += [Outcome(file=resolved[event.file], reason="annotation_unknown_label",
                                 detail=f"{event.where}: {label!r} is not in the species list")
                         for label in event.labels if label not in labels]  # fmt: skip
            if labels:
                events[resolved[event.file]].append(
                    dataclasses.replace(event, file=resolved[event.file], labels=labels)
                )
    annotated = {}
    for file in completes:
        kept, duplicates = drop_duplicates(events.get(file, []))
        failures += [_failure(r) for r in duplicates]
        annotated[file] = Annotated(kept, completes[file])
    return annotated, failures


def dominant_label(annotated: Annotated, background_label: str) -> str:
    """The label of most events of a recording (ties by name), for stratifying splits;
    `background_label` for a recording with none."""
    counts = collections.Counter(
        label for e in annotated.events if not e.secondary for label in e.labels
    )
    return min(counts, key=lambda label: (-counts[label], label)) if counts else background_label


def label_order(annotated: Iterable[Annotated]) -> list[str]:
    """Labels of the events, most recordings first, ties by name."""
    counts = collections.Counter(
        label for a in annotated for label in {label for e in a.events for label in e.labels}
    )
    return sorted(counts, key=lambda label: (-counts[label], label))


def with_annotations(recording: Recording, annotated: Annotated | None) -> Recording:
    """The recording carrying its annotation, if it has one."""
    return dataclasses.replace(recording, events=annotated.to_json()) if annotated else recording


def has_background(recording: Recording) -> bool:
    """Whether a recording's annotation is complete, so it may give background windows."""
    return bool(recording.events) and Annotated.from_json(recording.events).complete
