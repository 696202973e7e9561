"""Shared fixtures: a small generated corpus and a dataset really built by the pipeline."""

from __future__ import annotations

import importlib.util
import os
import signal

import pytest

from tests.audio_files import encode, tone

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TENSORFLOW_IO_INSTALLED = importlib.util.find_spec("tensorflow_io") is not None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests of the tensorflow-io decoder run in its own environment (bash setup.sh --tensorflow-io)."""
    skip = pytest.mark.skip(reason="tensorflow-io is not installed (bash setup.sh --tensorflow-io)")
    for item in items:
        if not TENSORFLOW_IO_INSTALLED and "tensorflow_io" in item.keywords:
            item.add_marker(skip)


SMALL_CORPUS = {
    "species": 3,
    "recordings_per_species": 5,
    "min_seconds": 6.0,
    "max_seconds": 12.0,
    "calls_per_species": 1,
}


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> str:
    """A generated corpus of 3 species x 5 songs (+1 call each) as mp3, with metadata.csv."""
    from demo.corpus import generate_corpus

    return str(generate_corpus(tmp_path_factory.mktemp("corpus"), seed=1, **SMALL_CORPUS))


def ctrl_c_as_in_a_terminal() -> None:
    """preexec_fn of the Ctrl-C tests' commands: SIGINT at its default, as in a terminal, also when
    the tests run in the background (a shell's `&` ignores SIGINT, and children inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def build_args(corpus: str, output: str, *extra: str) -> list[str]:
    """pipeline.build flags for a quick in-process build of a generated corpus."""
    return [
        "--input", f"{corpus}/audio", "--metadata", f"{corpus}/metadata.csv", "--output", output,
        "--min-recordings", "3", "--direct_running_mode", "in_memory", *extra,
    ]  # fmt: skip


@pytest.fixture(scope="session")
def small_dataset(small_corpus, tmp_path_factory) -> str:
    """A dataset built by pipeline.build from the small corpus (default spectrogram shape)."""
    from pipeline.build import run

    output = str(tmp_path_factory.mktemp("dataset"))
    run(build_args(small_corpus, output, "--overwrite"))
    return output


@pytest.fixture(scope="session")
def small_files(tmp_path_factory):
    """The same 4.5 s chirp in the containers, codecs, rates and layouts recordings come in."""
    folder = tmp_path_factory.mktemp("kinds")
    lame = ("-c:a", "libmp3lame")
    kinds = {
        "mp3-cbr-44k1-mono.mp3": (44100, 1, (*lame, "-b:a", "128k")),
        "mp3-vbr-32k-stereo.mp3": (32000, 2, (*lame, "-q:a", "4")),
        "mp3-cbr-48k-stereo.mp3": (48000, 2, (*lame, "-b:a", "192k")),
        "wav-16bit-48k.wav": (48000, 1, ("-c:a", "pcm_s16le")),
        "wav-24bit-44k1-stereo.wav": (44100, 2, ("-c:a", "pcm_s24le")),
        "flac-44k1.flac": (44100, 1, ()),
        "ogg-vorbis-48k.ogg": (48000, 1, ("-c:a", "libvorbis")),
    }
    return {
        name: encode(folder / name, tone(4.5, rate, channels=channels), rate, *codec)
        for name, (rate, channels, codec) in kinds.items()
    }
