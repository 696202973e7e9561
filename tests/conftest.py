"""Shared fixtures: a small generated corpus and a dataset really built by the pipeline."""

from __future__ import annotations

import importlib.util
import os
import signal

import pytest

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
