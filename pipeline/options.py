"""Command-line flags of the dataset builder; every other flag goes to Beam unchanged."""

from __future__ import annotations

import argparse
import dataclasses

from frontend.audio import DECODERS
from frontend.snippets import SnippetSelection
from pipeline import cli
from pipeline.annotations import options as annotation_options
from pipeline.catalog import LAYOUTS, Selections
from schemas import SEED_FRONT_END, SpectrogramParams, compression_of
from schemas.dataset_info import FREQUENCY_SCALES, NORMALIZATIONS, SCALINGS

_DEFAULT_SPECTROGRAM = SpectrogramParams()
_DEFAULT_SNIPPETS = SnippetSelection()
_DEFAULT_SELECTIONS = Selections()
DEFAULT_FRACTIONS = {"train": 0.7, "validation": 0.15, "test": 0.15}


@dataclasses.dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """Everything the builder needs besides Beam's own pipeline options; its defaults are the
    flags' defaults."""

    input: str | None = None  # None: the demo corpus
    metadata: str | None = None
    layout: str = "folders"
    output: str = "demo-output/dataset"
    selections: Selections = _DEFAULT_SELECTIONS
    fractions: dict[str, float] = dataclasses.field(default_factory=lambda: dict(DEFAULT_FRACTIONS))
    seed: int = 0
    spectrogram: SpectrogramParams = _DEFAULT_SPECTROGRAM
    snippets: SnippetSelection = _DEFAULT_SNIPPETS
    min_seconds: float = 1.0
    decoder: str = "auto"
    num_shards: int = 0
    shard_mb: float = 100.0
    compression: str = "NONE"  # dataset.json's name: NONE or GZIP
    max_failure_fraction: float = 0.1
    overwrite: bool = False
    quiet: bool = False
    annotations: annotation_options.AnnotationOptions = annotation_options.AnnotationOptions()
    group_by: str = "recording"
    background_from: tuple[str, ...] = ()  # folders or globs of "(background)" recordings
    background_windows: int = 0  # most windows per --background-from file; 0: all


def _fractions(text: str) -> dict[str, float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected three numbers") from None
    if len(values) != 3 or any(v < 0 for v in values) or abs(sum(values) - 1.0) > 1e-6:
        raise argparse.ArgumentTypeError(f"{text!r}: three non-negative fractions adding up to 1")
    return dict(zip(("train", "validation", "test"), values, strict=True))


def _types(text: str) -> tuple[str, ...]:
    return tuple(word.strip().lower() for word in text.split(",") if word.strip())


def _paths(text: str) -> list[str]:
    return [path.strip() for path in text.split(",") if path.strip()]


def parser() -> argparse.ArgumentParser:
    """The builder's own flags."""
    p = argparse.ArgumentParser(
        prog="python -m pipeline.build",
        description="Build a spectrogram TFRecord dataset, split by recording, from bird "
        "recordings. With no --input, builds the embedded demo corpus. Flags not listed here "
        "(--runner, --direct_num_workers, --project, --region, --temp_location, --setup_file, "
        "...) go to Apache Beam unchanged. Locally, a corpus too short to repay starting a worker "
        "process per core (about 85 minutes of audio on 2 cores, 45 on 4, 35-40 on 8 or more) "
        "builds in this one process; --direct_running_mode in_memory (one process) or "
        "multi_processing (workers) forces either.",
    )
    p.add_argument(
        "--input", help="folder or glob of recordings, local or gs:// (default: the demo corpus)"
    )
    p.add_argument(
        "--metadata",
        help="metadata CSV, or xeno-canto API JSON pages (glob allowed), for --layout csv",
    )
    p.add_argument(
        "--layout",
        choices=LAYOUTS,
        help="folders: <input>/<species>/<file>; csv: species from --metadata; master-set: 'Species N ST Type.mp3'; annotations: the files --annotations names (default: csv with --metadata, annotations with --annotations, else folders)",
    )
    p.add_argument(
        "--output",
        default=BuildOptions.output,
        help="dataset folder, local or gs:// (default: %(default)s)",
    )
    p.add_argument(
        "--types",
        type=_types,
        default=_DEFAULT_SELECTIONS.types,
        help="comma-separated sound-type words to keep, matched within free-text types; '' keeps all (default: song)",
    )
    p.add_argument(
        "--min-recordings",
        type=int,
        default=_DEFAULT_SELECTIONS.min_recordings,
        help="keep species with at least this many recordings (default: %(default)s)",
    )
    p.add_argument(
        "--top-species",
        type=int,
        default=_DEFAULT_SELECTIONS.top_species,
        help="keep the K species with most recordings; 0 keeps all (default: %(default)s)",
    )
    p.add_argument(
        "--split",
        type=_fractions,
        default=",".join(f"{fraction:g}" for fraction in DEFAULT_FRACTIONS.values()),
        help="train,validation,test fractions of each species' recordings (default: %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=BuildOptions.seed,
        help="random seed of the split assignment (default: %(default)s)",
    )
    p.add_argument(
        "--preset",
        choices=("seed",),
        help="seed: the original system's front end, 224 rows evenly spaced from 0 Hz to Nyquist in dB "
        "(--frequency-rows 224 --frequency-scale linear --fmin 0 --normalization db); "
        "flags given explicitly override it",
    )
    p.add_argument(
        "--sample-rate",
        type=int,
        default=_DEFAULT_SPECTROGRAM.sample_rate,
        help="resample audio to this rate in Hz (default: %(default)s)",
    )
    p.add_argument(
        "--fft-size",
        type=int,
        default=_DEFAULT_SPECTROGRAM.fft_size,
        help="STFT frame length in samples (default: %(default)s)",
    )
    p.add_argument(
        "--hop",
        type=int,
        default=_DEFAULT_SPECTROGRAM.hop,
        help="STFT hop in samples (default: %(default)s)",
    )
    p.add_argument(
        "--window",
        default=_DEFAULT_SPECTROGRAM.window,
        help="STFT window, any scipy.signal.get_window name (default: %(default)s)",
    )
    p.add_argument(
        "--snippet-seconds",
        type=float,
        default=_DEFAULT_SPECTROGRAM.snippet_seconds,
        help="length of one example in seconds (default: %(default)s)",
    )
    p.add_argument(
        "--frequency-rows",
        type=int,
        default=_DEFAULT_SPECTROGRAM.frequency_rows,
        help="image rows spanning --fmin to --fmax (default: %(default)s)",
    )
    p.add_argument(
        "--db-range",
        type=float,
        default=_DEFAULT_SPECTROGRAM.db_range,
        help="dB below each snippet's maximum mapped to black, with --scaling snippet "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--frequency-scale",
        choices=FREQUENCY_SCALES,
        default=_DEFAULT_SPECTROGRAM.frequency_scale,
        help="rows evenly spaced in Hz (linear, the original system's) or in mel (default: %(default)s)",
    )
    p.add_argument(
        "--fmin",
        type=float,
        default=_DEFAULT_SPECTROGRAM.fmin,
        help="lowest frequency of the image in Hz; wind and traffic live below 500 (default: %(default)s)",
    )
    p.add_argument(
        "--fmax",
        type=float,
        default=_DEFAULT_SPECTROGRAM.fmax,
        help="highest frequency of the image in Hz; 0: half the sample rate (default: %(default)s)",
    )
    p.add_argument(
        "--normalization",
        choices=NORMALIZATIONS,
        default=_DEFAULT_SPECTROGRAM.normalization,
        help="db: dB below each snippet's maximum (the original system's); pcen: per-channel energy normalisation (default: %(default)s)",
    )
    p.add_argument(
        "--scaling",
        choices=SCALINGS,
        default=_DEFAULT_SPECTROGRAM.scaling,
        help="snippet: each image scaled by its own maximum, so a faint snippet looks as bright "
        "as a loud one (the original system's); fixed: one range for every snippet, -100..0 dB "
        "of full scale for db (instead of --db-range) or a fixed PCEN scale, so that loudness "
        "reaches the model (PCEN itself divides out most of it) (default: %(default)s)",
    )
    p.add_argument(
        "--snippets",
        choices=("loudest", "uniform"),
        default=_DEFAULT_SNIPPETS.method,
        help="loudest windows (the original system's) or evenly spaced windows (default: %(default)s)",
    )
    p.add_argument(
        "--cutoff",
        type=float,
        default=_DEFAULT_SNIPPETS.cutoff,
        help="loudest: stop below this fraction of the loudest window's energy (default: %(default)s)",
    )
    p.add_argument(
        "--max-snippets",
        type=int,
        default=_DEFAULT_SNIPPETS.max_per_recording,
        help="most snippets per recording; 0: one per --seconds-per-snippet of audio (default: %(default)s)",
    )
    p.add_argument(
        "--seconds-per-snippet",
        type=float,
        default=_DEFAULT_SNIPPETS.seconds_per_snippet,
        help="loudest: at most one snippet per this many seconds of audio (default: %(default)s)",
    )
    p.add_argument(
        "--overlap",
        type=float,
        default=_DEFAULT_SNIPPETS.overlap,
        help="uniform: overlap of consecutive windows, 0 to <1 (default: %(default)s)",
    )
    p.add_argument(
        "--train-overlap",
        type=cli.fraction_below_one,
        default=_DEFAULT_SNIPPETS.train_overlap,
        help="training split only: windows of every recording overlapping by this fraction (0 "
        "to <1), kept where their energy reaches --cutoff of the loudest window's; validation "
        "and test keep the choice above; 0: training windows chosen as theirs (default: "
        "%(default)s)",
    )
    p.add_argument(
        "--train-max-per-recording",
        type=int,
        default=_DEFAULT_SNIPPETS.train_max_per_recording,
        help="with --train-overlap: most training windows per recording, an evenly spaced "
        "subset of a recording with more; 0: no cap (default: %(default)s)",
    )
    p.add_argument(
        "--background-snippets",
        type=int,
        default=_DEFAULT_SNIPPETS.background,
        help="also take this many of each recording's quietest windows (below --cutoff) as "
        "examples of the reserved label '(background)', last in labels.txt (default: %(default)s)",
    )
    p.add_argument(
        "--background-from",
        type=_paths,
        action="extend",
        default=[],
        metavar="PATH|GLOB",
        help="recordings without the species (soundscapes with no birds, or of unknown "
        "content; folders or globs, local or gs://, comma-separated or repeated) whose windows, "
        "spread evenly over each whole file, become '(background)' examples; each file goes "
        "whole to one split, with the species' --split fractions and --seed",
    )
    p.add_argument(
        "--background-windows",
        type=int,
        default=BuildOptions.background_windows,
        help="most windows of each --background-from file, evenly spaced; 0: enough to cover "
        "the whole file (default: %(default)s)",
    )
    p.add_argument(
        "--min-seconds",
        type=float,
        default=BuildOptions.min_seconds,
        help="recordings shorter than this fail as too short; shorter than a snippet are padded (default: %(default)s)",
    )
    p.add_argument(
        "--decoder",
        choices=DECODERS,
        default=BuildOptions.decoder,
        help="auto: soundfile (libsndfile) for mp3/wav/flac/ogg, PyAV for m4a/aac; or one "
        "decoder for every format it reads; ffmpeg needs the ffmpeg command, and salvages "
        "files the decoder rejects whenever it is installed (default: %(default)s)",
    )
    p.add_argument(
        "--num-shards",
        type=int,
        default=BuildOptions.num_shards,
        help="shards of the train split (validation and test in proportion); 0: from --shard-mb (default: %(default)s)",
    )
    p.add_argument(
        "--shard-mb",
        type=float,
        default=BuildOptions.shard_mb,
        help="target shard size in MB when --num-shards is 0 (default: %(default)s)",
    )
    p.add_argument(
        "--compression",
        choices=("none", "gzip"),
        default=BuildOptions.compression.lower(),
        help="TFRecord compression: none reads 4-5x faster, gzip is about 1.3x smaller (default: %(default)s)",
    )
    p.add_argument(
        "--max-failure-fraction",
        type=float,
        default=BuildOptions.max_failure_fraction,
        help="fail the job when more than this fraction of input files cannot be used (default: %(default)s)",
    )
    annotation_options.add_arguments(p, group_by=BuildOptions.group_by)
    p.add_argument("--overwrite", action="store_true", help="replace a dataset already in --output")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors (for scripts)")
    return p


def parse(argv: list[str]) -> tuple[BuildOptions, list[str]]:
    """(builder options, remaining flags for Beam)."""
    flags = parser()
    if flags.parse_known_args(argv)[0].preset == "seed":
        flags.set_defaults(**SEED_FRONT_END)
    args, beam_args = flags.parse_known_args(argv)
    try:
        spectrogram = SpectrogramParams(
            **{
                field.name: getattr(args, field.name)
                for field in dataclasses.fields(SpectrogramParams)
            }
        )
    except ValueError as error:
        flags.error(str(error))
    if args.background_windows < 0:
        flags.error("--background-windows must be 0 (cover each file) or more")
    layout = args.layout or (
        "csv" if args.metadata else "annotations" if args.annotations else "folders"
    )
    options = BuildOptions(
        input=args.input,
        metadata=args.metadata,
        layout=layout,
        output=args.output.rstrip("/"),
        selections=Selections(
            types=args.types, min_recordings=args.min_recordings, top_species=args.top_species
        ),
        fractions=args.split if isinstance(args.split, dict) else _fractions(args.split),
        seed=args.seed,
        spectrogram=spectrogram,
        snippets=SnippetSelection(
            method=args.snippets,
            cutoff=args.cutoff,
            max_per_recording=args.max_snippets,
            seconds_per_snippet=args.seconds_per_snippet,
            overlap=args.overlap,
            background=args.background_snippets,
            train_overlap=args.train_overlap,
            train_max_per_recording=args.train_max_per_recording,
        ),
        min_seconds=args.min_seconds,
        decoder=args.decoder,
        num_shards=args.num_shards,
        shard_mb=args.shard_mb,
        compression=compression_of(args.compression),
        max_failure_fraction=args.max_failure_fraction,
        overwrite=args.overwrite,
        quiet=args.quiet,
        annotations=annotation_options.from_args(args),
        group_by=args.group_by,
        background_from=tuple(dict.fromkeys(args.background_from)),
        background_windows=args.background_windows,
    )
    return options, beam_args
