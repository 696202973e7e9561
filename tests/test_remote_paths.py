"""Inputs, metadata and outputs on a non-local Beam filesystem, as on gs://."""

import csv
import shutil

from pipeline.build import run
from tests.datasets import failures, read_all
from tests.prefix_filesystem import PREFIX, PrefixFileSystem


def test_build_reads_and_writes_through_beam_filesystems(small_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(PrefixFileSystem, "root", str(tmp_path))
    shutil.copytree(small_corpus, tmp_path / "bucket")
    metadata = tmp_path / "bucket/metadata.csv"
    with open(metadata, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:  # xeno-canto's recordist and page columns
        row["rec"], row["url"] = f"Recordist {row['id']}", f"//xeno-canto.org/{row['id']}"
    with open(metadata, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    info = run([
        "--input", f"{PREFIX}bucket/audio", "--metadata", f"{PREFIX}bucket/metadata.csv",
        "--output", f"{PREFIX}out/dataset", "--min-recordings", "3", "--max-snippets", "1",
        "--num-shards", "8", "--compression", "gzip",
        "--direct_running_mode", "in_memory",
    ])  # fmt: skip
    assert info.complete and sum(info.counts.examples.values()) == 15
    local = str(tmp_path / "out/dataset")
    assert sum(len(examples) for examples in read_all(local).values()) == 15
    assert {f["reason"] for f in failures(local)} == {"filtered_type"}
    assert not list((tmp_path / "out/dataset").glob("beam-temp*"))
    train = sorted(p.name for p in (tmp_path / "out/dataset").glob("train-*"))
    assert train == [f"train-{i:05d}-of-00008.tfrecord.gz" for i in range(8)]  # 9 examples in 8
    with open(f"{local}/ATTRIBUTION.csv", newline="", encoding="utf-8") as f:
        attribution = list(csv.DictReader(f))
    songs = {r["id"]: r for r in rows if r["type"] != "call"}
    assert sorted(a["recording_id"] for a in attribution) == sorted(songs)
    for line in attribution:
        row = songs[line["recording_id"]]
        assert (line["recordist"], line["license"], line["url"]) == (
            row["rec"],
            row["lic"],
            row["url"],
        )
