"""Outcomes added up into dataset.json's counts: every label and split named, each file once."""

from __future__ import annotations

from pipeline.outcome import MISSING_FILE, Outcome, Tally
from schemas import BACKGROUND_LABEL


def test_a_tally_counts_recordings_examples_background_and_failures():
    tally, other = Tally(), Tally()
    tally.add(Outcome(file="a", split="train", species="A", examples=3, background=1,
                      decoder="soundfile"), BACKGROUND_LABEL)  # fmt: skip
    tally.add(Outcome(file="b", reason="silent", detail="no sound"), BACKGROUND_LABEL)
    other.add(Outcome(file="c", split="test", species="A", examples=2, decoder="ffmpeg-salvage"),
              BACKGROUND_LABEL)  # fmt: skip
    other.add(Outcome(file="(row id 7)", reason=MISSING_FILE), BACKGROUND_LABEL)
    tally.merge(other)
    counts = tally.counts(["A", "B", BACKGROUND_LABEL], input_files=3)
    assert counts.recordings == {"train": 1, "validation": 0, "test": 1}
    assert counts.examples == {"train": 4, "validation": 0, "test": 2}
    assert counts.per_species["B"].examples == {"train": 0, "validation": 0, "test": 0}
    assert counts.split_examples("train", BACKGROUND_LABEL) == 1
    assert counts.failures == {MISSING_FILE: 1, "silent": 1}
    assert (counts.failed_files, counts.metadata_rows_without_file) == (1, 1)
    assert counts.recovered_with_ffmpeg == 1
    assert counts.decoders == {"ffmpeg-salvage": 1, "soundfile": 1}


def test_annotated_outcomes_count_examples_by_first_label_events_and_windows():
    tally = Tally()
    tally.add(Outcome(file="a", split="train", species="A", examples=2, background=1,
                      decoder="soundfile", events=3,
                      examples_per_label={"A": 1, "B": 1, BACKGROUND_LABEL: 1},
                      windows_per_label={"A": 2, "B": 1, BACKGROUND_LABEL: 1}), BACKGROUND_LABEL)  # fmt: skip
    tally.add(Outcome(file="a", reason="annotation_duplicate", detail="t.csv:3"), BACKGROUND_LABEL)
    counts = tally.counts(["A", "B", BACKGROUND_LABEL], input_files=1)
    assert counts.examples["train"] == 3 and counts.split_examples("train", "B") == 1
    assert counts.per_species["A"].recordings["train"] == 1  # the recording: its species
    assert counts.events == {"train": 3, "validation": 0, "test": 0}
    assert counts.windows_per_label["A"] == {"train": 2, "validation": 0, "test": 0}
    assert counts.failures == {"annotation_duplicate": 1} and counts.failed_files == 0


def test_without_annotations_there_are_no_windows_per_label():
    tally = Tally()
    tally.add(Outcome(file="a", split="train", species="A", examples=1), BACKGROUND_LABEL)
    counts = tally.counts(["A"], input_files=1)
    assert counts.windows_per_label == {} and counts.events["train"] == 0
