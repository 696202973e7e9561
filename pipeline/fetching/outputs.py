"""The fetched folder: its file names, the audio files' names, and the tables written at the end
(metadata.csv for the builder, ATTRIBUTION.csv, LICENSES.md, the failures or dry-run report,
fetch.json). Every file is written under a temporary name, then renamed."""

from __future__ import annotations

import collections
import contextlib
import csv
import json
import os
import pathlib
import re
from collections.abc import Iterable, Iterator
from typing import IO, Any

from frontend.audio import AUDIO_EXTENSIONS
from pipeline.columns import (
    ATTRIBUTION_COLUMNS,
    XC_FILE_NAME,
    XC_ID,
    XC_LICENSE,
    XC_RECORDIST,
    XC_URL,
    XENO_CANTO_COLUMNS,
)
from pipeline.fetching.api import Listed
from pipeline.fetching.client import FetchError
from pipeline.fetching.selection import Skipped

PAGES_DIR, AUDIO_DIR = "pages", "audio"
METADATA_FILE, LICENSES_FILE, STATE_FILE = "metadata.csv", "LICENSES.md", "fetch.json"
FAILURES_FILE, DRY_RUN_FILE = "fetch-failures.jsonl", "dry-run.jsonl"
PART_SUFFIX = ".part"  # a download in progress; never an audio extension the builder lists
PAGE_NAME = "page-{:04d}.json"
_PAGE_FILE = re.compile(r"^page-(\d+)\.json$")
# metadata.csv: the builder's columns in xeno-canto's names, then these, then every other field.
_FIRST_COLUMNS = (*XENO_CANTO_COLUMNS, "length", "also", "annotation-set")
_UNSAFE = re.compile(r'[\x00-\x1f/\\:*?"<>|]')
_LICENSE_TERMS = {"by": "credit the recordist", "nc": "no commercial use",
                  "sa": "share derivatives under the same licence", "nd": "no derivatives"}  # fmt: skip


def _safe_name(name: str) -> str:
    """`name` when it is a plain file name with an audio extension the builder lists, else ""."""
    name = name.strip()
    ok = name and not name.startswith(".") and not _UNSAFE.search(name)
    return name if ok and name.lower().endswith(AUDIO_EXTENSIONS) else ""


def audio_names(recordings: Iterable[Listed]) -> dict[str, str]:
    """{recording id: file name under audio/}: xeno-canto's `file-name`; `XC<id>.mp3` when that
    is missing or unusable; `XC<id>-<name>` for each of the recordings that share a name (case
    aside), so that no file passes for another recording's (the pages name the shared one)."""
    wanted = {r.recording_id: _safe_name(str(r.record.get(XC_FILE_NAME) or "")) for r in recordings}
    wanted = {i: name or f"XC{i}.mp3" for i, name in wanted.items()}
    uses = collections.Counter(name.casefold() for name in wanted.values())
    return {i: f"XC{i}-{name}" if uses[name.casefold()] > 1 else name for i, name in wanted.items()}


@contextlib.contextmanager
def _replacing(path: pathlib.Path, binary: bool = False) -> Iterator[IO]:
    """A file opened under a temporary name (UTF-8 text, or bytes), renamed to `path` once
    written."""
    partial = path.with_name(path.name + PART_SUFFIX)
    text = {} if binary else {"newline": "", "encoding": "utf-8"}
    with open(partial, "wb" if binary else "w", **text) as handle:
        yield handle
    os.replace(partial, path)


def write_page(pages_dir: pathlib.Path, number: int, body: bytes) -> None:
    """pages/page-NNNN.json: one page of results, as the API gave it."""
    pages_dir.mkdir(parents=True, exist_ok=True)
    with _replacing(pages_dir / PAGE_NAME.format(number), binary=True) as handle:
        handle.write(body)


def remove_pages_after(pages_dir: pathlib.Path, pages: int) -> None:
    """Removes the pages numbered above `pages`, left by an earlier, longer listing."""
    for path in pages_dir.iterdir():
        match = _PAGE_FILE.match(path.name)
        if match and int(match[1]) > pages:
            path.unlink()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def write_metadata(path: pathlib.Path, recordings: list[Listed], names: dict[str, str]) -> None:
    """metadata.csv: one row per downloaded recording, every field the API gave (lists and
    objects as JSON), `file-name` the file's name under audio/."""
    columns = list(_FIRST_COLUMNS)
    for recording in recordings:
        columns += [c for c in recording.record if c not in columns]
    with _replacing(path) as handle:
        writer = csv.DictWriter(handle, columns, lineterminator="\n")
        writer.writeheader()
        for recording in recordings:
            row = {c: _cell(recording.record.get(c)) for c in columns}
            row[XC_FILE_NAME] = names[recording.recording_id]
            writer.writerow(row)


def write_attribution(path: pathlib.Path, recordings: list[Listed], names: dict[str, str]) -> None:
    """ATTRIBUTION.csv in the builder's columns: recordist, licence and page of each recording."""
    with _replacing(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(ATTRIBUTION_COLUMNS)
        for r in recordings:
            record = r.record
            writer.writerow([record.get(XC_ID, ""), r.species, record.get(XC_RECORDIST, ""),
                             record.get(XC_LICENSE, ""), record.get(XC_URL, ""), names[r.recording_id]])  # fmt: skip


def _terms(code: str) -> str:
    parts = code.split("-")
    if code in ("cc0", "pdm"):
        return "public domain"
    return ", ".join(_LICENSE_TERMS[p] for p in parts if p in _LICENSE_TERMS) or "see its text"


def write_licenses(path: pathlib.Path, recordings: list[Listed], skipped: list[Skipped]) -> None:
    """LICENSES.md: recordings per licence with its terms, and the licences left out."""
    kept = collections.Counter(r.license for r in recordings)
    refused = collections.Counter(s.recording.license for s in skipped
                                  if s.reason == "filtered_license")  # fmt: skip
    lines = ["# Licences of the fetched recordings", "",
             "Each recording keeps its recordist's licence; ATTRIBUTION.csv names the recordist,",
             "licence and page of each. Whoever trains on or shares the data is bound by them.", "",
             "| licence | recordings | terms |", "|---|---:|---|"]  # fmt: skip
    lines += [f"| {code or '(none)'} | {n} | {_terms(code)} |" for code, n in kept.most_common()]
    if refused:
        lines += ["", "Left out by --licenses:", ""]
        lines += [f"- {code or '(none)'}: {n} recordings ({_terms(code)})"
                  for code, n in refused.most_common()]  # fmt: skip
    with _replacing(path) as handle:
        handle.write("\n".join(lines) + "\n")


def report_line(recording: Listed, name: str, reason: str, detail: str) -> dict[str, str]:
    """One line of fetch-failures.jsonl or dry-run.jsonl."""
    return {"id": recording.recording_id, "species": recording.species, "file": name,
            "url": recording.download_url, "reason": reason, "detail": detail}  # fmt: skip


def skipped_lines(skipped: Iterable[Skipped], names: dict[str, str]) -> list[dict[str, str]]:
    """The report lines of the recordings the selections left out."""
    return [report_line(s.recording, names[s.recording.recording_id], s.reason, s.detail)
            for s in skipped]  # fmt: skip


def write_json_lines(path: pathlib.Path, lines: Iterable[dict[str, Any]]) -> None:
    with _replacing(path) as handle:
        handle.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def write_state(path: pathlib.Path, state: dict[str, Any]) -> None:
    """fetch.json: the query, the API's URL (no key), the selections and the counts."""
    with _replacing(path) as handle:
        handle.write(json.dumps(state, indent=2, ensure_ascii=False) + "\n")


def read_state(path: pathlib.Path) -> dict[str, Any]:
    """fetch.json of an earlier run, or {} when there is none."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as error:
        raise FetchError(f"{path}: not valid JSON ({error}); delete it to start afresh") from None
