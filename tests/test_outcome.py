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
