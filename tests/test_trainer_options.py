"""trainer.options and the flags of trainer.task: every default written once, presets as
overrides of the defaults, explicit flags over presets."""

from __future__ import annotations

import dataclasses

from trainer import task
from trainer.options import PRESETS, TrainOptions


def test_every_option_is_a_flag_whose_default_is_the_options_default():
    assert task.parse_args([]) == TrainOptions()
    flags = task._parser().format_help()
    for field in dataclasses.fields(TrainOptions):
        assert f"--{field.name.replace('_', '-')}" in flags


def test_presets_name_only_options_that_they_change():
    defaults = TrainOptions().to_dict()
    for preset in PRESETS.values():
        assert all(defaults[name] != value for name, value in preset.items()), preset


def test_presets_set_their_flags_and_explicit_flags_win():
    scratch = task.parse_args(["--preset", "scratch-cpu"])
    for name, value in PRESETS["scratch-cpu"].items():
        assert getattr(scratch, name) == value
    seed = task.parse_args(["--preset", "seed"])
    assert (seed.weights, seed.image_size, seed.head_epochs) == ("imagenet", 299, 5)
    assert (seed.head_learning_rate, seed.base_learning_rate) == (1e-3, 1e-4)
    mine = task.parse_args(["--preset", "scratch-cpu", "--image-size", "160", "--seed", "3"])
    assert (mine.image_size, mine.seed, mine.weights) == (160, 3, "none")
    assert (mine.architecture, mine.learning_rate_schedule) == ("compact", "cosine")
    assert (seed.architecture, seed.learning_rate_schedule) == ("inception-v3", "constant")
