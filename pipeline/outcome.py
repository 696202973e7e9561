"""What became of each input file, defined once: the typed Outcome that the catalog (for files it
refuses) and the workers (for files they decode) give, and the Tally of outcomes from which
dataset.json's counts come (the job's Beam counters and failures.jsonl come from outcomes too)."""

from __future__ import annotations

import collections
import dataclasses
import json

from frontend.audio import SALVAGE
from schemas import SPLITS, Counts, SpeciesCounts

# The reason of a metadata row whose file is not there (the catalog's), counted on its own.
MISSING_FILE = "missing_file"
# Failure reasons that are deliberate choices of the user rather than bad input.
SELECTION_REASONS = ("filtered_type", "filtered_min_recordings", "filtered_top_species")
# Failure reasons of single annotations (the recording they name still gives its other windows).
ANNOTATION_REASONS = (
    "annotation_beyond_end",
    "annotation_end_before_start",
    "annotation_unknown_file",
    "annotation_unknown_label",
    "annotation_duplicate",
    "annotation_unreadable",
)
# Reasons that refuse one annotation, not its file (ANNOTATION_REASONS): neither a failed file
# nor counted against --max-failure-fraction.
NOT_A_FILE = (MISSING_FILE, *ANNOTATION_REASONS)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Outcome:
    """One input file: the examples it gave (in `split`, of `species`, `background` of them
    "no bird" windows, read by `decoder`), or, when `reason` is set, why it gave none (or, for
    a reason of ANNOTATION_REASONS, why one of its annotations gave nothing).

    An annotated recording also gives its `events` (those with windows) and its examples per
    first label (`examples_per_label`, background included, in place of `species`) and windows
    per label (`windows_per_label`, every label of a window). A --background-from file
    (`background_file`) gives only `background` windows."""

    file: str
    split: str = ""
    species: str = ""
    examples: int = 0
    background: int = 0
    decoder: str = ""
    reason: str = ""
    detail: str = ""
    events: int = 0
    examples_per_label: dict[str, int] = dataclasses.field(default_factory=dict)
    windows_per_label: dict[str, int] = dataclasses.field(default_factory=dict)
    background_file: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.reason)

    def failure_line(self) -> str:
        """This failure as a line of failures.jsonl."""
        return json.dumps(
            {"file": self.file, "reason": self.reason, "detail": self.detail}, ensure_ascii=False
        )


@dataclasses.dataclass(kw_only=True)
class Tally:
    """Outcomes added up: recordings and examples per (split, label), failures per reason,
    recordings per decoder; of annotated recordings, events per split and windows per (split,
    label); of --background-from files, files and windows per split."""

    recordings: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    examples: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    failures: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    decoders: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    events: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    windows: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    background_files: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    background_windows: collections.Counter = dataclasses.field(default_factory=collections.Counter)

    def add(self, outcome: Outcome, background_label: str) -> None:
        if outcome.failed:
            self.failures[outcome.reason] += 1
            return
        split = outcome.split
        self.recordings[split, outcome.species] += 1
        if outcome.examples_per_label:  # annotated: examples by their first label
            for label, count in outcome.examples_per_label.items():
                self.examples[split, label] += count
        else:
            self.examples[split, outcome.species] += outcome.examples
            if outcome.background:
                self.examples[split, background_label] += outcome.background
        self.decoders[outcome.decoder] += 1
        if outcome.background_file:
            self.background_files[split] += 1
            self.background_windows[split] += outcome.background
        self.events[split] += outcome.events
        for label, count in outcome.windows_per_label.items():
            self.windows[split, label] += count

    def merge(self, other: Tally) -> None:
        for field in dataclasses.fields(self):
            getattr(self, field.name).update(getattr(other, field.name))

    def counts(self, labels: list[str], input_files: int) -> Counts:
        """dataset.json's counts: every label, split and reason named, zeros included."""

        def per_split(counter: collections.Counter, label: str) -> dict[str, int]:
            return {split: counter[split, label] for split in SPLITS}

        def total(counter: collections.Counter) -> dict[str, int]:
            return {
                split: sum(n for (s, _), n in counter.items() if s == split) for split in SPLITS
            }

        failures = dict(sorted(self.failures.items()))
        return Counts(
            input_files=input_files,
            recordings=total(self.recordings),
            examples=total(self.examples),
            per_species={
                label: SpeciesCounts(
                    recordings=per_split(self.recordings, label),
                    examples=per_split(self.examples, label),
                )
                for label in labels
            },
            failures=failures,
            failed_files=sum(n for reason, n in failures.items() if reason not in NOT_A_FILE),
            metadata_rows_without_file=failures.get(MISSING_FILE, 0),
            recovered_with_ffmpeg=self.decoders[SALVAGE],
            decoders=dict(sorted(self.decoders.items())),
            events={split: self.events[split] for split in SPLITS},
            windows_per_label={label: per_split(self.windows, label) for label in labels}
            if self.windows
            else {},
            background_files={split: self.background_files[split] for split in SPLITS},
            background_windows={split: self.background_windows[split] for split in SPLITS},
        )
