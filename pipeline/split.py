"""Deterministic, per-species split of recordings into train, validation and test."""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Iterable

from schemas import SPLITS

SPLIT_RULE = (
    "per species, recordings ordered by sha256(seed:recording_id); the first round(n*test) go "
    "to test, the next round(n*validation) to validation, the rest to train; a species with "
    ">= 3 recordings gets at least one in each split of non-zero fraction"
)


def _split_sizes(count: int, fractions: dict[str, float]) -> dict[str, int]:
    sizes = {split: round(count * fractions[split]) for split in ("test", "validation")}
    if count >= 3:
        sizes = {s: max(n, 1) if fractions[s] > 0 else n for s, n in sizes.items()}
    while sum(sizes.values()) > count - (fractions["train"] > 0) and any(sizes.values()):
        largest = max(sizes, key=lambda s: (sizes[s], s))
        sizes[largest] -= 1
    sizes["train"] = count - sizes["test"] - sizes["validation"]
    return sizes


def assign_splits(
    recordings: Iterable[tuple[str, str]], fractions: dict[str, float], seed: int
) -> dict[str, str]:
    """Maps each recording id to its split, given (recording_id, species) pairs.

    Depends only on the seed and the set of recording ids of each species, never on order.
    """
    by_species: dict[str, list[str]] = collections.defaultdict(list)
    for recording_id, species in recordings:
        by_species[species].append(recording_id)
    assignment = {}
    for ids in by_species.values():
        ordered = sorted(ids, key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())
        sizes = _split_sizes(len(ordered), fractions)
        position = 0
        for split in ("test", "validation", "train"):
            for recording_id in ordered[position : position + sizes[split]]:
                assignment[recording_id] = split
            position += sizes[split]
    assert set(assignment.values()) <= set(SPLITS)
    return assignment


GROUP_SPLIT_RULE = (
    "groups in place of recordings: each group (--group-by) takes the species of most of its "
    "recordings (ties by name) and is split by the rule above with its name as the id; every "
    "recording goes with its group"
)


def assign_group_splits(
    recordings: Iterable[tuple[str, str, str]], fractions: dict[str, float], seed: int
) -> dict[str, str]:
    """Maps each recording id to its group's split, given (recording_id, species, group)
    triples; every recording of a group gets the same split. Independent of order."""
    members: dict[str, list[str]] = collections.defaultdict(list)
    species: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for recording_id, name, group in recordings:
        members[group].append(recording_id)
        species[group][name] += 1
    group_species = [
        (group, min(counts, key=lambda s, c=counts: (-c[s], s)))
        for group, counts in species.items()
    ]
    of_group = assign_splits(group_species, fractions, seed)
    return {r: of_group[group] for group, ids in members.items() for r in ids}
