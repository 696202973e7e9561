"""Bad and unusual recordings: each becomes examples or a failure line with its reason."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontend.audio import AudioError
from frontend.spectrogram import spectrogram
from pipeline.build import run
from schemas import SpectrogramParams
from tests.audio_files import encode, mp3, tone
from tests.datasets import failures, read_all
from tests.decoding import load_audio

SPECIES = ("Finch's Warbler (western)", "Gelbbrauen-Laubsänger", "Blue Jay")


def lavfi_mp3(path: Path, source: str, seconds: float, *codec: str) -> Path:
    """An mp3 from one of ffmpeg's generated sources (anullsrc, sine, anoisesrc...)."""
    command = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-t", str(seconds),
               "-c:a", "libmp3lame", *codec, str(path)]  # fmt: skip
    subprocess.run(command, check=True)
    return path


def with_cover_art(path: Path, source: Path) -> Path:
    cover = path.with_suffix(".png")
    import matplotlib.pyplot as plt

    plt.imsave(cover, np.random.default_rng(0).random((64, 64, 3)))
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-i", str(cover), "-map", "0", "-map", "1",
                    "-c", "copy", "-id3v2_version", "3", "-metadata", "title=Dawn chorus", str(path)], check=True)  # fmt: skip
    cover.unlink()
    return path


@pytest.fixture(scope="module")
def odd_corpus(tmp_path_factory) -> tuple[Path, dict[str, str | None]]:
    """A folder-layout corpus of odd files, and the failure reason each should get (None: examples)."""
    root = tmp_path_factory.mktemp("odd")
    folders = [root / name for name in SPECIES]
    for folder in folders:
        folder.mkdir()
    a, b, c = folders
    expected: dict[str, str | None] = {}

    def add(path: Path, reason: str | None) -> None:
        expected[path.relative_to(root).as_posix()] = reason

    for index, rate in enumerate((8000, 32000, 44100, 48000)):
        add(mp3(a / f"rate {rate} Hz (take {index}).mp3", 5.0, rate), None)
    add(encode(a / "96k.flac", tone(5.0, 96000), 96000), None)
    add(encode(b / "six channels.wav", tone(5.0, 48000, channels=6), 48000), None)
    add(mp3(b / "vbr stereo.mp3", 6.0, 44100, 2, "-q:a", "4"), None)
    add(encode(b / "wav named.mp3", tone(5.0, 32000), 32000, "-f", "wav"), None)
    add(with_cover_art(b / "cover art ÄÖÜ.mp3", mp3(root / "plain.mp3", 5.0)), None)
    (root / "plain.mp3").unlink()
    add(
        lavfi_mp3(
            c / "ten minutes.mp3", "sine=frequency=2500:sample_rate=22050", 600, "-b:a", "32k"
        ),
        None,
    )
    add(mp3(c / "l'aube.mp3", 5.0, 44100), None)
    data = mp3(c / "whole.mp3", 9.0).read_bytes()
    (c / "whole.mp3").unlink()
    (c / "cut mid-frame.mp3").write_bytes(data[: len(data) // 2 + 77])
    add(c / "cut mid-frame.mp3", None)  # the first half is read
    # A WAV of a codec the default decoder does not read: salvaged by ffmpeg.
    add(encode(c / "g722 telephone.wav", tone(5.0, 16000), 16000, "-c:a", "g722"), None)
    (c / "zero.mp3").write_bytes(b"")
    add(c / "zero.mp3", "empty")
    (c / "random.mp3").write_bytes(
        np.random.default_rng(1).integers(0, 256, 20000, dtype=np.uint8).tobytes()
    )
    add(
        c / "random.mp3", "unrecognised_format|undecodable"
    )  # random bytes may start like an mp3 frame
    (c / "readme.mp3").write_text("recorded at dawn near the lake\n")
    add(c / "readme.mp3", "unrecognised_format")
    add(lavfi_mp3(c / "silence.mp3", "anullsrc=r=44100:cl=mono", 6), "silent")
    add(mp3(c / "half second.mp3", 0.5), "too_short")
    return root, expected


@pytest.fixture(scope="module")
def odd_dataset(odd_corpus, tmp_path_factory) -> tuple[str, dict]:
    root, _ = odd_corpus
    output = str(tmp_path_factory.mktemp("odd-dataset"))
    info = run(["--input", str(root), "--output", output, "--min-recordings", "3", "--max-failure-fraction", "0.5",
                "--direct_running_mode", "in_memory"])  # fmt: skip
    return output, info


def test_each_odd_file_gets_what_a_user_expects(odd_corpus, odd_dataset):
    _, expected = odd_corpus
    output, info = odd_dataset
    failed = {f["file"]: f for f in failures(output)}
    with_examples = {
        e["source_file"].decode() for examples in read_all(output).values() for e in examples
    }
    for name, reason in expected.items():
        if reason is None:
            assert name in with_examples, (name, failed.get(name))
        else:
            assert failed[name]["reason"] in reason.split("|") and failed[name]["detail"], name
    assert set(failed) | with_examples == set(expected)
    assert not set(failed) & with_examples
    assert info.counts.recovered_with_ffmpeg >= 1


def test_long_recording_gives_at_most_one_snippet_per_three_seconds(odd_dataset):
    output, _ = odd_dataset
    starts = [e["start_seconds"] for examples in read_all(output).values() for e in examples
              if e["source_file"].decode().endswith("ten minutes.mp3")]  # fmt: skip
    assert 1 <= len(starts) <= 200


def test_species_names_are_kept_exactly(odd_dataset):
    output, _ = odd_dataset
    assert sorted(Path(output, "labels.txt").read_text(encoding="utf-8").splitlines()) == sorted(
        SPECIES
    )


PARAMS = SpectrogramParams()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.one_of(
    st.binary(max_size=4096),
    st.binary(max_size=2048).map(lambda b: b"ID3\x03\x00\x00\x00\x00\x00\x10" + b),
    st.binary(max_size=2048).map(lambda b: b"\xff\xfb\x90\x64" + b),
    st.binary(max_size=2048).map(lambda b: b"RIFF\x00\x10\x00\x00WAVEfmt " + b),
))  # fmt: skip
def test_fuzzed_bytes_never_crash_the_decoder(tmp_path, content):
    path = tmp_path / "fuzz.mp3"
    path.write_bytes(content)
    try:
        audio = load_audio(str(path), PARAMS.sample_rate)
    except AudioError as error:
        assert error.reason in {"empty", "unrecognised_format", "undecodable"}
        return
    assert audio.samples.dtype == np.float32 and np.isfinite(audio.samples).all()


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False, width=32), min_size=0, max_size=300),
    st.integers(0, 3),
)
def test_fuzzed_signals_give_valid_images(values, repeat):
    snippet = np.zeros(PARAMS.snippet_samples, dtype=np.float32)
    signal = np.tile(np.asarray(values, dtype=np.float32), repeat + 1)[: PARAMS.snippet_samples]
    snippet[: len(signal)] = signal
    image = spectrogram(snippet, PARAMS)
    assert image.shape == (PARAMS.frequency_rows, PARAMS.frames) and image.dtype == np.uint8
