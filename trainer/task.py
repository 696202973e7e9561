"""Trains a species classifier on a spectrogram dataset built by pipeline.build.

Usage: python -m trainer.task --data-dir DATASET --job-dir JOB_DIR [flags]

This module only parses the flags (their defaults are TrainOptions') and hands them to
trainer.train, which it imports once the command has quieted TensorFlow's start-up.
"""

from __future__ import annotations

import argparse
from typing import Any

from pipeline import cli
from schemas import DatasetFormatError
from trainer import TrainerError
from trainer.options import (
    ARCHITECTURES,
    BEST_BY,
    LEARNING_RATE_SCHEDULES,
    MIN_IMAGE_SIZE,
    MULTI_LABEL,
    PRESETS,
    TrainOptions,
)

DEFAULTS = TrainOptions()
INTERRUPTED = "training stopped; the same command with --resume continues from the last backup"


def _image_size(value: str) -> int:
    size = int(value)
    if size < MIN_IMAGE_SIZE:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_IMAGE_SIZE}")
    return size


def parse_args(argv: list[str] | None = None) -> TrainOptions:
    """The trainer's options from its flags; a --preset sets defaults that explicit flags override."""
    parser = _parser()
    preset = parser.parse_known_args(argv)[0].preset
    if preset:
        parser.set_defaults(**PRESETS[preset])
    args = parser.parse_args(argv)
    if args.head_epochs < 0 or args.base_epochs < 0 or args.head_epochs + args.base_epochs < 1:
        parser.error("--head-epochs and --base-epochs must be >= 0, and not both 0")
    if args.background_share is not None and not args.balance:
        parser.error("--background-share needs --balance")
    return TrainOptions(**vars(args))


def _option(group: Any, flag: str, **kwargs: Any) -> None:
    """Adds `flag`, whose default is that of the TrainOptions field of the same name."""
    name = flag.removeprefix("--").replace("-", "_")
    group.add_argument(flag, default=getattr(DEFAULTS, name), **kwargs)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _option(
        parser,
        "--preset",
        choices=sorted(PRESETS),
        help="seed: the original system's recipe, ImageNet weights, 299x299, head then all "
        "layers (the defaults); scratch-cpu: the from-scratch recipe for a CPU in about 30 "
        "minutes (see README); flags given explicitly override the preset's",
    )
    data = parser.add_argument_group("data")
    _option(data, "--data-dir", help="built dataset, local or gs:// (default %(default)s)")
    _option(data, "--batch-size", type=int, help="examples per batch (default %(default)s)")
    _option(
        data,
        "--balance",
        action=argparse.BooleanOptionalAction,
        help="draw every species equally often in training, rare ones repeating (default on)",
    )
    _option(
        data,
        "--background-share",
        type=cli.fraction_below_one,
        help="with --balance, the fraction of training examples drawn from the (background) "
        "class, 0 to <1, the species sharing the rest equally (default: the background is "
        "drawn as often as each species)",
    )
    _option(data, "--cache", action="store_true", help="cache the decoded records in memory")
    _option(
        data,
        "--steps-per-epoch",
        type=int,
        help="training batches per epoch (default: one pass over the training split)",
    )

    net = parser.add_argument_group("model")
    _option(
        net,
        "--architecture",
        choices=ARCHITECTURES,
        help="the base: inception-v3 (the original system's) or compact, a small CNN for "
        "training from scratch on a CPU (default %(default)s)",
    )
    _option(
        net,
        "--image-size",
        type=_image_size,
        help=f"side of the square image the base sees, at least {MIN_IMAGE_SIZE} (default %(default)s)",
    )
    _option(
        net,
        "--full-resolution",
        action="store_true",
        help="compact only: the base sees the time crop at its own size (frequency rows x "
        "frames, one channel) instead of a square RGB image of --image-size",
    )
    _option(
        net,
        "--weights",
        help="initial weights of the base: imagenet (downloaded), a local .h5 file, or none "
        "(default %(default)s)",
    )
    _option(
        net,
        "--init-from",
        metavar="JOB_DIR_OR_EXPORT",
        help="start the base from the exported model of an earlier run (instead of --weights; "
        "the head is new, for this dataset's species); its dataset must have the same front "
        "end, and the same --architecture, --image-size and --full-resolution",
    )
    _option(net, "--dropout", type=float, help="dropout rate before the head (default %(default)s)")

    fit = parser.add_argument_group("training")
    _option(
        fit,
        "--head-epochs",
        type=int,
        help="phase 1 epochs, training the head only (default %(default)s)",
    )
    _option(
        fit,
        "--base-epochs",
        type=int,
        help="phase 2 epochs, training base and head (default %(default)s)",
    )
    _option(
        fit,
        "--head-learning-rate",
        type=float,
        help="phase 1 learning rate (default %(default)s)",
    )
    _option(
        fit,
        "--base-learning-rate",
        type=float,
        help="phase 2 learning rate (default %(default)s)",
    )
    _option(
        fit,
        "--learning-rate-schedule",
        choices=LEARNING_RATE_SCHEDULES,
        help="constant (the original system's), or cosine: each phase warms up over its first "
        "epoch, then decays to 0 at its end (default %(default)s)",
    )
    _option(
        fit,
        "--unfreeze-from",
        help="phase 2 trains the base from this layer up, e.g. mixed8 (default: all of it)",
    )
    _option(
        fit,
        "--epsilon",
        type=float,
        help="Adam epsilon (default %(default)s; TensorFlow's Inception recipe used 0.1)",
    )
    _option(
        fit,
        "--label-smoothing",
        type=float,
        help="label smoothing of the loss (default %(default)s)",
    )
    _option(
        fit,
        "--weight-decay",
        type=float,
        help="Adam's decoupled weight decay (default %(default)s)",
    )
    _option(
        fit,
        "--ema-momentum",
        type=cli.fraction_below_one,
        help="validate, keep and export an exponential moving average of the weights, each "
        "step average = M * average + (1 - M) * weights (e.g. 0.999); BatchNorm statistics "
        "are not averaged; 0: off (default %(default)s)",
    )
    _option(
        fit,
        "--ensemble",
        type=cli.positive_int,
        metavar="N",
        help="train N models with seeds --seed, --seed + 1, ... (each a run of its own in "
        "JOB_DIR/members/K) and export one model giving the mean of their probabilities, "
        "evaluated like a single one (default %(default)s: no ensemble)",
    )
    _option(
        fit,
        "--mixed-precision",
        action=argparse.BooleanOptionalAction,
        help="float16 compute on a GPU (default on; never on the CPU); the softmax stays float32",
    )
    _option(
        fit,
        "--seed",
        type=int,
        help="random seed: the same random seed, data and flags give the same run on a CPU "
        "(default: none, which is faster)",
    )
    _option(
        fit,
        "--best-by",
        choices=BEST_BY,
        help="the exported epoch: highest per-recording validation accuracy (ties: lowest "
        "val_loss), or lowest val_loss (default %(default)s)",
    )

    _option(
        parser,
        "--multi-label",
        choices=MULTI_LABEL,
        help="on: a sigmoid per species with binary cross-entropy, for snippets of several "
        "labels, and a threshold per species chosen on validation (F1-optimal, exported in "
        "thresholds.json, used by predict); auto: on for datasets built from annotations "
        "(default %(default)s)",
    )

    augment = parser.add_argument_group("augmentation (training only, inside the model)")
    _option(
        augment,
        "--time-masks",
        type=int,
        help="SpecAugment time masks per example (default %(default)s)",
    )
    _option(
        augment,
        "--frequency-masks",
        type=int,
        help="SpecAugment frequency masks per example (default %(default)s)",
    )
    _option(
        augment,
        "--mask-fraction",
        type=float,
        help="widest mask as a fraction of the axis (default %(default)s)",
    )
    _option(
        augment,
        "--gain",
        type=float,
        help="random brightness (gain in the dB image) up to this fraction of the range "
        "(default %(default)s)",
    )
    _option(augment, "--contrast", type=float, help="random contrast factor (default %(default)s)")
    _option(
        augment,
        "--mixup",
        type=float,
        help="mixup of two training examples and their labels, Beta(a, a) weights; 0: off "
        "(default %(default)s)",
    )

    job = parser.add_argument_group("job")
    _option(
        job,
        "--job-dir",
        help="checkpoints, logs and exports, local or gs:// (default %(default)s)",
    )
    again = job.add_mutually_exclusive_group()
    _option(
        again, "--resume", action="store_true", help="continue the interrupted run in --job-dir"
    )
    _option(
        again, "--overwrite", action="store_true", help="delete the run already in --job-dir first"
    )
    _option(
        job,
        "--backup-every-steps",
        type=int,
        help="also back up for --resume every N batches (default: at each epoch's end)",
    )
    _option(job, "--export-tflite", action="store_true", help="also export a float16 TFLite model")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of python -m trainer.task; returns the exit status."""
    args = parse_args(argv)
    cli.quiet_start("trainer")  # before TensorFlow loads, which importing trainer.train does
    from trainer import train

    errors = (TrainerError, DatasetFormatError)
    return cli.run(lambda: train.train(args), errors, INTERRUPTED)


if __name__ == "__main__":
    raise SystemExit(main())
