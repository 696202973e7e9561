"""The front end's one sequence: a recording to its chosen windows' images."""

import numpy as np
import pytest

from frontend.audio import AudioError
from frontend.snippets import KEEP_SECONDS
from frontend.windows import covering_starts, open_windows
from schemas import SpectrogramParams
from tests.audio_files import encode, tone
from tests.decoding import load_audio, snippet_spectrograms

PARAMS = SpectrogramParams()


@pytest.mark.parametrize("keep_seconds", [KEEP_SECONDS, 0.0])
def test_the_windows_images_are_the_chosen_snippets_spectrograms(
    tmp_path, monkeypatch, keep_seconds
):
    # A recording held after its scan, and one decoded again for its windows (as a long one is).
    monkeypatch.setattr("frontend.windows.KEEP_SECONDS", keep_seconds)
    path = str(encode(tmp_path / "a.mp3", tone(9.0, 22050), 22050))
    starts = [0, 22050, 5 * 22050]

    with open_windows(path, PARAMS, lambda scan: starts) as windows:
        images = np.stack(list(windows.images))
        held = windows.scan.kept is not None

    assert held == bool(keep_seconds) and windows.starts == starts
    assert windows.decoder == "soundfile" and windows.scan.length == len(
        load_audio(path, 22050).samples
    )
    samples = load_audio(path, PARAMS.sample_rate).samples
    np.testing.assert_array_equal(images, snippet_spectrograms(samples, starts, PARAMS))


def test_a_file_that_decodes_to_nothing_is_an_audio_error(tmp_path):
    path = str(encode(tmp_path / "empty.wav", np.zeros((0, 1), np.float32), 22050))
    with pytest.raises(AudioError, match="decoded no audio"), open_windows(path, PARAMS, list):
        pass


def test_covering_starts_cover_the_recording():
    params = SpectrogramParams()
    snippet = params.snippet_samples
    for length in (100, snippet // 2, snippet, snippet + 1, 2 * snippet + 12345, 10 * snippet):
        for overlap in (0.0, 0.5, 0.75):
            starts = covering_starts(length, params, overlap)
            ends = [min(start + snippet, length) for start in starts]
            assert starts[0] == 0 and ends[-1] == length
            assert all(b > a for a, b in zip(starts, starts[1:], strict=False))
            assert all(start <= end for start, end in zip(starts[1:], ends, strict=False))
            stride = round(snippet * (1 - overlap))
            assert all(b - a <= stride for a, b in zip(starts, starts[1:], strict=False))
