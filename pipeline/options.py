"""Command-line flags of the dataset builder; every other flag goes to Beam unchanged."""

from __future__ import annotations

import argparse
import dataclasses

from frontend.audio import DECODERS
from frontend.snippets import SnippetSelection
from pipeline.annotations import options as annotation_options
from pipeline.catalog import LAYOUTS, Selections
from schemas import SEED_FRONT_END, SpectrogramParams, compression_of
from schemas.dataset_info import FREQUENCY_SCALES, NORMALIZATIONS

DEFAULT_OUTPUT = "demo-output/dataset"
_DEFAULT_SPECTROGRAM = SpectrogramParams()
_DEFAULT_SNIPPETS = SnippetSelection()


@dataclasses.dataclass(frozen=True)
class BuildOptions:
    """Everything the builder needs besides Beam's own pipeline options."""

    input: str | None
    metadata: str | None
    layout: str
    output: str
    selections: Selections
    fractions: dict[str, float]
    seed: int
    spectrogram: SpectrogramParams
    snippets: SnippetSelection
    min_seconds: float
    decoder: str
    num_shards: int
    shard_mb: float
    compression: str  # dataset.json's name: NONE or GZIP
    max_failure_fraction: float
    overwrite: bool
    quiet: bool = False
    annotations: annotation_options.AnnotationOptions = annotation_options.AnnotationOptions()
    group_by: str = "recording"


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


def parser() -> argparse.ArgumentParser:
    """The builder's own flags."""
    p = argparse.ArgumentParser(
        prog="python -m pipeline.build",
        description="Build a spectrogram TFRecord dataset, split by recording, from bird "
        "recordings. With no --input, builds the embedded demo corpus. Flags not listed here "
        "(--runner, --direct_num_workers, --project, --region, --temp_location, --setup_file, "
        "...) go to Apache Beam unchanged.",
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
        default=DEFAULT_OUTPUT,
        help="dataset folder, local or gs:// (default: %(default)s)",
    )
    p.add_argument(
        "--types",
        type=_types,
        default=Selections.types,
        help="comma-separated sound-type words to keep, matched within free-text types; '' keeps all (default: song)",
    )
    p.add_argument(
        "--min-recordings",
        type=int,
        default=Selections.min_recordings,
        help="keep species with at least this many recordings (default: %(default)s)",
    )
    p.add_argument(
        "--top-species",
        type=int,
        default=Selections.top_species,
        help="keep the K species with most recordings; 0 keeps all (default: %(default)s)",
    )
    p.add_argument(
        "--split",
        type=_fractions,
        default="0.7,0.15,0.15",
        help="train,validation,test fractions of each species' recordings (default: %(default)s)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the split assignment (default: %(default)s)"
    )
    p.add_argument(
        "--preset",
        choices=("seed",),
        help="seed: the seed's front end, 224 rows evenly spaced from 0 Hz to Nyquist in dB "
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
        help="dB below each snippet's maximum mapped to black (default: %(default)s)",
    )
    p.add_argument(
        "--frequency-scale",
        choices=FREQUENCY_SCALES,
        default=_DEFAULT_SPECTROGRAM.frequency_scale,
        help="rows evenly spaced in Hz (linear, the seed's) or in mel (default: %(default)s)",
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
        help="db: dB below each snippet's maximum (the seed's); pcen: per-channel energy normalisation (default: %(default)s)",
    )
    p.add_argument(
        "--snippets",
        choices=("loudest", "uniform"),
        default=_DEFAULT_SNIPPETS.method,
        help="loudest windows (the seed) or evenly spaced windows (default: %(default)s)",
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
        "--background-snippets",
        type=int,
        default=_DEFAULT_SNIPPETS.background,
        help="also take this many of each recording's quietest windows (below --cutoff) as "
        "examples of the reserved label '(background)', last in labels.txt (default: %(default)s)",
    )
    p.add_argument(
        "--min-seconds",
        type=float,
        default=1.0,
        help="recordings shorter than this fail as too short; shorter than a snippet are padded (default: %(default)s)",
    )
    p.add_argument(
        "--decoder",
        choices=DECODERS,
        default="auto",
        help="auto: soundfile (libsndfile) for mp3/wav/flac/ogg, PyAV for m4a/aac; or one "
        "decoder for every format it reads; ffmpeg needs the ffmpeg command, and salvages "
        "files the decoder rejects whenever it is installed (default: %(default)s)",
    )
    p.add_argument(
        "--num-shards",
        type=int,
        default=0,
        help="shards of the train split (validation and test in proportion); 0: from --shard-mb (default: %(default)s)",
    )
    p.add_argument(
        "--shard-mb",
        type=float,
        default=100.0,
        help="target shard size in MB when --num-shards is 0 (default: %(default)s)",
    )
    p.add_argument(
        "--compression",
        choices=("none", "gzip"),
        default="none",
        help="TFRecord compression: none reads 4-5x faster, gzip is about 1.3x smaller (default: %(default)s)",
    )
    p.add_argument(
        "--max-failure-fraction",
        type=float,
        default=0.1,
        help="fail the job when more than this fraction of input files cannot be used (default: %(default)s)",
    )
    annotation_options.add_arguments(p)
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
            args.sample_rate, args.fft_size, args.hop, args.window, args.snippet_seconds,
            args.frequency_rows, args.db_range, args.frequency_scale, args.fmin, args.fmax,
            args.normalization,
        )  # fmt: skip
    except ValueError as error:
        flags.error(str(error))
    layout = args.layout or (
        "csv" if args.metadata else "annotations" if args.annotations else "folders"
    )
    options = BuildOptions(
        input=args.input,
        metadata=args.metadata,
        layout=layout,
        output=args.output.rstrip("/"),
        selections=Selections(args.types, args.min_recordings, args.top_species),
        fractions=args.split if isinstance(args.split, dict) else _fractions(args.split),
        seed=args.seed,
        spectrogram=spectrogram,
        snippets=SnippetSelection(
            args.snippets,
            args.cutoff,
            args.max_snippets,
            args.seconds_per_snippet,
            args.overlap,
            args.background_snippets,
        ),  # fmt: skip
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
    )
    return options, beam_args


def with_demo_corpus(options: BuildOptions, corpus: str, overwrite: bool) -> BuildOptions:
    """Options reading the demo corpus (audio/ and metadata.csv under `corpus`)."""
    return dataclasses.replace(
        options,
        input=f"{corpus}/audio",
        metadata=f"{corpus}/metadata.csv",
        layout="csv",
        overwrite=options.overwrite or overwrite,
    )
