"""The DoFn of one recording: its examples and exactly one Outcome, whatever the file holds."""

from __future__ import annotations

import subprocess
import sys

from frontend.snippets import SnippetSelection
from pipeline.catalog import Recording
from pipeline.process import ProcessRecording
from schemas import SpectrogramParams
from tests.audio_files import mp3


def _process(path, species: str = "b") -> list:
    dofn = ProcessRecording(SpectrogramParams(), SnippetSelection(), [species], 1.0)
    dofn.setup()
    recording = Recording(recording_id="a", path=str(path), source_file="a.mp3", species=species)
    return list(dofn.process((recording, "train")))


def test_a_recording_gives_its_examples_then_one_outcome(tmp_path):
    *examples, outcome = _process(mp3(tmp_path / "a.mp3", 9.0))
    assert outcome.tag == "outcomes" and not outcome.value.failed
    assert outcome.value.examples == len(examples) >= 2
    assert (outcome.value.split, outcome.value.species, outcome.value.decoder) == (
        "train", "b", "soundfile",
    )  # fmt: skip
    split, snippet, example = examples[0]
    assert split == "train" and snippet["recording_id"] == "a" and isinstance(example, bytes)


def test_a_bad_file_gives_only_an_outcome_with_its_reason(tmp_path):
    (tmp_path / "bad.mp3").write_bytes(b"not audio at all")
    [outcome] = _process(tmp_path / "bad.mp3")
    assert outcome.value.failed and outcome.value.file == "a.mp3"
    assert outcome.value.failure_line().startswith('{"file": "a.mp3", "reason": "')


def test_workers_never_import_tensorflow(tmp_path):
    path = mp3(tmp_path / "a.mp3", 6.0)
    code = (
        "import sys, pipeline.process as p; from pipeline.catalog import Recording; "
        "from frontend.snippets import SnippetSelection; from schemas import SpectrogramParams; "
        "d = p.ProcessRecording(SpectrogramParams(), SnippetSelection(), ['b'], 1.0); d.setup(); "
        f"out = list(d.process((Recording(recording_id='a', path={str(path)!r}, source_file='a', species='b'), 'train'))); "
        "assert out[-1].value.examples >= 1, out; "
        "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
