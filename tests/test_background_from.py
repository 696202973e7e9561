"""Background recordings (--background-from): split by file, windows over each whole file,
failures accounted; the background's share of training (--background-share); and the detection
threshold chosen on validation, exported and used by predict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from frontend.snippets import even_windows
from schemas import BACKGROUND_LABEL, FAILURES_FILE, SPLITS, read_dataset_info, read_labels
from tests.audio_files import encode
from tests.conftest import build_args
from tests.datasets import read_split

RATE = 22050
SECONDS = {"dawn": 9.0, "dusk": 12.5, "night": 5.0, "rain": 8.0, "wind": 4.0, "surf": 10.0}


def test_even_windows_cover_a_whole_file_or_spread_at_most_count():
    size = 4 * RATE
    assert even_windows(3 * RATE, size) == [0]
    assert even_windows(8 * RATE, size) == [0, size]
    starts = even_windows(9 * RATE, size)
    assert starts == [0, round(2.5 * RATE), 5 * RATE]  # the fewest covering it, evenly
    assert even_windows(100 * RATE, size, count=3) == [0, 48 * RATE, 96 * RATE]
    assert even_windows(100 * RATE, size, count=1) == [0]


@pytest.fixture(scope="module")
def soundscapes(tmp_path_factory) -> tuple[Path, dict[str, float]]:
    """Quiet noise files of several lengths (two folders) and one that is not audio."""
    folder = tmp_path_factory.mktemp("soundscapes")
    rng = np.random.default_rng(3)
    for index, (name, seconds) in enumerate(SECONDS.items()):
        sub = folder / ("a" if index % 2 else "b")
        sub.mkdir(exist_ok=True)
        encode(sub / f"{name}.wav", 0.02 * rng.standard_normal(round(seconds * RATE)), RATE)
    (folder / "b" / "broken.wav").write_bytes(b"RIFF\x00\x00not a wave file at all" * 10)
    return folder, SECONDS


def test_one_audio_file_is_a_source_of_its_own(soundscapes):
    from pipeline.catalog import list_audio_files

    folder, _ = soundscapes
    one = sorted((folder / "a").glob("*.wav"))[0]
    root, sizes = list_audio_files(str(one))
    assert (root, list(sizes)) == (str(folder / "a"), [str(one)])


@pytest.fixture(scope="module")
def background_from_dataset(small_corpus, soundscapes, tmp_path_factory) -> str:
    from pipeline.build import run

    folder, _ = soundscapes
    output = str(tmp_path_factory.mktemp("background-from"))
    run(build_args(small_corpus, output, "--background-from", f"{folder}/a/*.wav,{folder}/b",
                   "--overwrite", "--quiet"))  # fmt: skip
    return output


@pytest.mark.slow
def test_background_windows_come_only_from_the_background_files_each_in_one_split(
    background_from_dataset, soundscapes
):
    folder, seconds = soundscapes
    output = background_from_dataset
    labels = read_labels(output)
    assert labels[-1] == BACKGROUND_LABEL
    files = {str(path): path.stem for path in folder.rglob("*.wav") if path.stem in seconds}
    splits_of: dict[str, set[str]] = {}
    windows: dict[str, int] = {}
    for split in SPLITS:
        for example in read_split(output, split):
            recording = example["recording_id"].decode()
            if example["species"].decode() == BACKGROUND_LABEL:
                assert recording in files and example["label"] == len(labels) - 1
                splits_of.setdefault(recording, set()).add(split)
                windows[recording] = windows.get(recording, 0) + 1
            else:
                assert recording not in files
    assert set(splits_of) == set(files)  # every background file gave windows ...
    assert all(len(splits) == 1 for splits in splits_of.values())  # ... in one split
    # 7 files (one unreadable, wherever its path's hash puts it) fill train and at least one more
    assert (
        "train" in set().union(*splits_of.values()) and len(set().union(*splits_of.values())) >= 2
    )
    for path, name in files.items():  # windows evenly over the whole file
        assert windows[path] == len(even_windows(round(seconds[name] * RATE), 4 * RATE))
    counts = read_dataset_info(output).counts
    for split in SPLITS:
        in_split = [path for path, splits in splits_of.items() if split in splits]
        assert counts.background_files.get(split, 0) == len(in_split)
        assert counts.background_windows.get(split, 0) == sum(windows[p] for p in in_split)
        assert counts.per_species[BACKGROUND_LABEL].examples.get(split, 0) == sum(
            windows[p] for p in in_split
        )
    failures = [json.loads(line) for line in Path(output, FAILURES_FILE).read_text().splitlines()]
    broken = [f for f in failures if f["file"].endswith("broken.wav")]
    assert len(broken) == 1 and counts.failed_files >= 1
    assert counts.input_files == 18 + len(files) + 1  # the corpus' files, then the background's


@pytest.mark.slow
@pytest.mark.parametrize("share", [None, 0.6, 0.0])
def test_background_share_sets_the_fraction_of_background_in_training(
    background_from_dataset, share
):
    from trainer import inputs

    info, labels = inputs.read_info_and_labels(background_from_dataset)
    batches = inputs.train_dataset(
        background_from_dataset, info, labels, 16, seed=0, background_share=share
    )
    drawn = np.concatenate([one_hot.numpy().argmax(1) for _, one_hot in batches.take(20)])
    fraction = float(np.mean(drawn == labels.index(BACKGROUND_LABEL)))
    expected = 1 / len(labels) if share is None else share  # every label has training examples
    assert len(drawn) == 320 and abs(fraction - expected) < 0.08, fraction
    assert set(drawn) == set(range(len(labels) - (share == 0.0)))  # the species all drawn


def test_background_share_flag_takes_a_fraction_below_1_with_balance():
    from trainer.task import parse_args

    assert parse_args([]).background_share is None
    assert parse_args(["--background-share", "0.3"]).background_share == 0.3
    for argv in (["--background-share", "1"], ["--background-share", "0.3", "--no-balance"]):
        with pytest.raises(SystemExit):
            parse_args(argv)


def test_the_detection_threshold_maximises_balanced_accuracy():
    from trainer.detection import best_detection

    bird_score = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.4])
    probabilities = np.stack([bird_score, 1 - bird_score], axis=1)
    labels = np.array([1, 1, 0, 0, 0, 1])  # label 1 is the background
    detection = best_detection(probabilities, labels)
    # bird >= 0.55 (2 of 3 birds, every background window) ties with bird >= 0.25 (every
    # bird, 2 of 3 background windows): the higher threshold
    assert detection.threshold == pytest.approx(0.55)
    assert detection.balanced_accuracy == pytest.approx((2 / 3 + 1) / 2)
    labels[2] = 1  # the bird at 0.3 now background: bird >= 0.55 is right everywhere
    assert best_detection(probabilities, labels).balanced_accuracy == 1.0
    assert (detection.bird_windows, detection.background_windows) == (3, 3)
    assert best_detection(probabilities, np.zeros(6, int)) is None  # no background windows


@pytest.mark.slow
def test_detection_threshold_travels_with_the_export_and_decides_predicts_no_detection(
    background_from_dataset, small_corpus, soundscapes, tmp_path
):
    from trainer import inputs, task
    from trainer.detection import best_detection, read_detection_threshold
    from trainer.evaluation import predict_split
    from trainer.export import load_exported_model
    from trainer.predict import main
    from trainer.prediction.classifier import Classifier
    from trainer.prediction.reading import predict_files

    job = str(tmp_path / "job")
    assert task.main([
        "--data-dir", background_from_dataset, "--job-dir", job, "--architecture", "compact",
        "--image-size", "75", "--weights", "none", "--head-epochs", "0", "--base-epochs", "1",
        "--steps-per-epoch", "3", "--batch-size", "8", "--seed", "0",
    ]) == 0  # fmt: skip
    threshold = read_detection_threshold(f"{job}/export")
    model, labels, info = load_exported_model(job)
    validation = inputs.eval_dataset(background_from_dataset, "validation", info, labels, 8)
    assert threshold == best_detection(*predict_split(model, validation)[:2]).threshold

    folder, _ = soundscapes
    files = [str(next(Path(small_corpus, "audio").glob("*.mp3"))), str(folder / "a" / "dusk.wav")]
    (song, soundscape) = predict_files(files, Classifier(job), workers=1)
    bird = {
        (item.path, start / info.spectrogram.sample_rate): 1 - p[-1]
        for item in (song, soundscape)
        for start, p in zip(item.starts, item.probabilities, strict=True)
    }

    def no_detection(*flags: str) -> set[tuple[str, float]]:
        output = tmp_path / "rows.json"
        assert (
            main(["--model", job, *files, "--timeline", "--quiet", "--output", str(output), *flags])
            == 0
        )
        rows = [json.loads(line) for line in output.read_text().splitlines()]
        assert len(rows) == len(files) + len(bird)
        return {(r["file"], r["start_s"]) for r in rows if r["kind"] == "no_detection"}

    assert no_detection() == {key for key, score in bird.items() if score < threshold}
    median = float(np.median(list(bird.values())))
    overridden = no_detection("--detection-threshold", str(median))
    assert overridden == {key for key, score in bird.items() if score < median}
    assert overridden and len(overridden) < len(bird)
    assert no_detection("--detection-threshold", "0") == set()
