"""Fine-tunes Inception-v3 on a spectrogram dataset built by pipeline.build.

Usage: python -m trainer.task --data-dir DATASET --job-dir JOB_DIR [flags]
"""

from __future__ import annotations

import argparse

from pipeline import cli
from schemas import DatasetFormatError
from trainer import TrainerError, model, train
from trainer.options import PRESETS, TrainOptions

DEFAULT_DATA_DIR = TrainOptions.data_dir
DEFAULT_JOB_DIR = TrainOptions.job_dir
INTERRUPTED = "training stopped; the same command with --resume continues from the last backup"


def _image_size(value: str) -> int:
    size = int(value)
    if size < model.MIN_IMAGE_SIZE:
        raise argparse.ArgumentTypeError(f"must be at least {model.MIN_IMAGE_SIZE}")
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
    return TrainOptions(**vars(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
    )
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="seed: ImageNet weights, 299x299, head then all layers (the defaults); scratch-cpu: "
        "the from-scratch recipe for a CPU in about 30 minutes (see README); flags given "
        "explicitly override the preset's",
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data-dir",
        default=DEFAULT_DATA_DIR,
        help="built dataset, local or gs:// (default %(default)s)",
    )
    data.add_argument(
        "--batch-size", type=int, default=32, help="examples per batch (default %(default)s)"
    )
    data.add_argument(
        "--balance",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="draw every species equally often in training, rare ones repeating (default on)",
    )
    data.add_argument("--cache", action="store_true", help="cache the decoded records in memory")
    data.add_argument(
        "--steps-per-epoch",
        type=int,
        default=None,
        help="training batches per epoch (default: one pass over the training split)",
    )

    net = parser.add_argument_group("model")
    net.add_argument(
        "--architecture",
        choices=model.ARCHITECTURES,
        default=TrainOptions.architecture,
        help="the base: inception-v3 (the seed's) or compact, a small CNN for training from "
        "scratch on a CPU (default %(default)s)",
    )
    net.add_argument(
        "--image-size",
        type=_image_size,
        default=299,
        help=f"side of the square image the base sees, at least {model.MIN_IMAGE_SIZE} (default %(default)s)",
    )
    net.add_argument(
        "--weights",
        default="imagenet",
        help="initial weights of the base: imagenet (downloaded; the default), a local .h5 file, or none",
    )
    net.add_argument(
        "--dropout",
        type=float,
        default=0.5,
        help="dropout rate before the head (default %(default)s)",
    )

    fit = parser.add_argument_group("training")
    fit.add_argument(
        "--head-epochs",
        type=int,
        default=5,
        help="phase 1 epochs, training the head only (default %(default)s)",
    )
    fit.add_argument(
        "--base-epochs",
        type=int,
        default=20,
        help="phase 2 epochs, training base and head (default %(default)s)",
    )
    fit.add_argument(
        "--head-learning-rate",
        type=float,
        default=1e-3,
        help="phase 1 learning rate (default %(default)s)",
    )
    fit.add_argument(
        "--base-learning-rate",
        type=float,
        default=1e-4,
        help="phase 2 learning rate (default %(default)s)",
    )
    fit.add_argument(
        "--learning-rate-schedule",
        choices=("constant", "cosine"),
        default=TrainOptions.learning_rate_schedule,
        help="constant (the seed's), or cosine: each phase warms up over its first epoch, "
        "then decays to 0 at its end (default %(default)s)",
    )
    fit.add_argument(
        "--unfreeze-from",
        default=None,
        help="phase 2 trains the base from this layer up, e.g. mixed8 (default: all of it)",
    )
    fit.add_argument(
        "--epsilon",
        type=float,
        default=1e-7,
        help="Adam epsilon (default %(default)s; TensorFlow's Inception recipe used 0.1)",
    )
    fit.add_argument(
        "--label-smoothing",
        type=float,
        default=0.0,
        help="label smoothing of the loss (default %(default)s)",
    )
    fit.add_argument(
        "--weight-decay",
        type=float,
        default=0.0,
        help="Adam's decoupled weight decay (default %(default)s)",
    )
    fit.add_argument(
        "--mixed-precision",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="float16 compute on a GPU (default on; never on the CPU); the softmax stays float32",
    )
    fit.add_argument(
        "--seed",
        type=int,
        default=None,
        help="random seed: the same seed, data and flags give the same run on a CPU",
    )
    fit.add_argument(
        "--best-by",
        choices=("recording_accuracy", "loss"),
        default=TrainOptions.best_by,
        help="the exported epoch: highest per-recording validation accuracy (ties: lowest "
        "val_loss), or lowest val_loss (default %(default)s)",
    )

    augment = parser.add_argument_group("augmentation (training only, inside the model)")
    augment.add_argument(
        "--time-masks", type=int, default=0, help="SpecAugment time masks per example (default 0)"
    )
    augment.add_argument(
        "--frequency-masks",
        type=int,
        default=0,
        help="SpecAugment frequency masks per example (default 0)",
    )
    augment.add_argument(
        "--mask-fraction",
        type=float,
        default=TrainOptions.mask_fraction,
        help="widest mask as a fraction of the axis (default %(default)s)",
    )
    augment.add_argument(
        "--gain",
        type=float,
        default=0.0,
        help="random brightness (gain in the dB image) up to this fraction of the range (default 0)",
    )
    augment.add_argument(
        "--contrast", type=float, default=0.0, help="random contrast factor (default 0)"
    )
    augment.add_argument(
        "--mixup",
        type=float,
        default=0.0,
        help="mixup of two training examples and their labels, Beta(a, a) weights; 0: off (default)",
    )

    job = parser.add_argument_group("job")
    job.add_argument(
        "--job-dir",
        default=DEFAULT_JOB_DIR,
        help="checkpoints, logs and exports, local or gs:// (default %(default)s)",
    )
    again = job.add_mutually_exclusive_group()
    again.add_argument(
        "--resume", action="store_true", help="continue the interrupted run in --job-dir"
    )
    again.add_argument(
        "--overwrite", action="store_true", help="delete the run already in --job-dir first"
    )
    job.add_argument(
        "--backup-every-steps",
        type=int,
        default=0,
        help="also back up for --resume every N batches (default: at each epoch's end)",
    )
    job.add_argument(
        "--export-tflite", action="store_true", help="also export a float16 TFLite model"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of python -m trainer.task; returns the exit status."""
    args = parse_args(argv)
    cli.quiet_start("trainer")
    errors = (TrainerError, DatasetFormatError)
    return cli.run(lambda: train.train(args), errors, INTERRUPTED)


if __name__ == "__main__":
    raise SystemExit(main())
