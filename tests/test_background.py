"""The background class: quiet windows as a reserved label, and predict's timeline with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from frontend.snippets import block_energies, quietest_windows
from schemas import BACKGROUND_LABEL, SpectrogramParams, read_dataset_info, read_labels
from tests.audio_files import encode, tone
from tests.conftest import build_args
from tests.datasets import read_split
from tests.decoding import load_audio
from trainer.predict import main
from trainer.prediction.reading import FilePrediction
from trainer.prediction.rows import result_rows

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def background_dataset(small_corpus, tmp_path_factory) -> str:
    from pipeline.build import run

    output = str(tmp_path_factory.mktemp("background"))
    run(build_args(small_corpus, output, "--background-snippets", "2", "--overwrite"))
    return output


def test_background_is_written_only_with_the_flag_and_never_as_a_recordings_species(
    small_dataset, background_dataset
):
    assert BACKGROUND_LABEL not in read_labels(small_dataset)
    labels = read_labels(background_dataset)
    assert labels[-1] == BACKGROUND_LABEL and labels[:-1] == read_labels(small_dataset)
    examples = read_split(background_dataset, "train")
    species_of = {}
    for example in examples:
        name = example["species"].decode()
        assert (example["label"] == len(labels) - 1) == (name == BACKGROUND_LABEL)
        if name != BACKGROUND_LABEL:
            species_of.setdefault(example["recording_id"], set()).add(name)
    assert all(len(names) == 1 for names in species_of.values())
    background = [e for e in examples if e["species"].decode() == BACKGROUND_LABEL]
    assert background and {e["recording_id"] for e in background} <= set(species_of)
    counts = read_dataset_info(background_dataset).counts
    assert counts.per_species[BACKGROUND_LABEL].examples["train"] == len(background)
    assert counts.examples["train"] == len(examples)


def test_timeline_rows_say_no_detection_where_background_wins():
    params = SpectrogramParams()
    item = FilePrediction(
        path="a.mp3",
        length=8 * params.sample_rate,
        starts=[0, 4 * params.sample_rate],
        probabilities=np.array([[0.6, 0.1, 0.3], [0.2, 0.1, 0.7]], np.float32),
    )
    rows = result_rows(item, ["A", "B", BACKGROUND_LABEL], params, top_k=2, timeline=True)
    assert [(r["kind"], r["species_1"]) for r in rows] == [
        ("file", "A"), ("window", "A"), ("no_detection", None),
    ]  # fmt: skip
    assert rows[0]["species_2"] == "B"  # the background is never a file's species


def test_a_model_trained_with_background_finds_no_bird_in_a_noise_window(
    background_dataset, small_corpus, tmp_path
):
    from trainer import task

    job = str(tmp_path / "job")
    assert task.main([
        "--data-dir", background_dataset, "--job-dir", job, "--image-size", "75",
        "--weights", "none", "--head-epochs", "6", "--base-epochs", "0",
        "--steps-per-epoch", "4", "--batch-size", "16", "--head-learning-rate", "0.3",
        "--seed", "0",
    ]) == 0  # fmt: skip
    rate = 22050
    song = tone(4.0, rate)[:, 0]
    # the noise of a field recording: the quietest window of a corpus recording, as the builder finds it
    recording = load_audio(
        next(str(p) for p in sorted(Path(small_corpus, "audio").glob("*.mp3"))), rate
    )
    samples = recording.samples
    energies = block_energies(samples, 256)
    (start,) = quietest_windows(len(samples), energies, 4 * rate, 256, cutoff=0.25, count=1)
    noise = recording.samples[start : start + 4 * rate]
    path = encode(tmp_path / "song-then-noise.wav", np.concatenate([song, noise]), rate)
    assert len(load_audio(str(path), rate).samples) == 8 * rate
    output = tmp_path / "timeline.json"
    assert main(["--model", job, str(path), "--timeline", "--output", str(output)]) == 0
    rows = [__import__("json").loads(line) for line in output.read_text().splitlines()]
    kinds = {row["start_s"]: row["kind"] for row in rows if row["kind"] != "file"}
    assert kinds[4.0] == "no_detection", rows
