"""Training in two phases (the head, then base and head) with checkpoints, resume, logs, export
and evaluation.

train() runs three steps: prepare (seeding, checks, the base's weights, the job dir, the
datasets), fit_phase for each phase not done yet (the same step for both), and finish (export,
test metrics, summary).
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

import schemas
from schemas import DatasetFormatError
from trainer import TrainerError, detection, inputs, multilabel
from trainer.callbacks import Backup, BestEpoch, EpochLog, Validation
from trainer.evaluation import evaluate, predict_split, summarize
from trainer.export import export_model, load_exported_model
from trainer.job_dir import (
    BEST_STATE,
    BEST_WEIGHTS,
    INIT_WEIGHTS,
    LAST_WEIGHTS,
    JobDir,
    read_json_file,
    write_json_file,
)
from trainer.losses import MaskedAUC, MaskedBinaryCrossentropy
from trainer.model import (
    BASE_NAMES,
    Augmentation,
    base_input_shape,
    base_of,
    build_model,
    ensemble,
    resolve_weights,
    set_phase,
)
from trainer.options import TrainOptions

SPECTROGRAMS_LOGGED = 6
_NO_DETECTION = (
    "no threshold (the validation split lacks bird or background windows); predict calls a "
    "window background where the background is the most probable label"
)

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Phase:
    """One phase of a run: 1 trains the head only, 2 the base and head."""

    number: int
    epochs: int
    learning_rate: float
    first_epoch: int  # the run's epochs before this phase


@dataclasses.dataclass(frozen=True, kw_only=True)
class Run:
    """What the steps of one training run share, once prepared."""

    options: TrainOptions
    info: schemas.DatasetInfo
    label_names: list[str]
    job: JobDir
    base_input: tuple[int, int, int]  # (rows, columns, channels) the base sees
    base_weights: str | None  # the base's initial weights file; None: random
    mixed_precision: bool
    train_data: tf.data.Dataset
    validation_data: tf.data.Dataset
    multi_label: bool = False  # a sigmoid per species, thresholds chosen on validation

    def new_model(self, base_weights: str | None, *, mixed_precision: bool) -> keras.Model:
        """The classifier of these options, its base initialised from `base_weights`."""
        options = self.options
        return build_model(
            self.info.image.height,
            self.info.image.width,
            len(self.label_names),
            architecture=options.architecture,
            image_size=options.image_size,
            full_resolution=options.full_resolution,
            weights=base_weights,
            dropout=options.dropout,
            freeze_batchnorm=options.weights != "none",
            mixed_precision=mixed_precision,
            seed=options.seed,
            augmentation=Augmentation(
                frequency_masks=options.frequency_masks,
                time_masks=options.time_masks,
                mask_fraction=options.mask_fraction,
                gain=options.gain,
                contrast=options.contrast,
            ),
            multi_label=self.multi_label,
        )

    def phases(self) -> list[Phase]:
        """Both phases, in order, with the epoch each starts at (a phase may have 0 epochs)."""
        options = self.options
        return [
            Phase(
                number=1,
                epochs=options.head_epochs,
                learning_rate=options.head_learning_rate,
                first_epoch=0,
            ),
            Phase(
                number=2,
                epochs=options.base_epochs,
                learning_rate=options.base_learning_rate,
                first_epoch=options.head_epochs,
            ),
        ]


def train(
    args: TrainOptions, extra_callbacks: Sequence[keras.callbacks.Callback] = ()
) -> dict[str, Any]:
    """Trains, exports and evaluates the best epoch's model; returns the test metrics or {}.

    With a seed, the run is repeatable on a CPU: seeded weights, shuffles, crops and masks, and
    TensorFlow's deterministic ops (tf.config.experimental.enable_op_determinism).
    """
    if args.ensemble > 1:
        return train_ensemble(args, extra_callbacks)
    run = prepare(args)
    with inputs.data_errors(args.data_dir):
        _log_spectrograms(run.job.logs, run.validation_data, run.label_names)
        for phase in run.phases():
            if phase.epochs and phase.number > run.job.phases_done():
                fit_phase(run, phase, extra_callbacks)
    return finish(run)


def prepare(args: TrainOptions) -> Run:
    """Seeds the run, checks the dataset, finds the base's weights, starts (or resumes) the run
    in its job dir and opens the training and validation data.

    The order matters: a seeded run's random ops are created in it, and an offline machine
    fails on the weights before any job dir is made.
    """
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
        tf.config.experimental.enable_op_determinism()
        _run_ops_one_at_a_time()
    info, label_names = inputs.read_info_and_labels(args.data_dir)
    for split in ("train", "validation"):
        if not inputs.split_size(info, split):
            raise DatasetFormatError(f"{args.data_dir}: the {split} split has no examples")
    base_input = base_input_shape(
        info.image.height,
        info.image.width,
        architecture=args.architecture,
        image_size=args.image_size,
        full_resolution=args.full_resolution,
    )
    if args.init_from:
        initial_base = _exported_base(args, info, base_input)
    else:
        base_weights = resolve_weights(args.weights, args.architecture)
    job = JobDir(args.job_dir)
    job.start_run(args)
    if args.init_from:
        base_weights = job.checkpoint(INIT_WEIGHTS)
        initial_base.save_weights(base_weights)
    mixed_precision = _log_devices() and args.mixed_precision
    multi_label = multilabel.wanted(args.multi_label, info.counts.windows_per_label)
    train_data = inputs.train_dataset(
        args.data_dir,
        info,
        label_names,
        args.batch_size,
        balance=args.balance,
        cache=args.cache,
        seed=args.seed,
        mixup=args.mixup,
        multi_label=multi_label,
        background_share=args.background_share,
    )
    validation_data = inputs.eval_dataset(
        args.data_dir, "validation", info, label_names, args.batch_size, cache=True
    )
    return Run(
        options=args,
        info=info,
        label_names=label_names,
        job=job,
        base_input=base_input,
        base_weights=base_weights,
        mixed_precision=mixed_precision,
        train_data=train_data,
        validation_data=validation_data,
        multi_label=multi_label,
    )


def _exported_base(
    args: TrainOptions, info: schemas.DatasetInfo, base_input: tuple[int, int, int]
) -> keras.Model:
    """The base of the export --init-from names, once it is known to fit this run: the same
    front end (spectrogram parameters and image size), architecture and base input."""
    exported, _, exported_info = load_exported_model(args.init_from)
    refused = f"--init-from {args.init_from}: "
    front_end = []
    for part in ("spectrogram", "image"):
        theirs = dataclasses.asdict(getattr(exported_info, part))
        ours = dataclasses.asdict(getattr(info, part))
        front_end += [f"{name} {theirs[name]} there, {ours[name]} here"
                      for name in ours if theirs[name] != ours[name]]  # fmt: skip
    if front_end:
        raise TrainerError(
            f"{refused}trained on another front end than {args.data_dir} "
            f"({', '.join(front_end)}); build the data with the export's dataset.json settings"
        )
    base = base_of(exported)
    if base.name != BASE_NAMES[args.architecture]:
        raise TrainerError(
            f"{refused}its base is {base.name}, not --architecture {args.architecture}'s"
        )
    exported_input = tuple(base.input.shape[1:])
    if exported_input != base_input:
        raise TrainerError(
            f"{refused}its base takes {'x'.join(map(str, exported_input))}, this run's "
            f"{'x'.join(map(str, base_input))} (--image-size, --full-resolution)"
        )
    return base


def fit_phase(
    run: Run, phase: Phase, extra_callbacks: Sequence[keras.callbacks.Callback] = ()
) -> None:
    """Trains one phase to its end, then saves its weights and marks it done in state.json.

    Phase 2 starts from phase 1's weights when there are some (else from the base's initial
    weights). A backup of an interrupted run (--resume) restores weights and optimizer and
    gives the epoch to go on from; epochs count over the whole run, as history.csv does.
    """
    args, job = run.options, run.job
    earlier = job.phase_weights(phase.number - 1)
    resume_from = tf.io.gfile.exists(earlier) and phase.number == 2
    model = run.new_model(
        None if resume_from else run.base_weights, mixed_precision=run.mixed_precision
    )
    if resume_from:
        model.load_weights(earlier)
    set_phase(model, phase.number, args.unfreeze_from)
    steps_per_epoch = args.steps_per_epoch or inputs.steps_per_epoch(run.info, args.batch_size)
    learning_rate = _learning_rate(args, phase.learning_rate, phase.epochs, steps_per_epoch)
    _compile(model, args, learning_rate, run.multi_label)
    backup_dir = job.backup(phase.number)
    resumed_at = Backup.restore(model, backup_dir)
    logger.info("phase %d: %s", phase.number, "head only" if phase.number == 1 else "base and head")
    on_terminal = sys.stdout.isatty()  # Keras' progress bar there, else EpochLog's lines
    model.fit(
        run.train_data,
        initial_epoch=phase.first_epoch if resumed_at is None else resumed_at,
        epochs=phase.first_epoch + phase.epochs,
        steps_per_epoch=steps_per_epoch,
        shuffle=False,  # the dataset shuffles itself
        verbose=1 if on_terminal else 0,
        callbacks=[*_callbacks(run, backup_dir, on_terminal), *extra_callbacks],
    )
    model.save_weights(job.phase_weights(phase.number))
    if tf.io.gfile.exists(backup_dir):
        tf.io.gfile.rmtree(backup_dir)
    write_json_file(job.state, {"phases_done": phase.number})


def train_ensemble(
    args: TrainOptions, extra_callbacks: Sequence[keras.callbacks.Callback] = ()
) -> dict[str, Any]:
    """Trains args.ensemble members, each a run of train() in JOB_DIR/members/K with seed
    seed + K, then exports and evaluates the mean of their exported models as one model."""
    run = prepare(args)
    members = []
    for index in range(args.ensemble):
        member = dataclasses.replace(
            args,
            job_dir=run.job.member(index),
            seed=None if args.seed is None else args.seed + index,
            ensemble=1,
        )
        train(member, extra_callbacks)
        members.append(load_exported_model(member.job_dir)[0])
    export_dir, metrics, detected = _export_and_evaluate(run, ensemble(members))
    print(_summary(run, export_dir, metrics, detected))
    return metrics


def finish(run: Run) -> dict[str, Any]:
    """Exports the best epoch's model (in float32, for any device) with, for a single-label
    model with the background class, its detection threshold chosen on validation; evaluates
    it on the test split when there is one, prints the summary; returns the test metrics or
    {}."""
    model = run.new_model(None, mixed_precision=False)
    model.load_weights(run.job.checkpoint(BEST_WEIGHTS))
    export_dir, metrics, detected = _export_and_evaluate(run, model)
    print(_summary(run, export_dir, metrics, detected))
    return metrics


def _export_and_evaluate(
    run: Run, model: keras.Model
) -> tuple[str, dict[str, Any], detection.Detection | None]:
    """Exports the run's final model, with multi-label thresholds or its detection threshold,
    and evaluates it on the test split when there is one; returns the export dir, the test
    metrics or {}, and the detection threshold or None."""
    args = run.options
    export_dir = export_model(model, args.job_dir, args.data_dir, tflite=args.export_tflite)
    thresholds = None
    if run.multi_label:  # F1-optimal per species on validation, exported beside the model
        scores, targets, _ = multilabel.predict_targets(model, run.validation_data)
        thresholds = multilabel.best_thresholds(targets, scores)
        multilabel.write_thresholds(export_dir, run.label_names, thresholds)
    detected = None
    if _has_detection(run):
        detected = detection.best_detection(*predict_split(model, run.validation_data)[:2])
        if detected:
            detection.write_detection(export_dir, detected)
    metrics = {}
    if inputs.split_size(run.info, "test"):
        metrics = evaluate(model, args.data_dir, "test", args.job_dir, batch_size=args.batch_size,
                           thresholds=thresholds)  # fmt: skip
    return export_dir, metrics, detected


def _has_detection(run: Run) -> bool:
    """Whether the run's model has a detection threshold: single-label, with the background."""
    return not run.multi_label and run.label_names[-1] == schemas.BACKGROUND_LABEL


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
    multi_label: bool = False,
) -> None:
    optimizer = keras.optimizers.Adam(
        learning_rate,
        epsilon=args.epsilon,
        weight_decay=args.weight_decay or None,
        use_ema=bool(args.ema_momentum),
        ema_momentum=args.ema_momentum,
    )
    if multi_label:
        model.compile(
            optimizer=optimizer,
            loss=MaskedBinaryCrossentropy(label_smoothing=args.label_smoothing),
            metrics=[MaskedAUC(curve="PR", multi_label=True, name="mean_ap")],
        )
        return
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=args.label_smoothing),
        metrics=[
            keras.metrics.CategoricalAccuracy(name="accuracy"),
            keras.metrics.TopKCategoricalAccuracy(
                k=min(5, model.output.shape[-1]), name="top5_accuracy"
            ),
        ],
    )


def _callbacks(run: Run, backup_dir: str, on_terminal: bool) -> list[keras.callbacks.Callback]:
    """The callbacks of fit, in order: at an epoch's end, Validation, BestEpoch and the last
    checkpoint see the moving average of the weights with --ema-momentum (a SwapEMAWeights puts
    it into the model), and Backup the weights in training (a second one swaps them back), so
    that --resume goes on from what the optimizer trained. After the last epoch the model
    holds the average (Keras' finalize_variable_values), which the phase's weights keep."""
    args, job = run.options, run.job
    averaged = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if args.ema_momentum else []
    return [
        *averaged,
        Validation(run.validation_data, run.label_names, args.label_smoothing, run.multi_label),
        *([] if on_terminal else [EpochLog()]),
        BestEpoch(job.checkpoint(BEST_WEIGHTS), job.checkpoint(BEST_STATE), args.best_by),
        keras.callbacks.ModelCheckpoint(job.checkpoint(LAST_WEIGHTS), save_weights_only=True),
        *(keras.callbacks.SwapEMAWeights(swap_on_epoch=True) for _ in averaged),
        Backup(backup_dir, args.backup_every_steps),
        keras.callbacks.TensorBoard(job.logs, write_graph=False),
        keras.callbacks.CSVLogger(job.history, append=True),
    ]


def _log_devices() -> bool:
    """Logs the devices TensorFlow sees; returns whether there is a GPU."""
    devices = tf.config.list_physical_devices()
    logger.info("TensorFlow sees: %s", ", ".join(device.name for device in devices))
    has_gpu = any(device.device_type == "GPU" for device in devices)
    if not has_gpu:
        logger.warning("warning: no GPU visible; training falls back to the CPU and will be slow")
    return has_gpu


def _log_spectrograms(log_dir: str, dataset: tf.data.Dataset, label_names: list[str]) -> None:
    """Writes a few validation spectrograms to TensorBoard, named by species, 0 Hz at the bottom.

    (Not training ones: an extra iterator of the training data, abandoned while it prefetches,
    would draw from the seed generators its shuffles share with fit's, and a seeded run would
    no longer repeat.)
    """
    features = next(iter(dataset))
    spectrograms = features["spectrogram"]
    with tf.summary.create_file_writer(os.path.join(log_dir, "spectrograms")).as_default():
        for index in range(min(SPECTROGRAMS_LOGGED, len(spectrograms))):
            species = label_names[int(features["label"][index])]
            tf.summary.image(f"{index}: {species}", spectrograms[index, ::-1, :, None][None], 0)


def _history(job: JobDir) -> list[dict[str, str]]:
    path = job.history
    if not tf.io.gfile.exists(path):
        return []
    with tf.io.gfile.GFile(path) as f:
        return list(csv.DictReader(f))


def _summary(
    run: Run, export_dir: str, metrics: dict[str, Any], detected: detection.Detection | None
) -> str:
    """One screen about the finished run (or ensemble)."""
    args, job, info = run.options, run.job, run.info
    counts = ", ".join(f"{split} {info.counts.examples[split]}" for split in schemas.SPLITS)
    lines = [
        f"Training finished in {args.job_dir}",
        f"  data:        {args.data_dir}: {len(run.label_names)} species; examples {counts}",
        f"  epochs:      {args.head_epochs} head only, then {args.base_epochs} with the base "
        f"(from {args.unfreeze_from or 'its first layer'}); the base sees "
        f"{'x'.join(map(str, run.base_input))}",
        *(_members(run) if args.ensemble > 1 else _epochs(job)),
        f"  evaluation:  {summarize(metrics) if metrics else 'no test examples'}",
        f"  exported:    {export_dir} (model.keras, saved_model/, labels.txt, dataset.json"
        f"{', detection.json' if detected else ''}{', model.tflite' if args.export_tflite else ''})",
        *(
            [f"  detection:   {detected.describe() if detected else _NO_DETECTION}"]
            if _has_detection(run)
            else []
        ),
        f"  metrics:     {job.metrics('test')}",
    ]
    return "\n".join(lines)


def _epochs(job: JobDir) -> list[str]:
    history = _history(job)
    best = read_json_file(job.checkpoint(BEST_STATE))
    return [
        f"  best epoch:  {best['epoch'] + 1} of {len(history)} by {best['by']}: "
        f"{_validation(best)} (the exported model)",
        f"  last epoch:  {_validation(history[-1])}",
        f"  history:     {job.history}",
        f"  TensorBoard: tensorboard --logdir {job.logs}",
    ]


def _members(run: Run) -> list[str]:
    args = run.options
    seeds = "none" if args.seed is None else f"{args.seed} to {args.seed + args.ensemble - 1}"
    lines = [f"  ensemble:    the mean of {args.ensemble} members (seeds {seeds}), each its "
             f"run's best epoch:"]  # fmt: skip
    for index in range(args.ensemble):
        member = JobDir(run.job.member(index))
        best = read_json_file(member.checkpoint(BEST_STATE))
        lines.append(f"    {member.path}: epoch {best['epoch'] + 1}, {_validation(best)}")
    return lines


def _validation(row: dict[str, Any]) -> str:
    return (
        f"val_loss {float(row['val_loss']):.4f}, val_accuracy {float(row['val_accuracy']):.3f}, "
        f"per recording {float(row['val_recording_accuracy']):.3f}"
    )
