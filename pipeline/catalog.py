"""Finding recordings and their species in the three input layouts, and applying selections."""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
import json
import posixpath
import re
from collections.abc import Iterable

from apache_beam.io.filesystems import FileSystems

from frontend.audio import AUDIO_EXTENSIONS
from pipeline.columns import (
    DATE_COLUMNS,
    FILE_COLUMNS,
    ID_COLUMNS,
    LICENSE_COLUMNS,
    QUALITY_COLUMNS,
    RECORDIST_COLUMNS,
    SITE_COLUMNS,
    SPECIES_COLUMNS,
    TYPE_COLUMNS,
    URL_COLUMNS,
    XC_EPITHET,
    XC_GENUS,
)
from pipeline.outcome import MISSING_FILE, Outcome

LAYOUTS = ("folders", "csv", "master-set", "annotations")
BACKGROUND_FILE = "background"  # a Recording's kind: a --background-from file
LABEL_ORDER_RULE = "most recordings first (after selections), ties by species name"

_XC_FILE_NAME = re.compile(r"^XC(\d+)\.[A-Za-z0-9]+$", re.IGNORECASE)
_MASTER_SET_NAME = re.compile(
    r"^(?P<species>.+?) (?P<number>\d+) (?P<state>[A-Z]{2}) (?P<type>[^.]+)\.[A-Za-z0-9]+$"
)


class CatalogError(ValueError):
    """An input that makes the whole job meaningless (no files, unusable metadata)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Recording:
    """One input recording and what is known of it before decoding."""

    recording_id: str
    path: str
    source_file: str
    species: str
    sound_type: str = ""
    license: str = ""
    quality: str = ""
    size_bytes: int = 0
    recordist: str = ""
    url: str = ""
    site: str = ""
    date: str = ""
    group: str = ""  # the value of --group-by COLUMN
    events: str = ""  # JSON of its annotation (pipeline.annotations.recordings.Annotated)
    kind: str = ""  # BACKGROUND_FILE: every window of it is background; "": a species' recording


@dataclasses.dataclass(frozen=True)
class Selections:
    """Which recordings and species to keep (the seed: songs, >= 6 recordings, top 48 species)."""

    types: tuple[str, ...] = ("song",)
    min_recordings: int = 6
    top_species: int = 48


@dataclasses.dataclass(kw_only=True)
class Catalog:
    """Recordings kept, input files refused or filtered out, and the label order."""

    recordings: list[Recording]
    failures: list[Outcome]
    labels: list[str]
    input_files: int
    kept_types: dict[str, int]


def _root_and_pattern(input_path: str) -> tuple[str, str]:
    """(root, glob) of a folder, a glob or one audio file."""
    if input_path.lower().endswith(AUDIO_EXTENSIONS) and not any(c in input_path for c in "*?["):
        return input_path.rsplit("/", 1)[0], input_path
    if any(char in input_path for char in "*?["):
        root = input_path[: min(input_path.index(c) for c in "*?[" if c in input_path)]
        return root.rsplit("/", 1)[0], input_path
    root = input_path.rstrip("/")
    return root, f"{root}/**"


def list_audio_files(input_path: str) -> tuple[str, dict[str, int]]:
    """(root, {audio file path: size in bytes}, sorted by path) of a folder, a glob or one
    audio file, on any Beam filesystem."""
    root, pattern = _root_and_pattern(input_path)
    metadata = FileSystems.match([pattern])[0].metadata_list
    sizes = {m.path: m.size_in_bytes for m in metadata if m.path.lower().endswith(AUDIO_EXTENSIONS)}
    if not sizes:
        raise CatalogError(f"{input_path}: no audio files found ({', '.join(AUDIO_EXTENSIONS)})")
    return root, dict(sorted(sizes.items()))


def _relative(root: str, path: str) -> str:
    return posixpath.relpath(path.replace("\\", "/"), root.replace("\\", "/")) if root else path


def _first(row: dict[str, str], columns: Iterable[str]) -> str:
    return next((row[c].strip() for c in columns if row.get(c) and row[c].strip()), "")


def read_metadata(path: str) -> list[dict[str, str]]:
    """Rows of a metadata CSV, or of the JSON pages xeno-canto's API returns (glob allowed)."""
    matches = FileSystems.match([path])[0].metadata_list
    if not matches:
        raise CatalogError(f"{path}: metadata file not found")
    rows: list[dict[str, str]] = []
    for match in sorted(matches, key=lambda m: m.path):
        with FileSystems.open(match.path, compression_type="uncompressed") as f:
            text = f.read().decode("utf-8-sig")
        if match.path.lower().endswith(".json"):
            try:
                page = json.loads(text)
            except json.JSONDecodeError as error:
                raise CatalogError(f"{match.path}: not valid JSON ({error})") from None
            records = page.get("recordings", page) if isinstance(page, dict) else page
            rows += [{k: "" if v is None else str(v) for k, v in r.items()} for r in records]
        else:
            rows += list(csv.DictReader(io.StringIO(text)))
    return rows


def _check_columns(rows: list[dict[str, str]], path: str) -> None:
    columns = set(rows[0]) if rows else set()
    if not rows:
        raise CatalogError(f"{path}: the metadata has no rows")
    if not columns & set(FILE_COLUMNS):
        raise CatalogError(f"{path}: no file column (one of {', '.join(FILE_COLUMNS)})")
    if not columns & set(SPECIES_COLUMNS) and not {XC_GENUS, XC_EPITHET} <= columns:
        raise CatalogError(f"{path}: no species column (species, en, or gen and sp)")


def _species_of(row: dict[str, str], columns: set[str]) -> str:
    """The species of a row, from the first species column the file has (blank: unknown)."""
    column = next((c for c in SPECIES_COLUMNS if c in columns), None)
    if column:
        return row.get(column, "").strip()
    genus, epithet = row.get(XC_GENUS, "").strip(), row.get(XC_EPITHET, "").strip()
    return f"{genus} {epithet}" if genus and epithet else ""


def _files_by_xc_id(relative_paths: Iterable[str]) -> dict[str, str]:
    """{xeno-canto id: relative path} of files named `XC<id>.<ext>`, for API rows whose
    `file-name` is empty (restricted species)."""
    found = {}
    for relative in relative_paths:
        match = _XC_FILE_NAME.match(posixpath.basename(relative))
        if match:
            found.setdefault(match[1], relative)
    return found


def catalog_from_csv(
    input_path: str, metadata_path: str, group_column: str = ""
) -> tuple[list[Recording], list[Outcome], int]:
    """Recordings named by a metadata file; rows and files that do not match become failures.
    `group_column`: a column whose value is each recording's group."""
    rows = read_metadata(metadata_path)
    _check_columns(rows, metadata_path)
    root, paths = list_audio_files(input_path)
    by_relative = {_relative(root, p): p for p in paths}
    by_xc_id = _files_by_xc_id(by_relative)
    columns = set(rows[0])
    recordings, failures, seen_ids, used = [], [], set(), set()
    for row in rows:
        recording_id = _first(row, ID_COLUMNS)
        name = _first(row, FILE_COLUMNS) or by_xc_id.get(recording_id, "")
        recording_id = recording_id or name
        species = _species_of(row, columns)
        if not name:
            failures.append(
                Outcome(file=f"(row id {recording_id})", reason=MISSING_FILE, detail="no file name")
            )
        elif name not in by_relative:
            failures.append(
                Outcome(
                    file=name, reason=MISSING_FILE, detail="named in the metadata but not found"
                )
            )
        elif not species:
            failures.append(
                Outcome(file=name, reason="unknown_species", detail="species left blank")
            )
            used.add(name)
        elif recording_id in seen_ids or name in used:
            if name not in used:
                failures.append(
                    Outcome(
                        file=name,
                        reason="duplicate",
                        detail=f"recording id {recording_id} seen before",
                    )
                )
            used.add(name)
        else:
            seen_ids.add(recording_id)
            used.add(name)
            recordings.append(
                Recording(
                    recording_id=recording_id,
                    path=by_relative[name],
                    source_file=name,
                    species=species,
                    sound_type=_first(row, TYPE_COLUMNS),
                    license=_first(row, LICENSE_COLUMNS),
                    quality=_first(row, QUALITY_COLUMNS),
                    size_bytes=paths[by_relative[name]],
                    recordist=_first(row, RECORDIST_COLUMNS),
                    url=_first(row, URL_COLUMNS),
                    site=_first(row, SITE_COLUMNS),
                    date=_first(row, DATE_COLUMNS),
                    group=row.get(group_column, "").strip() if group_column else "",
                )
            )
    failures += [
        Outcome(
            file=name,
            reason="not_in_metadata",
            detail="found under --input, not named in the metadata",
        )
        for name in by_relative
        if name not in used
    ]
    return recordings, failures, len(by_relative)


def _species_folder(relative: str) -> tuple[str, str] | None:
    """(species, sound type) of `<species>/<file>`: the folder's name, no type."""
    parts = relative.split("/")
    return (parts[-2], "") if len(parts) >= 2 else None


def _master_set_name(relative: str) -> tuple[str, str] | None:
    """(species, sound type) of a Cornell Master Set name: `Acadian Flycatcher 2 MA Song.mp3`."""
    match = _MASTER_SET_NAME.match(posixpath.basename(relative))
    return (match["species"], match["type"].lower()) if match else None


_NAMING = {
    "folders": (_species_folder, "not inside a species folder"),
    "master-set": (_master_set_name, "name is not 'Species N ST Type'"),
}


def catalog_from_paths(input_path: str, layout: str) -> tuple[list[Recording], list[Outcome], int]:
    """Recordings whose species (and type) their path names, in the folders or master-set layout."""
    describe, refusal = _NAMING[layout]
    root, paths = list_audio_files(input_path)
    recordings, failures = [], []
    for path in paths:
        relative = _relative(root, path)
        described = describe(relative)
        if described is None:
            failures.append(Outcome(file=relative, reason="unknown_species", detail=refusal))
        else:
            species, sound_type = described
            recordings.append(
                Recording(
                    recording_id=relative,
                    path=path,
                    source_file=relative,
                    species=species,
                    sound_type=sound_type,
                    size_bytes=paths[path],
                )  # fmt: skip
            )
    return recordings, failures, len(paths)


def type_words(sound_type: str) -> set[str]:
    """Words of a free-text xeno-canto type field: 'call, song' and 'song?' hold 'song'."""
    return set(re.findall(r"[^\W\d_]+", sound_type.lower()))


def apply_selections(
    recordings: list[Recording], selections: Selections
) -> tuple[list[Recording], list[Outcome], list[str], dict[str, int]]:
    """(kept recordings, filtered-out failures, labels, kept type strings with counts).

    Recordings without a sound type (folder layout) pass the type selection.
    """
    wanted = {word.lower() for word in selections.types}
    failures = []
    typed = []
    for recording in recordings:
        if wanted and recording.sound_type and not wanted & type_words(recording.sound_type):
            failures.append(Outcome(file=recording.source_file, reason="filtered_type",
                                    detail=f"sound type {recording.sound_type!r} not in {sorted(wanted)}"))  # fmt: skip
        else:
            typed.append(recording)
    counts = collections.Counter(r.species for r in typed)
    ranked = sorted(counts, key=lambda species: (-counts[species], species))
    labels = [s for s in ranked if counts[s] >= selections.min_recordings]
    if selections.top_species:
        labels = labels[: selections.top_species]
    kept_species = set(labels)
    kept = []
    for recording in typed:
        if recording.species in kept_species:
            kept.append(recording)
        elif counts[recording.species] < selections.min_recordings:
            failures.append(Outcome(file=recording.source_file, reason="filtered_min_recordings",
                                    detail=f"{recording.species!r} has {counts[recording.species]} recordings, "
                                    f"fewer than {selections.min_recordings}"))  # fmt: skip
        else:
            failures.append(Outcome(file=recording.source_file, reason="filtered_top_species",
                                    detail=f"{recording.species!r} is not among the top "
                                    f"{selections.top_species} species"))  # fmt: skip
    kept_types = collections.Counter(r.sound_type for r in kept)
    return kept, failures, labels, dict(sorted(kept_types.items()))


def add_background_files(catalog: Catalog, patterns: Iterable[str], background_label: str) -> None:
    """Adds the audio files of the folders, globs or files `patterns` (each file once) to the catalog
    as input files and recordings of kind BACKGROUND_FILE and label `background_label`
    (appended to the labels when missing), their paths as ids; CatalogError for a pattern
    without audio files or a file that is also a species' recording."""
    files: dict[str, int] = {}
    for pattern in patterns:
        files.update(list_audio_files(pattern)[1])
    both = sorted(files.keys() & {r.path for r in catalog.recordings})
    if both:
        raise CatalogError(f"{both[0]}: both a recording of a species and a --background-from file")
    catalog.recordings += [
        Recording(recording_id=path, path=path, source_file=path, species=background_label,
                  size_bytes=size, kind=BACKGROUND_FILE)
        for path, size in sorted(files.items())
    ]  # fmt: skip
    catalog.input_files += len(files)
    if files and background_label not in catalog.labels:
        catalog.labels.append(background_label)


def build_catalog(
    input_path: str,
    layout: str,
    metadata_path: str | None,
    selections: Selections,
    group_column: str = "",
) -> Catalog:
    """Discovers the recordings of `input_path` and applies the selections (the annotations
    layout is pipeline.annotations.catalog's)."""
    if layout == "csv":
        if not metadata_path:
            raise CatalogError("--layout csv needs --metadata FILE")
        recordings, failures, input_files = catalog_from_csv(
            input_path, metadata_path, group_column
        )
    elif layout in _NAMING:
        recordings, failures, input_files = catalog_from_paths(input_path, layout)
    else:
        raise CatalogError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    kept, filtered, labels, kept_types = apply_selections(recordings, selections)
    if not labels:
        raise CatalogError(
            f"{input_path}: no species left after the selections ({len(recordings)} recordings; "
            f"types {list(selections.types)}, at least {selections.min_recordings} recordings each)"
        )
    return Catalog(
        recordings=kept,
        failures=failures + filtered,
        labels=labels,
        input_files=input_files,
        kept_types=kept_types,
    )
