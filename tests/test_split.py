"""The split by recording: deterministic, independent of order, every species in every split."""

from __future__ import annotations

from pipeline.split import assign_splits


def test_split_is_deterministic_and_independent_of_order():
    pairs = [(f"rec{i}", "A" if i % 2 else "B") for i in range(40)]
    fractions = {"train": 0.7, "validation": 0.15, "test": 0.15}
    first = assign_splits(pairs, fractions, seed=7)
    assert first == assign_splits(list(reversed(pairs)), fractions, seed=7)
    assert first != assign_splits(pairs, fractions, seed=8)
    tiny = assign_splits([("x", "C"), ("y", "C"), ("z", "C")], fractions, seed=0)
    assert sorted(tiny.values()) == ["test", "train", "validation"]


def test_every_recording_of_a_species_goes_to_exactly_one_split_in_proportion():
    pairs = [(f"{species}{i}", species) for species in "ABC" for i in range(20)]
    fractions = {"train": 0.6, "validation": 0.2, "test": 0.2}
    assignment = assign_splits(pairs, fractions, seed=0)
    assert set(assignment) == {recording_id for recording_id, _ in pairs}
    for species in "ABC":
        splits = [assignment[f"{species}{i}"] for i in range(20)]
        assert (splits.count("train"), splits.count("validation"), splits.count("test")) == (
            12,
            4,
            4,
        )
