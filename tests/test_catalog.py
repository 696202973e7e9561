"""Catalog: layouts, xeno-canto metadata as it comes, selections and row-level problems."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.catalog import CatalogError, Selections, build_catalog, type_words

ALL = Selections(types=(), min_recordings=1, top_species=0)


def touch(root: Path, *names: str) -> Path:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"ID3")
    return root


def write_csv(path: Path, header: str, *rows: str) -> str:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


XC_HEADER = "id,gen,sp,en,type,q,lic,file-name"


def test_folders_keep_species_names_exactly(tmp_path):
    names = [
        "Finch's Warbler (western)/a 1.mp3",
        "Gelbbrauen-Laubsänger/b.MP3",
        "Finch's Warbler (western)/c.wav",
    ]
    catalog = build_catalog(str(touch(tmp_path, *names)), "folders", None, ALL)
    assert catalog.labels == ["Finch's Warbler (western)", "Gelbbrauen-Laubsänger"]
    assert {r.recording_id for r in catalog.recordings} == set(names)
    assert {r.size_bytes for r in catalog.recordings} == {3}  # from the listing, for shard sizes


def test_csv_with_xeno_canto_columns_and_free_text_types(tmp_path):
    audio = touch(tmp_path / "audio", "1.mp3", "2.mp3", "3.mp3", "4.mp3", "5.mp3")
    metadata = write_csv(
        tmp_path / "m.csv", XC_HEADER,
        "1,Parus,major,Great Tit,\"call, song\",A,//cc/by,1.mp3",
        "2,Parus,major,Great Tit,dawn song,B,//cc/by,2.mp3",
        "3,Parus,major,Great Tit,song?,C,//cc/by,3.mp3",
        "4,Parus,major,Great Tit,call,A,//cc/by,4.mp3",
        "5,Parus,major,Great Tit,songbird-like rattle,A,//cc/by,5.mp3",
    )  # fmt: skip
    catalog = build_catalog(str(audio), "csv", metadata, Selections(("song",), 1, 0))
    assert [r.recording_id for r in catalog.recordings] == ["1", "2", "3"]
    assert catalog.recordings[0].license == "//cc/by" and catalog.recordings[0].quality == "A"
    assert catalog.recordings[0].size_bytes == 3
    assert {f.file: f.reason for f in catalog.failures} == {
        "4.mp3": "filtered_type",
        "5.mp3": "filtered_type",
    }
    assert catalog.kept_types == {"call, song": 1, "dawn song": 1, "song?": 1}
    assert type_words("Call, Song") == {"call", "song"}


def test_xeno_canto_api_json_pages(tmp_path):
    audio = touch(tmp_path / "audio", "XC1.mp3", "XC2.mp3")
    page = {"numRecordings": "2", "page": 1, "recordings": [
        {"id": "1", "gen": "Turdus", "sp": "merula", "en": "Eurasian Blackbird", "type": "song",
         "q": "A", "lic": "//cc/by-nc", "file-name": "XC1.mp3", "also": []},
        {"id": "2", "gen": "Turdus", "sp": "merula", "en": "", "type": "song", "q": "A",
         "lic": "//cc/by-nc", "file-name": "XC2.mp3", "also": []}]}  # fmt: skip
    (tmp_path / "page1.json").write_text(json.dumps(page))
    catalog = build_catalog(str(audio), "csv", str(tmp_path / "page*.json"), ALL)
    assert catalog.labels == ["Eurasian Blackbird"]
    assert catalog.recordings[0].recording_id == "1"
    assert [(f.file, f.reason) for f in catalog.failures] == [("XC2.mp3", "unknown_species")]


def test_species_from_genus_and_epithet_when_no_english_name(tmp_path):
    audio = touch(tmp_path / "audio", "a.mp3")
    metadata = write_csv(tmp_path / "m.csv", "gen,sp,file-name", "Turdus,merula,a.mp3")
    assert build_catalog(str(audio), "csv", metadata, ALL).labels == ["Turdus merula"]


def test_row_level_problems_become_failures(tmp_path):
    audio = touch(tmp_path / "audio", "a.mp3", "b.mp3", "c.mp3", "stray.mp3")
    metadata = write_csv(
        tmp_path / "m.csv", XC_HEADER,
        "1,G,s,Wren,song,A,,a.mp3", "1,G,s,Wren,song,A,,b.mp3", "2,G,s,,song,A,,c.mp3",
        "3,G,s,Wren,song,A,,gone.mp3",
    )  # fmt: skip
    catalog = build_catalog(str(audio), "csv", metadata, ALL)
    assert [r.source_file for r in catalog.recordings] == ["a.mp3"]
    assert {(f.file, f.reason) for f in catalog.failures} == {
        ("b.mp3", "duplicate"), ("c.mp3", "unknown_species"), ("gone.mp3", "missing_file"),
        ("stray.mp3", "not_in_metadata"),
    }  # fmt: skip
    assert catalog.input_files == 4


def test_xeno_canto_rows_without_file_name_match_xc_id_files(tmp_path):
    audio = touch(tmp_path / "audio", "XC7.mp3", "sub/XC8.MP3")
    metadata = write_csv(
        tmp_path / "m.csv", XC_HEADER + ",rec,url",
        "7,G,s,Wren,song,A,//cc/by,,Ann Lee,//xeno-canto.org/7",
        "8,G,s,Wren,song,A,//cc/by,,Bo Chen,//xeno-canto.org/8",
        "9,G,s,Wren,song,A,//cc/by,,Cy Dee,//xeno-canto.org/9",
    )  # fmt: skip
    catalog = build_catalog(str(audio), "csv", metadata, ALL)
    assert [(r.recording_id, r.source_file) for r in catalog.recordings] == [
        ("7", "XC7.mp3"),
        ("8", "sub/XC8.MP3"),
    ]
    assert [(r.recordist, r.url) for r in catalog.recordings][0] == (
        "Ann Lee",
        "//xeno-canto.org/7",
    )
    assert [(f.file, f.reason) for f in catalog.failures] == [("(row id 9)", "missing_file")]


@pytest.mark.parametrize(
    ("header", "message"),
    [("id,en,type", "no file column"), ("id,file-name,type", "no species column")],
)
def test_missing_required_column_stops_before_any_work(tmp_path, header, message):
    audio = touch(tmp_path / "audio", "a.mp3")
    metadata = write_csv(tmp_path / "m.csv", header, "1,x,song")
    with pytest.raises(CatalogError, match=message):
        build_catalog(str(audio), "csv", metadata, ALL)


def test_min_recordings_and_top_species_and_label_order(tmp_path):
    files = [
        f"{species}/{i}.mp3"
        for species, n in (("A", 2), ("B", 4), ("C", 3), ("D", 3))
        for i in range(n)
    ]
    root = str(touch(tmp_path, *files))
    catalog = build_catalog(root, "folders", None, Selections((), 3, 2))
    assert catalog.labels == ["B", "C"]  # most recordings first, ties by name
    reasons = {f.file.split("/")[0]: f.reason for f in catalog.failures}
    assert reasons == {"A": "filtered_min_recordings", "D": "filtered_top_species"}
    with pytest.raises(CatalogError, match="no species left"):
        build_catalog(root, "folders", None, Selections((), 5, 0))


def test_master_set_names(tmp_path):
    root = touch(
        tmp_path, "Acadian Flycatcher 2 MA Song.mp3", "Blue Jay 10 NY Call.mp3", "notes 1.mp3"
    )
    catalog = build_catalog(str(root), "master-set", None, Selections(("song",), 1, 0))
    assert [(r.species, r.sound_type) for r in catalog.recordings] == [
        ("Acadian Flycatcher", "song")
    ]
    assert {f.reason for f in catalog.failures} == {"filtered_type", "unknown_species"}
