"""Flat memory: streamed energies and windows equal the whole-recording ones; lean Examples."""

import functools

import numpy as np
import pytest
import tensorflow as tf

import frontend.windows
import pipeline.process
from frontend.audio import open_audio
from frontend.snippets import Scan, SnippetSelection, block_energies, choose_snippets, cut_windows
from pipeline.catalog import Recording
from schemas import FEATURES, SpectrogramParams, make_example, parse_examples
from tests.audio_files import encode, tone
from tests.decoding import load_audio, snippet_spectrograms

PARAMS = SpectrogramParams()


def chunked(samples: np.ndarray, sizes: list[int]):
    position, index = 0, 0
    while position < len(samples):
        size = sizes[index % len(sizes)]
        yield samples[position : position + size]
        position, index = position + size, index + 1


def test_scan_of_chunks_equals_the_whole_recording():
    samples = np.random.default_rng(0).standard_normal(100_003).astype(np.float32)
    scan = Scan.of(chunked(samples, [1000, 77, 30_001]), block=256)
    np.testing.assert_array_equal(scan.energies, block_energies(samples, 256))
    assert scan.length == len(samples) and scan.peak == np.abs(samples).max()
    assert scan.kept is None  # over `keep` (0): the chunks are not held
    kept = Scan.of(chunked(samples, [5000]), block=256, keep=len(samples))
    np.testing.assert_array_equal(np.concatenate(kept.kept), samples)


@pytest.mark.parametrize("sizes", [[1000], [97, 20_000], [10**6]])
def test_cut_windows_of_chunks_equals_slicing(sizes):
    samples = np.random.default_rng(1).standard_normal(50_000).astype(np.float32)
    starts = [0, 5, 4000, 4001, 30_000, 45_000, 49_990]
    padded = np.pad(samples, (0, 8000))
    windows = list(cut_windows(chunked(samples, sizes), starts, 8000))
    assert len(windows) == len(starts)
    for start, window in zip(starts, windows, strict=True):
        np.testing.assert_array_equal(window, padded[start : start + 8000])


def _bouts_mp3(path, seconds: float):
    rate = 44100
    samples = 0.01 * tone(seconds, rate, channels=2)
    for start in (3.0, 17.5, 26.0, 33.0):  # loud bouts among faint ones
        samples[round(start * rate) : round((start + 2.5) * rate)] *= 40
    return encode(path, samples, rate, "-c:a", "libmp3lame")


def test_two_pass_streamed_selection_equals_the_whole_file(tmp_path, monkeypatch):
    path = str(_bouts_mp3(tmp_path / "long.mp3", 40.0))
    selection = SnippetSelection()
    # The whole-file path: the recording in memory, its energies, its windows.
    audio = load_audio(path, PARAMS.sample_rate)
    starts = choose_snippets(
        len(audio.samples), block_energies(audio.samples, PARAMS.hop), PARAMS.sample_rate,
        PARAMS.snippet_samples, PARAMS.hop, selection,
    )  # fmt: skip
    images = snippet_spectrograms(audio.samples, starts, PARAMS)
    expected = [
        make_example(image, label=0, species="bird", recording_id="long.mp3", snippet_index=i,
                     start_seconds=start / PARAMS.sample_rate, source_file="long.mp3").SerializeToString()
        for i, (start, image) in enumerate(zip(starts, images, strict=True))
    ]  # fmt: skip
    assert len(expected) >= 3
    # The builder's streamed path, decoding twice in 1.3-second chunks (nothing kept).
    monkeypatch.setattr(frontend.windows, "KEEP_SECONDS", 0.0)
    monkeypatch.setattr(
        frontend.windows, "open_audio", functools.partial(open_audio, chunk_seconds=1.3)
    )
    dofn = pipeline.process.ProcessRecording(PARAMS, selection, ["bird"], min_seconds=1.0)
    dofn.setup()
    outputs = list(dofn.process((Recording("long.mp3", path, "long.mp3", "bird"), "train")))
    assert [example for _, _, example in outputs[:-1]] == expected
    assert outputs[-1].value["decoder"] == "soundfile"


def test_examples_without_tensorflow_equal_tf_train_example():
    image = np.random.default_rng(2).integers(0, 256, (6, 5), dtype=np.uint8)
    values = {"label": 7, "species": "Finch's Warbler (wéstern)", "recording_id": "XC12",
              "snippet_index": 3, "start_seconds": 12.345678, "source_file": "a/b c.mp3",
              "sound_type": "song", "license": "//creativecommons.org/licenses/by/4.0/",
              "quality": ""}  # fmt: skip
    ours = make_example(image, **values, labels=[7, 2]).SerializeToString()
    everything = {"spectrogram": image.tobytes(), "height": 6, "width": 5, **values}
    feature = {}
    for key, value in everything.items():
        dtype = FEATURES[key][0]
        if dtype == "string":
            data = value.encode("utf-8") if isinstance(value, str) else value
            feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[data]))
        elif dtype == "int64":
            feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
        else:
            feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
    feature["labels"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[7, 2]))
    reference = tf.train.Example(features=tf.train.Features(feature=feature))
    assert ours == reference.SerializeToString()
    parsed = parse_examples(tf.constant([ours]), 6, 5)
    np.testing.assert_array_equal(parsed["spectrogram"][0].numpy(), image)
    assert parsed["species"][0].numpy().decode() == values["species"]
    assert parsed["start_seconds"][0].numpy() == np.float32(values["start_seconds"])


def test_workers_never_import_tensorflow(tmp_path):
    import subprocess
    import sys

    path = _bouts_mp3(tmp_path / "a.mp3", 6.0)
    code = (
        "import sys, pipeline.process as p; from pipeline.catalog import Recording; "
        "from frontend.snippets import SnippetSelection; from schemas import SpectrogramParams; "
        "d = p.ProcessRecording(SpectrogramParams(), SnippetSelection(), ['b'], 1.0); d.setup(); "
        f"out = list(d.process((Recording('a', {str(path)!r}, 'a', 'b'), 'train'))); "
        "assert out[-1].value['examples'] >= 1, out; "
        "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_predict_streams_a_long_recording_as_it_holds_a_short_one(tmp_path, monkeypatch):
    from trainer.prediction import reading

    path = str(_bouts_mp3(tmp_path / "a.mp3", 20.0))
    held = reading.load_windows(path, PARAMS, 0.5)
    monkeypatch.setattr(frontend.windows, "KEEP_SECONDS", 0.0)
    streamed = reading.load_windows(path, PARAMS, 0.5)
    assert (streamed.length, streamed.starts) == (held.length, held.starts)
    assert len(held.starts) >= 8
    np.testing.assert_array_equal(np.stack(list(streamed.images)), np.stack(list(held.images)))
