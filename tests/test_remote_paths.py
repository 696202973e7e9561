"""Inputs, metadata and outputs on a non-local Beam filesystem, as on gs://."""

import shutil

from pipeline.build import run
from tests.datasets import failures, read_all
from tests.prefix_filesystem import PREFIX, PrefixFileSystem


def test_build_reads_and_writes_through_beam_filesystems(small_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(PrefixFileSystem, "root", str(tmp_path))
    shutil.copytree(small_corpus, tmp_path / "bucket")
    info = run([
        "--input", f"{PREFIX}bucket/audio", "--metadata", f"{PREFIX}bucket/metadata.csv",
        "--output", f"{PREFIX}out/dataset", "--min-recordings", "3", "--max-snippets", "1",
        "--direct_running_mode", "in_memory",
    ])  # fmt: skip
    assert info["complete"] and sum(info["counts"]["examples"].values()) == 15
    local = str(tmp_path / "out/dataset")
    assert sum(len(examples) for examples in read_all(local).values()) == 15
    assert {f["reason"] for f in failures(local)} == {"filtered_type"}
    assert not list((tmp_path / "out/dataset").glob("beam-temp*"))
