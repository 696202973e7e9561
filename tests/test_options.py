"""The builder's flags: defaults written once (in BuildOptions and the front end's dataclasses)."""

from __future__ import annotations

import dataclasses

from pipeline import options as build_options
from pipeline.options import BuildOptions, parse
from schemas import SEED_FRONT_END, SpectrogramParams


def test_the_seeds_front_end_is_one_flag_away():
    default, _ = build_options.parse([])
    seed, _ = build_options.parse(["--preset", "seed"])
    mine, _ = build_options.parse(["--preset", "seed", "--frequency-rows", "96"])
    assert (default.spectrogram.frequency_scale, default.spectrogram.fmin) == ("mel", 500)
    assert default.spectrogram.normalization == "pcen"
    assert seed.spectrogram == SpectrogramParams(**SEED_FRONT_END)
    assert mine.spectrogram == dataclasses.replace(seed.spectrogram, frequency_rows=96)


def test_every_flag_defaults_to_the_options_own_default():
    parsed, beam_args = parse(["--input", "x"])
    assert beam_args == []
    assert parsed == BuildOptions(input="x")
