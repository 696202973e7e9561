"""Tests of trainer.predict with a model the real trainer trains briefly on a built dataset."""

from __future__ import annotations

import collections
import csv
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from schemas import SpectrogramParams, read_labels
from tests.audio_files import encode, tone
from tests.conftest import ctrl_c_as_in_a_terminal
from tests.decoding import load_audio, snippet_spectrograms
from trainer import TrainerError
from trainer.predict import main, parse_args
from trainer.prediction.classifier import Classifier
from trainer.prediction.reading import (
    FilePrediction,
    load_windows,
    predict_files,
    resolve_inputs,
)
from trainer.prediction.rows import columns, result_rows
from trainer.prediction.writers import RAVEN_COLUMNS, result_writer

pytestmark = pytest.mark.slow
TOP_K = 3


@pytest.fixture(scope="module")
def job_dir(small_dataset, tmp_path_factory) -> str:
    """A job dir of trainer.task: a few head-only steps at image size 75, exported."""
    from trainer import task

    job = str(tmp_path_factory.mktemp("job"))
    status = task.main([
        "--data-dir", small_dataset, "--job-dir", job, "--image-size", "75", "--weights", "none",
        "--head-epochs", "1", "--base-epochs", "0", "--steps-per-epoch", "2", "--batch-size", "4",
        "--head-learning-rate", "0.3", "--seed", "0",
    ])  # fmt: skip
    assert status == 0
    return job


@pytest.fixture(scope="module")
def classifier(job_dir) -> Classifier:
    return Classifier(job_dir, batch_size=8)


@pytest.fixture(scope="module")
def training_records(small_dataset, job_dir) -> dict[str, dict[str, np.ndarray]]:
    """recording id -> the trainer's own evaluation of its training snippets, as evaluate does."""
    from trainer import inputs
    from trainer.export import load_exported_model

    model, _, _ = load_exported_model(job_dir)
    info, labels = inputs.read_info_and_labels(small_dataset)
    keys = ("source_file", "start_seconds", "spectrogram")
    records = collections.defaultdict(lambda: collections.defaultdict(list))
    for features in inputs.eval_dataset(small_dataset, "train", info, labels, 8):
        probabilities = model.predict_on_batch(features["spectrogram"])
        values = {key: features[key].numpy() for key in ("recording_id", *keys)}
        for i, recording in enumerate(values["recording_id"]):
            for key in keys:
                records[recording][key].append(values[key][i])
            records[recording]["probabilities"].append(probabilities[i])
    return {
        recording: {key: np.array(v) for key, v in r.items()} for recording, r in records.items()
    }


def training_recording(records: dict, small_corpus: str) -> tuple[str, dict[str, np.ndarray]]:
    """(path, records) of the training recording with the most snippets."""
    record = max(records.values(), key=lambda r: len(r["start_seconds"]))
    return f"{small_corpus}/audio/{record['source_file'][0].decode()}", record


def corpus_files(small_corpus: str) -> list[str]:
    return sorted(str(path) for path in pathlib.Path(small_corpus, "audio").glob("*.mp3"))


def read_csv(path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames), list(reader)


def check_timeline(file_row: dict, windows: list[dict], snippet_seconds: float) -> None:
    """Windows run in order from 0 to the end of the recording without gaps."""
    starts = [float(w["start_s"]) for w in windows]
    ends = [float(w["end_s"]) for w in windows]
    assert starts[0] == 0.0
    assert ends[-1] == pytest.approx(float(file_row["end_s"]))
    assert starts == sorted(starts) and ends == sorted(ends)
    assert all(start <= end for start, end in zip(starts[1:], ends[:-1], strict=False))
    for start, end in zip(starts, ends, strict=True):
        assert end - start == pytest.approx(
            min(snippet_seconds, float(file_row["end_s"])), abs=1e-3
        )


def test_folder_of_good_and_bad_files(job_dir, small_corpus, training_records, tmp_path, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    good, _ = training_recording(training_records, small_corpus)
    shutil.copy(good, folder / "good.mp3")
    (folder / "empty.mp3").write_bytes(b"")
    (folder / "text.mp3").write_text("this is not audio\n")
    (folder / "noise.mp3").write_bytes(np.random.default_rng(0).bytes(4096))
    (folder / "notes.txt").write_text("not listed: not an audio extension\n")
    output = tmp_path / "results.csv"

    status = main(["--model", job_dir, str(folder), "--timeline", "--output", str(output)])

    assert status == 1
    captured = capsys.readouterr()
    skipped = [line for line in captured.err.splitlines() if line.startswith("skipped ")]
    assert sorted(line.split(":")[0] for line in skipped) == [
        f"skipped {folder}/{name}" for name in ("empty.mp3", "noise.mp3", "text.mp3")
    ]
    assert f"{folder}/good.mp3" in captured.out
    fieldnames, rows = read_csv(output)
    assert fieldnames == columns(TOP_K)
    assert fieldnames[:6] == ["file", "kind", "start_s", "end_s", "species_1", "score_1"]
    assert sorted(row["file"].rsplit("/", 1)[1] for row in rows if row["kind"] == "failed") == [
        "empty.mp3",
        "noise.mp3",
        "text.mp3",
    ]
    assert all(row["error"] for row in rows if row["kind"] == "failed")
    (file_row,) = [row for row in rows if row["kind"] == "file"]
    windows = [row for row in rows if row["kind"] == "window"]
    labels = read_labels(f"{job_dir}/export")
    for row in [file_row, *windows]:
        scores = [float(row[f"score_{rank}"]) for rank in range(1, TOP_K + 1)]
        species = [row[f"species_{rank}"] for rank in range(1, TOP_K + 1)]
        assert all(0.0 <= score <= 1.0 for score in scores)
        assert scores == sorted(scores, reverse=True)
        assert sum(scores) <= 1.0 + 1e-4
        assert len(set(species)) == TOP_K and set(species) <= set(labels)
    rate = SpectrogramParams().sample_rate  # the dataset's: the builder's default
    duration = len(load_audio(good, rate).samples) / rate
    assert float(file_row["end_s"]) == pytest.approx(duration, abs=1e-3)
    assert len(windows) >= 3
    check_timeline(file_row, windows, SpectrogramParams().snippet_seconds)


def test_usage_errors(job_dir, small_corpus, tmp_path, capsys):
    assert main(["--model", job_dir, str(tmp_path / "missing.mp3")]) == 1
    assert main(["--model", job_dir, str(tmp_path)]) == 1  # a folder without audio
    assert main(["--model", str(tmp_path), f"{small_corpus}/audio"]) == 1  # no exported model
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 3
    for flags in (
        ["--overlap", "1"],
        ["--top-k", "0"],
        ["--output", "r.xlsx"],
        ["--format", "csv"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            parse_args(["--model", job_dir, "x.mp3", *flags])
        assert exit_info.value.code == 2
    formats = {
        name: parse_args(["--model", "m", "x.mp3", "--output", name]).format
        for name in ("r.csv", "r.json", "r.jsonl", "r.txt")
    }
    assert formats == {"r.csv": "csv", "r.json": "json", "r.jsonl": "json", "r.txt": "raven"}


def test_json_and_raven_outputs_are_appended_per_file(classifier, small_corpus, tmp_path):
    paths = corpus_files(small_corpus)[:2]
    predictions = list(predict_files([*paths, str(tmp_path / "missing.mp3")], classifier))
    rows = [
        result_rows(item, classifier.labels, classifier.params, top_k=TOP_K, timeline=True)
        for item in predictions
    ]
    assert predictions[-1].error and rows[-1][0]["kind"] == "failed"

    json_path = tmp_path / "results.json"
    with open(json_path, "w", encoding="utf-8") as stream:
        writer = result_writer(stream, "json", TOP_K, classifier.params)
        writer.write(rows[0])
        assert len(json_path.read_text().splitlines()) == len(rows[0])  # flushed as files finish
        writer.write(rows[1])
        writer.write(rows[2])
    records = [json.loads(line) for line in json_path.read_text().splitlines()]
    assert records == [row for file_rows in rows for row in file_rows]
    assert all(list(record) == columns(TOP_K) for record in records)
    assert records[-1]["score_1"] is None and records[-1]["error"]

    raven_path = tmp_path / "results.selections.txt"
    with open(raven_path, "w", newline="", encoding="utf-8") as stream:
        writer = result_writer(stream, "raven", TOP_K, classifier.params)
        writer.write(rows[0])
        assert len(raven_path.read_text().splitlines()) == 1 + len(rows[0])
        writer.write(rows[1])
        writer.write(rows[2])
    with open(raven_path, newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f, delimiter="\t"))
    assert raven_path.read_text().splitlines()[0].split("\t") == list(RAVEN_COLUMNS)
    assert len(table) == len(rows[0]) + len(rows[1])  # the failed file has no selection
    assert [int(row["Selection"]) for row in table] == list(range(1, len(table) + 1))
    for row, source in zip(table, rows[0] + rows[1], strict=True):
        assert float(row["Begin Time (s)"]) == source["start_s"]
        assert float(row["End Time (s)"]) == source["end_s"]
        assert float(row["High Freq (Hz)"]) == classifier.params.sample_rate / 2
        assert (row["Species"], float(row["Score"])) == (source["species_1"], source["score_1"])
        assert row["Begin Path"] == source["file"] and row["View"] == "Spectrogram 1"


def test_agrees_with_trainer_evaluation_of_training_snippets(
    classifier, training_records, small_corpus
):
    path, record = training_recording(training_records, small_corpus)
    params = classifier.params
    samples = load_audio(path, params.sample_rate).samples
    starts = [round(float(s) * params.sample_rate) for s in record["start_seconds"]]

    np.testing.assert_array_equal(
        snippet_spectrograms(samples, starts, params), record["spectrogram"]
    )
    probabilities = classifier.probabilities(snippet_spectrograms(samples, starts, params))
    np.testing.assert_allclose(probabilities, record["probabilities"], atol=1e-5)

    (prediction,) = predict_files([path], classifier)  # predict's own windows, same code path
    windows = snippet_spectrograms(samples, prediction.starts, params)
    np.testing.assert_allclose(
        prediction.probabilities, classifier.probabilities(windows), atol=1e-6
    )


@pytest.mark.parametrize("rate, channels", [(48000, 2), (16000, 1)])
def test_other_sample_rate_is_resampled(
    classifier, training_records, small_corpus, tmp_path, rate, channels
):
    original, _ = training_recording(training_records, small_corpus)
    wav = tmp_path / f"recording-{rate}.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", original, "-ar", str(rate), "-ac", str(channels), str(wav)],
        check=True,
    )
    params = classifier.params
    reference, resampled = (load_windows(p, params, 0.5) for p in (original, str(wav)))

    assert abs(resampled.length - reference.length) <= 0.005 * params.sample_rate
    common = min(len(reference.starts), len(resampled.starts)) - 1  # the last one ends at the end
    assert resampled.starts[:common] == reference.starts[:common]
    reference_images, resampled_images = (np.stack(list(p.images)) for p in (reference, resampled))
    difference = np.abs(reference_images[:common].astype(int) - resampled_images[:common])
    assert difference.mean() < 1.0  # grey levels of 255: the same picture

    reference, resampled = predict_files([original, str(wav)], classifier)
    (reference_row,), (resampled_row,) = (
        result_rows(item, classifier.labels, params) for item in (reference, resampled)
    )
    assert resampled_row["species_1"] == reference_row["species_1"]
    for rank in range(1, TOP_K + 1):
        assert resampled_row[f"score_{rank}"] == pytest.approx(
            reference_row[f"score_{rank}"], abs=0.02
        )


class ImageStatistics:
    """A stand-in classifier whose probabilities tell its input windows apart."""

    labels = ["low", "middle", "high"]
    params = SpectrogramParams()
    batch_size = 3

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        bands = np.stack([band.mean(axis=(1, 2)) for band in np.array_split(images, 3, axis=1)], 1)
        return bands / bands.sum(axis=1, keepdims=True)


def test_batches_mix_files_but_keep_their_windows_apart(small_corpus, tmp_path):
    stand_in = ImageStatistics()
    (tmp_path / "bad.mp3").write_text("not audio")
    good = corpus_files(small_corpus)[:3]
    paths = [good[0], str(tmp_path / "bad.mp3"), good[1], good[2]]

    predictions = list(predict_files(paths, stand_in, overlap=0.25, workers=2))

    assert [item.path for item in predictions] == paths
    assert predictions[1].error and predictions[1].probabilities is None
    for item in (predictions[0], *predictions[2:]):
        alone = load_windows(item.path, stand_in.params, 0.25)
        assert item.starts == alone.starts and item.images is None
        np.testing.assert_allclose(
            item.probabilities, stand_in.probabilities(np.stack(list(alone.images)))
        )
    assert sum(len(item.starts) for item in predictions) > 2 * stand_in.batch_size


def test_rows_aggregate_mean_or_max_and_hide_weak_windows():
    params = SpectrogramParams()
    item = FilePrediction(
        path="a.mp3",
        length=6 * params.sample_rate,
        starts=[0, 2 * params.sample_rate],
        probabilities=np.array([[0.7, 0.2, 0.1], [0.1, 0.5, 0.4]], np.float32),
    )
    labels = ["A", "B", "C"]

    (mean,) = result_rows(item, labels, params, top_k=2)
    assert (mean["species_1"], mean["score_1"], mean["species_2"], mean["score_2"]) == (
        "A", 0.4, "B", 0.35,
    )  # fmt: skip
    assert (mean["start_s"], mean["end_s"], mean["kind"]) == (0.0, 6.0, "file")
    (top,) = result_rows(item, labels, params, top_k=1, aggregate="max")
    assert (top["species_1"], top["score_1"]) == ("A", 0.7)
    rows = result_rows(item, labels, params, timeline=True)
    assert [(r["kind"], r["start_s"], r["end_s"], r["species_1"]) for r in rows] == [
        ("file", 0.0, 6.0, "A"), ("window", 0.0, 4.0, "A"), ("window", 2.0, 6.0, "B"),
    ]  # fmt: skip
    rows = result_rows(item, labels, params, timeline=True, min_score=0.6)
    assert [r["kind"] for r in rows] == ["file", "window"]


def test_reads_recordings_through_tensorflow_filesystems(classifier, small_corpus):
    # ram:// is TensorFlow's in-memory filesystem, standing in for gs:// (no Beam involved).
    local = corpus_files(small_corpus)[:2]
    names = [pathlib.Path(path).name for path in local]
    tf.io.gfile.makedirs("ram://bucket/sub")
    remote = ["ram://bucket/sub/" + name for name in names]
    for near, far in zip(local, remote, strict=True):
        tf.io.gfile.copy(near, far, overwrite=True)

    paths = resolve_inputs(["ram://bucket", "ram://bucket/sub/*.mp3", remote[1]])

    assert paths == remote
    for far, near in zip(
        predict_files(paths, classifier), predict_files(local, classifier), strict=True
    ):
        assert not far.error and far.starts == near.starts
        np.testing.assert_allclose(far.probabilities, near.probabilities, atol=1e-6)
    with pytest.raises(TrainerError, match="ram://bucket/none: no audio files found"):
        resolve_inputs(["ram://bucket/none"])


def test_predict_imports_no_beam():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, trainer.predict; "
         "print(sorted(name for name in sys.modules if name.startswith('apache_beam')))"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert loaded.strip() == "[]"


def test_a_recording_shorter_than_a_window_is_flagged(job_dir, tmp_path, capsys):
    short = tmp_path / "short.wav"
    encode(short, tone(1.5, 22050), 22050)
    output = tmp_path / "short.csv"
    assert main(["--model", job_dir, str(short), "--timeline", "--output", str(output)]) == 0
    assert "shorter than one window (1.50 s of 4 s)" in capsys.readouterr().out
    _, rows = read_csv(output)
    assert [row["kind"] for row in rows] == ["file", "window"]
    assert all(
        row["note"] == "shorter than one window (1.50 s of 4 s), zero-padded" for row in rows
    )


def test_only_short_recordings_get_a_note():
    params, scores = SpectrogramParams(), np.ones((1, 2), np.float32)
    rows = [
        result_rows(
            FilePrediction(path="a.mp3", length=length, starts=[0], probabilities=scores),
            ["A", "B"],
            params,
        )
        for length in (params.snippet_samples - 1, params.snippet_samples, 10 * params.sample_rate)
    ]
    assert [file_rows[0]["note"] is None for file_rows in rows] == [False, True, True]


def test_ctrl_c_stops_predict_in_one_line(job_dir, small_corpus, tmp_path):
    for copy in range(20):  # many files: far more than run before the Ctrl-C
        for path in corpus_files(small_corpus):
            shutil.copy(path, tmp_path / f"{copy}-{pathlib.Path(path).name}")
    predict = subprocess.Popen(
        [sys.executable, "-m", "trainer.predict", "--model", job_dir, str(tmp_path),
         "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=ctrl_c_as_in_a_terminal,
    )  # fmt: skip
    assert predict.stdout.readline()  # the first file's result: the model is running
    os.killpg(predict.pid, signal.SIGINT)  # as Ctrl-C in a terminal
    _, err = predict.communicate(timeout=60)
    assert predict.returncode == 130
    assert err.splitlines()[-1] == "interrupted: prediction stopped; rows written so far stay"
    assert "Traceback" not in err


def test_predict_scales_images_as_the_dataset_json_says(tmp_path):
    """--scaling reaches predict through dataset.json, as every front-end setting does."""
    from schemas import SPLITS, read_dataset_info
    from tests.datasets import write_info

    write_info(tmp_path, ["A"], {split: [1] for split in SPLITS}, height=128, width=343)
    values = json.loads((tmp_path / "dataset.json").read_text())
    values["spectrogram"]["scaling"] = "fixed"
    (tmp_path / "dataset.json").write_text(json.dumps(values))
    params = read_dataset_info(str(tmp_path)).spectrogram
    assert params.scaling == "fixed"
    path = encode(tmp_path / "quiet.wav", 0.05 * tone(6.0, 22050), 22050)
    windows = load_windows(str(path), params, 0.5)
    samples = load_audio(str(path), params.sample_rate).samples
    expected = snippet_spectrograms(samples, windows.starts, params)
    np.testing.assert_array_equal(np.stack(list(windows.images)), expected)
    default = snippet_spectrograms(samples, windows.starts, SpectrogramParams())
    assert not np.array_equal(expected, default)
