"""Two-phase fine-tuning (head, then base) with checkpoints, resume, logs, export and evaluation."""

from __future__ import annotations

import csv
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

import schemas
from schemas import DatasetFormatError
from trainer import TrainerError, inputs
from trainer.callbacks import Backup, BestEpoch, EpochLog, Validation
from trainer.evaluation import evaluate, summarize
from trainer.export import export_model
from trainer.job_dir import (
    BEST_STATE,
    BEST_WEIGHTS,
    LAST_WEIGHTS,
    RUN_FILE,
    JobDir,
    read_json_file,
    write_json_file,
)
from trainer.model import Augmentation, build_model, resolve_weights, set_phase
from trainer.options import TrainOptions

SPECTROGRAMS_LOGGED = 6

logger = logging.getLogger(__name__)


def train(
    args: TrainOptions, extra_callbacks: Sequence[keras.callbacks.Callback] = ()
) -> dict[str, Any]:
    """Trains, exports and evaluates the best epoch's model; returns the test metrics or {}.

    With a seed, the run is repeatable on a CPU: seeded weights, shuffles, crops and masks, and
    TensorFlow's deterministic ops (tf.config.experimental.enable_op_determinism).
    """
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
        tf.config.experimental.enable_op_determinism()
        _run_ops_one_at_a_time()
    info, labels = inputs.read_info_and_labels(args.data_dir)
    for split in ("train", "validation"):
        if not inputs.split_size(info, split):
            raise DatasetFormatError(f"{args.data_dir}: the {split} split has no examples")
    # first: an offline machine leaves no job dir behind
    weights = resolve_weights(args.weights, args.architecture)
    job = JobDir(args.job_dir)
    _prepare_job_dir(args, job)
    use_mixed_precision = _log_devices() and args.mixed_precision
    height, width = info.image.height, info.image.width

    def new_model(weights: str | None, mixed_precision: bool) -> keras.Model:
        return build_model(
            height,
            width,
            len(labels),
            architecture=args.architecture,
            image_size=args.image_size,
            weights=weights,
            dropout=args.dropout,
            freeze_batchnorm=args.weights != "none",
            mixed_precision=mixed_precision,
            seed=args.seed,
            augmentation=Augmentation(
                args.frequency_masks, args.time_masks, args.mask_fraction, args.gain, args.contrast
            ),
        )

    train_data = inputs.train_dataset(
        args.data_dir,
        info,
        labels,
        args.batch_size,
        balance=args.balance,
        cache=args.cache,
        seed=args.seed,
        mixup=args.mixup,
    )
    validation_data = inputs.eval_dataset(
        args.data_dir, "validation", info, labels, args.batch_size, cache=True
    )
    phases = (
        (1, args.head_epochs, args.head_learning_rate),
        (2, args.base_epochs, args.base_learning_rate),
    )
    first_epoch = 0
    on_terminal = sys.stdout.isatty()  # Keras' progress bar there, else EpochLog's lines
    with inputs.data_errors(args.data_dir):
        _log_spectrograms(job.logs, validation_data, labels)
        for phase, epochs, learning_rate in phases:
            if epochs and phase > _phases_done(job):
                earlier = job.phase_weights(phase - 1)
                resume_from = tf.io.gfile.exists(earlier) and phase == 2
                model = new_model(None if resume_from else weights, use_mixed_precision)
                if resume_from:
                    model.load_weights(earlier)
                set_phase(model, phase, args.unfreeze_from)
                steps_per_epoch = args.steps_per_epoch or inputs.steps_per_epoch(
                    info, args.batch_size
                )
                _compile(model, args, _learning_rate(args, learning_rate, epochs, steps_per_epoch))
                backup_dir = job.backup(phase)
                resumed_at = Backup.restore(model, backup_dir)
                logger.info("phase %d: %s", phase, "head only" if phase == 1 else "base and head")
                model.fit(
                    train_data,
                    initial_epoch=first_epoch if resumed_at is None else resumed_at,
                    epochs=first_epoch + epochs,
                    steps_per_epoch=steps_per_epoch,
                    shuffle=False,  # the dataset shuffles itself
                    verbose=1 if on_terminal else 0,
                    callbacks=[
                        Validation(validation_data, labels, args.label_smoothing),
                        *([] if on_terminal else [EpochLog()]),
                        *_callbacks(args, job, backup_dir),
                        *extra_callbacks,
                    ],
                )
                model.save_weights(job.phase_weights(phase))
                if tf.io.gfile.exists(backup_dir):
                    tf.io.gfile.rmtree(backup_dir)
                write_json_file(job.state, {"phases_done": phase})
            first_epoch += epochs

    model = new_model(None, mixed_precision=False)  # exported in float32, for any device
    model.load_weights(job.checkpoint(BEST_WEIGHTS))
    export_dir = export_model(model, args.job_dir, args.data_dir, tflite=args.export_tflite)
    metrics = {}
    if inputs.split_size(info, "test"):
        metrics = evaluate(model, args.data_dir, "test", args.job_dir, batch_size=args.batch_size)
    print(_summary(args, job, info, labels, export_dir, metrics))
    return metrics


def _run_ops_one_at_a_time() -> None:
    """One op at a time (inter-op threads 1; each op still uses every core).

    With TensorFlow's default inter-op pool, two from-scratch runs of the same seed, input and
    initial weights drifted apart within 4 steps on a CPU; with one inter-op thread they agreed
    (BENCHMARKS.md, 6). Only settable before TensorFlow's runtime starts, so a process that
    already ran ops (a second run in one interpreter) keeps its pool, with a warning.
    """
    if tf.config.threading.get_inter_op_parallelism_threads() == 1:
        return
    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        logger.warning("warning: TensorFlow already started in this process; --seed runs may drift")


def _learning_rate(
    args: TrainOptions, peak: float, epochs: int, steps_per_epoch: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """A phase's learning rate: constant, or a cosine decay after one epoch of linear warm-up.

    The schedule counts the optimizer's steps, which a resumed run restores with its weights.
    """
    if args.learning_rate_schedule == "constant":
        return peak
    warmup = steps_per_epoch if epochs > 1 else 0
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else peak,
        decay_steps=epochs * steps_per_epoch - warmup,
        warmup_target=peak if warmup else None,
        warmup_steps=warmup,
    )


def _compile(
    model: keras.Model,
    args: TrainOptions,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule,
) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate, epsilon=args.epsilon, weight_decay=args.weight_decay or None
        ),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=args.label_smoothing),
        metrics=[
            keras.metrics.CategoricalAccuracy(name="accuracy"),
            keras.metrics.TopKCategoricalAccuracy(
                k=min(5, model.output.shape[-1]), name="top5_accuracy"
            ),
        ],
    )


def _callbacks(args: TrainOptions, job: JobDir, backup_dir: str) -> list[keras.callbacks.Callback]:
    return [
        BestEpoch(job.checkpoint(BEST_WEIGHTS), job.checkpoint(BEST_STATE), args.best_by),
        Backup(backup_dir, args.backup_every_steps),
        keras.callbacks.ModelCheckpoint(job.checkpoint(LAST_WEIGHTS), save_weights_only=True),
        keras.callbacks.TensorBoard(job.logs, write_graph=False),
        keras.callbacks.CSVLogger(job.history, append=True),
    ]


def _prepare_job_dir(args: TrainOptions, job: JobDir) -> None:
    """Refuses to mix two runs in one job dir, or to delete what is not a run; records the flags."""
    job_dir = job.path
    entries = tf.io.gfile.listdir(job_dir) if tf.io.gfile.exists(job_dir) else []
    holds_run = RUN_FILE in entries
    if entries and not holds_run:
        raise TrainerError(f"{job_dir} holds files but no trainer run; pick another --job-dir")
    if holds_run and args.overwrite:
        tf.io.gfile.rmtree(job_dir)
    elif holds_run and not args.resume:
        raise TrainerError(
            f"{job_dir} holds another run; pass --resume to continue it or --overwrite to replace it"
        )
    if holds_run and args.resume:
        logger.info("resuming the run in %s after phase %d", job_dir, _phases_done(job))
        return
    if args.resume:
        logger.info("nothing to resume in %s; starting a new run", job_dir)
    tf.io.gfile.makedirs(job.checkpoints)  # also for --head-epochs 0
    write_json_file(job.run, args.to_dict())


def _log_devices() -> bool:
    """Logs the devices TensorFlow sees; returns whether there is a GPU."""
    devices = tf.config.list_physical_devices()
    logger.info("TensorFlow sees: %s", ", ".join(device.name for device in devices))
    has_gpu = any(device.device_type == "GPU" for device in devices)
    if not has_gpu:
        logger.warning("warning: no GPU visible; training falls back to the CPU and will be slow")
    return has_gpu


def _log_spectrograms(log_dir: str, dataset: tf.data.Dataset, labels: list[str]) -> None:
    """Writes a few validation spectrograms to TensorBoard, named by species, 0 Hz at the bottom.

    (Not training ones: an extra iterator of the training data, abandoned while it prefetches,
    would draw from the seed generators its shuffles share with fit's, and a seeded run would
    no longer repeat.)
    """
    features = next(iter(dataset))
    spectrograms = features["spectrogram"]
    with tf.summary.create_file_writer(os.path.join(log_dir, "spectrograms")).as_default():
        for index in range(min(SPECTROGRAMS_LOGGED, len(spectrograms))):
            species = labels[int(features["label"][index])]
            tf.summary.image(f"{index}: {species}", spectrograms[index, ::-1, :, None][None], 0)


def _phases_done(job: JobDir) -> int:
    state = read_json_file(job.state)
    return state["phases_done"] if state else 0


def _history(job: JobDir) -> list[dict[str, str]]:
    path = job.history
    if not tf.io.gfile.exists(path):
        return []
    with tf.io.gfile.GFile(path) as f:
        return list(csv.DictReader(f))


def _summary(
    args: TrainOptions,
    job: JobDir,
    info: schemas.DatasetInfo,
    labels: list[str],
    export_dir: str,
    metrics: dict[str, Any],
) -> str:
    """One screen about the finished run."""
    history = _history(job)
    best = read_json_file(job.checkpoint(BEST_STATE))
    counts = ", ".join(f"{split} {info.counts.examples[split]}" for split in schemas.SPLITS)
    lines = [
        f"Training finished in {args.job_dir}",
        f"  data:        {args.data_dir}: {len(labels)} species; examples {counts}",
        f"  epochs:      {args.head_epochs} head only, then {args.base_epochs} with the base "
        f"(from {args.unfreeze_from or 'its first layer'}); image size {args.image_size}",
        f"  best epoch:  {best['epoch'] + 1} of {len(history)} by {best['by']}: "
        f"{_validation(best)} (the exported model)",
        f"  last epoch:  {_validation(history[-1])}",
        f"  evaluation:  {summarize(metrics) if metrics else 'no test examples'}",
        f"  exported:    {export_dir} (model.keras, saved_model/, labels.txt, dataset.json"
        f"{', model.tflite' if args.export_tflite else ''})",
        f"  history:     {job.history}; metrics: {job.metrics('test')}",
        f"  TensorBoard: tensorboard --logdir {job.logs}",
    ]
    return "\n".join(lines)


def _validation(row: dict[str, Any]) -> str:
    return (
        f"val_loss {float(row['val_loss']):.4f}, val_accuracy {float(row['val_accuracy']):.3f}, "
        f"per recording {float(row['val_recording_accuracy']):.3f}"
    )
