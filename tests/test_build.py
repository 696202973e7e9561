"""End-to-end builds on the DirectRunner, read back through tf.data."""

from __future__ import annotations

import collections
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import tensorflow as tf

import pipeline.build
from pipeline import cli
from pipeline.build import BuildError, main, run
from schemas import (
    FAILURES_FILE,
    SPLITS,
    ImageShape,
    read_dataset_info,
    read_labels,
)
from tests.audio_files import encode, tone
from tests.conftest import TENSORFLOW_IO_INSTALLED, build_args, ctrl_c_as_in_a_terminal
from tests.datasets import failures, read_all, split_of_recordings


def corpus_rows(corpus: str) -> list[dict[str, str]]:
    with open(f"{corpus}/metadata.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_examples_parse_with_the_schema(small_dataset):
    info = read_dataset_info(small_dataset)
    labels = read_labels(small_dataset)
    assert info.image == ImageShape(height=128, width=343)
    for split, examples in read_all(small_dataset).items():
        assert examples, split
        for example in examples:
            assert example["spectrogram"].dtype == np.uint8
            assert example["spectrogram"].shape == (128, 343)
            assert labels[example["label"]] == example["species"].decode()
            assert example["sound_type"] and example["license"].startswith(b"//creativecommons.org")
            assert example["source_file"].decode().endswith(".mp3")


def test_split_by_recording_with_every_species_everywhere(small_dataset):
    assignment = split_of_recordings(small_dataset)  # asserts no recording is in two splits
    info = read_dataset_info(small_dataset)
    for species, counts in info.counts.per_species.items():
        assert all(counts.recordings[split] >= 1 for split in SPLITS), species
    assert collections.Counter(assignment.values()) == info.counts.recordings


def test_counts_add_up(small_dataset, small_corpus):
    info = read_dataset_info(small_dataset)
    counts = info.counts
    examples = read_all(small_dataset)
    assert {s: len(examples[s]) for s in SPLITS} == counts.examples
    for species, per in counts.per_species.items():
        for split in SPLITS:
            assert per.examples[split] == sum(
                e["species"].decode() == species for e in examples[split]
            )
    audio_files = len(list(Path(small_corpus, "audio").glob("*.mp3")))
    assert counts.input_files == audio_files
    assert sum(counts.recordings.values()) + counts.failed_files == audio_files
    assert len(failures(small_dataset)) == sum(counts.failures.values())


def test_song_selection_filters_calls(small_dataset, small_corpus):
    calls = {r["file-name"] for r in corpus_rows(small_corpus) if r["type"] == "call"}
    filtered = {f["file"] for f in failures(small_dataset) if f["reason"] == "filtered_type"}
    assert calls and filtered == calls
    assert all("song" in kept for kept in read_dataset_info(small_dataset).selections.kept_types)


def _shards_and_index(data_dir: str) -> tuple[dict[str, list[bytes]], list[dict]]:
    """{shard file: its records, sorted} and the index rows, sorted: a dataset up to order."""
    shards = {
        path.name: sorted(r.numpy() for r in tf.data.TFRecordDataset(str(path)))
        for path in Path(data_dir).glob("*.tfrecord")
    }
    rows = pq.read_table(sorted(Path(data_dir).glob("index-*.parquet"))).to_pylist()
    return shards, sorted(rows, key=lambda r: (r["shard"], r["recording_id"], r["snippet_index"]))


def test_one_process_for_a_small_corpus_builds_what_workers_build(small_corpus, tmp_path, capsys):
    args = build_args(small_corpus, str(tmp_path / "auto"))
    del args[args.index("--direct_running_mode") : args.index("in_memory") + 1]
    auto = run(args)  # 15 recordings, 2.5 minutes: under the one-process threshold
    assert auto.workers == 1
    capsys.readouterr()
    args = build_args(small_corpus, str(tmp_path / "mp"))
    args[args.index("in_memory")] = "multi_processing"
    info = run([*args, "--direct_num_workers", "2"])
    assert info.workers == 2
    out = capsys.readouterr().out  # progress from the worker processes, through Beam's logging
    assert out.startswith("Building 15 recordings") and "\n  15 of 15 recordings," in out
    for name in ("labels.txt", FAILURES_FILE):
        assert (tmp_path / "mp" / name).read_bytes() == (tmp_path / "auto" / name).read_bytes()
    shards, index = _shards_and_index(str(tmp_path / "mp"))
    assert len(shards) == sum(info.shards.values()) and len(index) == sum(
        info.counts.examples.values()
    )
    assert (shards, index) == _shards_and_index(str(tmp_path / "auto"))
    assert info.counts == auto.counts


@pytest.mark.tensorflow_io
def test_decoder_tensorflow_io_still_builds(small_dataset, small_corpus, tmp_path):
    info = run(build_args(small_corpus, str(tmp_path / "tfio"), "--decoder", "tensorflow-io"))
    default = read_dataset_info(small_dataset).counts
    assert info.counts.decoders == {"tensorflow-io": sum(default.recordings.values())}
    assert info.counts.recordings == default.recordings
    assert split_of_recordings(str(tmp_path / "tfio")) == split_of_recordings(small_dataset)


@pytest.mark.skipif(TENSORFLOW_IO_INSTALLED, reason="tensorflow-io is installed here")
def test_decoder_tensorflow_io_says_how_to_install_it(small_corpus, tmp_path, capsys):
    output = tmp_path / "kept"
    output.mkdir()
    (output / "earlier.txt").write_text("not deleted")
    args = build_args(small_corpus, str(output), "--decoder", "tensorflow-io", "--overwrite")
    assert main(args) == cli.FAILED
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "bash setup.sh --tensorflow-io" in error
    assert (output / "earlier.txt").exists()


def folders_corpus(corpus: str, root: Path) -> Path:
    """The corpus's songs as <root>/<species>/<file>."""
    for row in corpus_rows(corpus):
        if row["type"] != "call":
            (root / row["en"]).mkdir(parents=True, exist_ok=True)
            shutil.copy(f"{corpus}/audio/{row['file-name']}", root / row["en"] / row["file-name"])
    return root


def test_bad_files_become_failures_and_the_job_goes_on(small_corpus, tmp_path):
    root = folders_corpus(small_corpus, tmp_path / "in")
    species = sorted(p.name for p in root.iterdir())[0]
    good = next((root / species).iterdir()).read_bytes()
    (root / species / "corrupt.mp3").write_bytes(good[:300] + bytes(range(256)) * 8)
    (root / species / "empty.mp3").write_bytes(b"")
    (root / species / "notes.mp3").write_text("field notes, not audio\n")
    (root / "loose.mp3").write_bytes(good)
    output = tmp_path / "out"
    info = run(["--input", str(root), "--output", str(output), "--min-recordings", "3",
                "--max-failure-fraction", "0.5", "--direct_running_mode", "in_memory"])  # fmt: skip
    reasons = {Path(f["file"]).name: f["reason"] for f in failures(str(output))}
    assert reasons["empty.mp3"] == "empty"
    assert reasons["notes.mp3"] == "unrecognised_format"
    assert reasons["corrupt.mp3"] in ("undecodable", "too_short")
    assert reasons["loose.mp3"] == "unknown_species"
    assert all(f["detail"] for f in failures(str(output)))
    assert info.complete and sum(info.counts.recordings.values()) == 15
    assert info.counts.input_files == 19


def test_too_many_failures_fail_the_job_without_a_complete_dataset(small_corpus, tmp_path, capsys):
    root = folders_corpus(small_corpus, tmp_path / "in")
    for species in root.iterdir():
        (species / "junk.mp3").write_text("junk")
    output = tmp_path / "out"
    code = main(["--input", str(root), "--output", str(output), "--min-recordings", "3",
                 "--direct_running_mode", "in_memory"])  # fmt: skip
    assert code == 1
    message = capsys.readouterr().err.strip()
    assert message.startswith("error: 3 of 18 input files failed") and "\n" not in message
    assert json.loads((output / "dataset.json").read_text())["complete"] is False
    with pytest.raises(ValueError, match="did not finish"):
        read_dataset_info(str(output))


def test_refuses_a_non_empty_output_without_overwrite(small_dataset, small_corpus):
    with pytest.raises(BuildError, match="not empty.*--overwrite"):
        run(build_args(small_corpus, small_dataset))


def test_without_input_the_demo_replaces_only_a_demo_dataset(
    small_corpus, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(pipeline.build, "generate_corpus", lambda cache: Path(small_corpus))
    flags = ["--output", str(tmp_path / "demo"), "--min-recordings", "3",
             "--direct_running_mode", "in_memory"]  # fmt: skip
    first = run(flags)
    assert first.input.metadata == f"{small_corpus}/metadata.csv"
    run(flags)
    said = capsys.readouterr().out
    assert f"No --input given: building the demo corpus ({small_corpus})" in said
    assert f"Replacing the demo dataset in {tmp_path / 'demo'}" in said
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("not a demo dataset")
    with pytest.raises(BuildError, match="not empty.*--overwrite"):
        run([*flags[:1], str(tmp_path / "mine"), *flags[2:]])


def test_master_set_layout(small_corpus, tmp_path):
    root = tmp_path / "master"
    root.mkdir()
    for number, row in enumerate(corpus_rows(small_corpus)):
        kind = "Call" if row["type"] == "call" else "Song"
        shutil.copy(
            f"{small_corpus}/audio/{row['file-name']}", root / f"{row['en']} {number} MA {kind}.mp3"
        )
    info = run(["--input", str(root), "--layout", "master-set", "--output", str(tmp_path / "out"),
                "--min-recordings", "3", "--max-snippets", "1", "--direct_running_mode", "in_memory"])  # fmt: skip
    assert sorted(read_labels(str(tmp_path / "out"))) == sorted(
        {r["en"] for r in corpus_rows(small_corpus)}
    )
    assert sum(info.counts.examples.values()) == 15
    assert info.counts.failures == {"filtered_type": 3}


def test_without_ffmpeg_wav_builds_and_decoder_ffmpeg_stops_in_one_line(
    small_corpus, tmp_path, monkeypatch, capsys
):
    root = folders_corpus(small_corpus, tmp_path / "in")
    species = next(root.iterdir())
    encode(species / "field.wav", tone(5.0, 32000), 32000)
    encode(species / "wav named.mp3", tone(5.0, 32000), 32000, "-f", "wav")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    flags = ["--input", str(root), "--min-recordings", "3", "--direct_running_mode", "in_memory"]
    assert main([*flags, "--output", str(tmp_path / "out")]) == 0  # formats by content, in-process
    failures = (tmp_path / "out" / FAILURES_FILE).read_text()
    assert "field.wav" not in failures and "wav named.mp3" not in failures
    info = read_dataset_info(str(tmp_path / "out"))
    assert set(info.counts.decoders) == {"soundfile"}
    capsys.readouterr()
    assert main([*flags, "--output", str(tmp_path / "out2"), "--decoder", "ffmpeg"]) == 1
    message = capsys.readouterr().err.strip()
    assert message == (
        "error: ffmpeg and ffprobe not found on the PATH: install ffmpeg (Debian: apt-get install "
        "ffmpeg), or on Dataflow use the worker image of the Dockerfile"
    )
    assert not (tmp_path / "out2/dataset.json").exists()


def test_ctrl_c_stops_the_build_in_one_line_and_leaves_no_temporary_files(small_corpus, tmp_path):
    output = tmp_path / "out"
    args = build_args(small_corpus, str(output))
    args[args.index("in_memory")] = "multi_processing"
    build = subprocess.Popen([sys.executable, "-m", "pipeline.build", *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True,
                             preexec_fn=ctrl_c_as_in_a_terminal)  # fmt: skip
    assert build.stdout.readline().startswith("Building 15 recordings")
    time.sleep(1)  # the workers are starting or running (15 recordings take 2-3 s)
    os.killpg(build.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the launcher and its workers
    _, err = build.communicate(timeout=60)
    assert build.returncode == 130
    assert err == "interrupted: the build was stopped and its temporary files removed\n"
    assert sorted(p.name for p in output.iterdir()) == ["labels.txt"]


def _by_snippet(examples: list[dict]) -> dict[tuple, dict]:
    return {(e["recording_id"], e["snippet_index"]): e for e in examples}


def test_train_overlap_gives_training_more_windows_and_leaves_validation_and_test_alone(
    small_dataset, small_corpus, tmp_path
):
    output = str(tmp_path / "dense")
    info = run(build_args(small_corpus, output, "--train-overlap", "0.75",
                          "--train-max-per-recording", "4"))  # fmt: skip
    assert info.snippets["train_overlap"] == 0.75 and info.snippets["train_max_per_recording"] == 4
    dense, plain = read_all(output), read_all(small_dataset)
    for split in ("validation", "test"):
        assert _by_snippet(dense[split]).keys() == _by_snippet(plain[split]).keys()
        for key, example in _by_snippet(dense[split]).items():
            expected = _by_snippet(plain[split])[key]
            assert all(np.array_equal(example[k], expected[k]) for k in expected), key
    per_recording = collections.Counter(e["recording_id"] for e in dense["train"])
    before = collections.Counter(e["recording_id"] for e in plain["train"])
    assert per_recording.keys() == before.keys()
    assert sum(per_recording.values()) > 1.5 * sum(before.values()), before
    assert max(per_recording.values()) == 4  # the cap holds, and binds
    assert info.counts.examples["train"] == len(dense["train"])
