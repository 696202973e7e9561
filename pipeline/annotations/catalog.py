"""The catalog of a build with --annotations: annotated recordings under --input, or the
recordings of another layout with the annotations of those a table names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.annotations.options import GROUPS, group_of
from pipeline.annotations.reading import read_annotations
from pipeline.annotations.recordings import (
    annotations_by_file,
    dominant_label,
    has_background,
    label_order,
    with_annotations,
)
from pipeline.catalog import (
    BACKGROUND_FILE,
    Catalog,
    CatalogError,
    Recording,
    Selections,
    _relative,
    build_catalog,
    list_audio_files,
)
from pipeline.outcome import Outcome
from pipeline.split import assign_group_splits, assign_splits
from schemas import BACKGROUND_LABEL

if TYPE_CHECKING:
    from pipeline.options import BuildOptions


def read_species(path: str) -> set[str]:
    """The species list of a text file, one name a line (a labels.txt)."""
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(path, compression_type="uncompressed") as f:
        return {line.strip() for line in f.read().decode("utf-8-sig").splitlines() if line.strip()}


def annotated_catalog(
    input_path: str,
    layout: str,
    metadata_path: str | None,
    selections: Selections,
    annotations: str,
    *,
    label_column: str | None = None,
    complete: str = "auto",
    secondary_labels: bool = False,
    species_file: str | None = None,
    group_column: str = "",
    background_label: str,
) -> Catalog:
    """The catalog with every recording's annotation. In the annotations layout, the audio
    files the tables name are the recordings (their species: their most frequent label) and
    the others, and those left without an event of an incomplete table, fail as not annotated; in another layout, the annotations join its recordings
    and their labels must be among its species."""
    tables = read_annotations(annotations, label_column, secondary_labels)
    species = read_species(species_file) if species_file else None
    if layout != "annotations":
        catalog = build_catalog(input_path, layout, metadata_path, selections, group_column)
        by_file = {r.source_file: r for r in catalog.recordings}
        allowed = set(catalog.labels) & species if species else set(catalog.labels)
        annotated, failures = annotations_by_file(tables, by_file, complete, allowed)
        catalog.recordings = [with_annotations(r, annotated.get(r.source_file))
                              for r in catalog.recordings]  # fmt: skip
        catalog.failures += failures
        return catalog
    root, paths = list_audio_files(input_path)
    relative = {_relative(root, path): path for path in paths}
    annotated, failures = annotations_by_file(tables, relative, complete, species)
    empty = [
        n for n, a in annotated.items() if not a.complete and all(e.secondary for e in a.events)
    ]
    failures += [Outcome(file=name, reason="not_annotated", detail="no event of its annotations "
                         "is left (see their lines), and they are not complete") for name in empty]  # fmt: skip
    annotated = {name: a for name, a in annotated.items() if name not in empty}
    recordings = [
        with_annotations(
            Recording(
                recording_id=name,
                path=relative[name],
                source_file=name,
                species=dominant_label(annotated[name], background_label),
                size_bytes=paths[relative[name]],
            ),
            annotated[name],
        )  # fmt: skip
        for name in relative
        if name in annotated
    ]
    failures += [Outcome(file=name, reason="not_annotated",
                         detail="found under --input, named by no annotation table")
                 for name in relative if name not in annotated and name not in empty]  # fmt: skip
    labels = label_order(annotated.values())
    if not recordings:
        raise CatalogError(
            f"{annotations}: the annotations name none of the recordings under {input_path}"
        )
    return Catalog(
        recordings=recordings,
        failures=failures,
        labels=labels,
        input_files=len(relative),
        kept_types={},
    )


def catalog_of(opts: BuildOptions) -> Catalog:
    """The launcher's catalog: of the layout, with the annotations of --annotations."""
    group_column = "" if opts.group_by in GROUPS else opts.group_by
    if not opts.annotations.path:
        return build_catalog(opts.input, opts.layout, opts.metadata, opts.selections, group_column)
    annotations = opts.annotations
    return annotated_catalog(
        opts.input, opts.layout, opts.metadata, opts.selections, annotations.path,
        label_column=annotations.label_column, complete=annotations.complete,
        secondary_labels=annotations.secondary_labels != "ignore", species_file=annotations.species,
        group_column=group_column, background_label=BACKGROUND_LABEL,
    )  # fmt: skip


def with_background_windows(catalog: Catalog) -> None:
    """Adds BACKGROUND_LABEL to the labels when complete annotations give background windows."""
    if BACKGROUND_LABEL not in catalog.labels and any(map(has_background, catalog.recordings)):
        catalog.labels.append(BACKGROUND_LABEL)


def splits_of(catalog: Catalog, opts: BuildOptions) -> dict[str, str]:
    """{recording id: split}: by recording, or by the groups of --group-by; --background-from
    files by file, as a species of their own (they never change the species' split)."""
    species = [r for r in catalog.recordings if r.kind != BACKGROUND_FILE]
    background = (
        (r.recording_id, r.species) for r in catalog.recordings if r.kind == BACKGROUND_FILE
    )
    splits = assign_splits(background, opts.fractions, opts.seed)
    if opts.group_by == "recording":
        pairs = ((r.recording_id, r.species) for r in species)
        return {**splits, **assign_splits(pairs, opts.fractions, opts.seed)}
    triples = ((r.recording_id, r.species, group_of(r, opts.group_by)) for r in species)
    return {**splits, **assign_group_splits(triples, opts.fractions, opts.seed)}
