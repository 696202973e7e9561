"""The split by recording: deterministic, independent of order, every species in every split;
and by group (--group-by): every group in one split."""

from __future__ import annotations

import numpy as np

from pipeline.split import assign_group_splits, assign_splits


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


def test_group_splits_keep_groups_together_for_any_seed_and_order():
    rng = np.random.default_rng(0)
    triples = [(f"r{i}", f"species{i % 3}", f"site{rng.integers(12)}") for i in range(60)]
    for seed in range(5):
        splits = assign_group_splits(triples, {"train": 0.6, "validation": 0.2, "test": 0.2}, seed)
        shuffled = [triples[i] for i in rng.permutation(len(triples))]
        assert splits == assign_group_splits(
            shuffled, {"train": 0.6, "validation": 0.2, "test": 0.2}, seed
        )
        of_group: dict[str, set[str]] = {}
        for recording_id, _, group in triples:
            of_group.setdefault(group, set()).add(splits[recording_id])
        assert all(len(s) == 1 for s in of_group.values())
        assert set(splits.values()) == {"train", "validation", "test"}
