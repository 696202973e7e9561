"""What a build will do, decided before its job runs: the runner and its workers (one process
for a small local corpus), the output folder made ready, the catalog (recordings, selections, labels), the split, labels.txt and the
catalog file, and the shard counts."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import tempfile
import uuid

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from frontend.audio import check_decoder, check_ffmpeg
from pipeline import catalog_file
from pipeline.annotations.catalog import catalog_of, splits_of, with_background_windows
from pipeline.catalog import Catalog, Recording, add_background_files
from pipeline.options import BuildOptions
from pipeline.outputs import TEMP_PREFIX
from pipeline.process import dataset_labels
from schemas import (
    ATTRIBUTION_FILE,
    BACKGROUND_LABEL,
    DATASET_INFO_FILE,
    FAILURES_FILE,
    INDEX_PREFIX,
    LABELS_FILE,
    SPLITS,
)

# Typical bytes per second of audio by file extension, to guess audio length from file size:
# 128 kbit/s for compressed formats, 48 kHz 16-bit mono for PCM, about half that for FLAC.
_BYTES_PER_SECOND = {".wav": 96_000, ".aif": 96_000, ".aiff": 96_000, ".flac": 50_000}
_COMPRESSED_BYTES_PER_SECOND = 16_000
_EXAMPLE_OVERHEAD = 400  # bytes of an Example besides its pixels
# A local run's Beam options unless the user gives them: a worker process per core, the
# workers' start-up warnings (not the user's) left out.
LOCAL_DEFAULTS = {
    "direct_running_mode": "multi_processing",
    "direct_num_workers": "0",  # every core
    "default_sdk_harness_log_level": "ERROR",
}
# benchmarks.builder (BENCHMARKS.md, 1; two runs): one process turns about 800 audio-s into
# examples per CPU-s, a worker process about 640 (545 and 731: the runner's data plane between
# processes costs the rest), and each worker pays 2.4 CPU-s to start. A worker per core finishes
# sooner only once the audio repays that start: below the break-even (one_process_seconds), a
# local build runs in one process.
IN_PROCESS_RATE, WORKER_RATE, WORKER_START_CPU_S = 800.0, 640.0, 2.4
_DATASET_FILES = (*SPLITS, DATASET_INFO_FILE, LABELS_FILE, FAILURES_FILE, INDEX_PREFIX,
                  ATTRIBUTION_FILE, catalog_file.CATALOG_FILE, TEMP_PREFIX)  # fmt: skip


class BuildError(RuntimeError):
    """A build that cannot start or did not produce a usable dataset."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Plan:
    """A build decided: its options, runner, catalog and where the job writes what."""

    opts: BuildOptions
    beam_options: PipelineOptions
    workers: int | None  # local worker processes; None: a remote runner decides
    catalog: Catalog
    shards: dict[str, int]
    catalog_path: str
    catalog_bytes: int
    temp_directory: str  # the job's temporary files, inside the output folder
    counts_path: str  # where the job writes its Counts for the launcher
    progress_folder: str | None  # a local run's: where workers note finished recordings


def pipeline_options(beam_args: list[str]) -> tuple[PipelineOptions, int | None]:
    """Beam's options from the user's flags, and how many local workers they give (None: a
    remote runner decides). A local run defaults to one worker process per core, through
    Beam's DirectRunner, which hands every option to its workers."""
    options = PipelineOptions(beam_args)
    runner = options.view_as(StandardOptions).runner
    if runner not in (None, "DirectRunner", "direct"):
        return options, None
    given = {a.lstrip("-").split("=")[0] for a in beam_args if a.startswith("--")}
    defaults = [f"--{k}={v}" for k, v in LOCAL_DEFAULTS.items() if k not in given]
    options = PipelineOptions([*defaults, *beam_args])
    direct = options.view_as(DirectOptions)
    if direct.direct_running_mode == "in_memory":
        return options, 1
    return options, direct.direct_num_workers or os.cpu_count() or 1


def one_process_seconds(workers: int) -> float:
    """Seconds of audio below which one process builds sooner than `workers` worker processes
    on as many idle cores (with one core, always)."""
    gain = 1.0 / IN_PROCESS_RATE - 1.0 / (workers * WORKER_RATE)
    return WORKER_START_CPU_S / gain if gain > 0 else math.inf


def local_runner_flags(beam_args: list[str], audio_seconds: float) -> list[str]:
    """Beam's flags, with one process (`--direct_running_mode in_memory`) for a local build of
    fewer than one_process_seconds(cores) of audio unless they name a runner, mode or worker
    count."""
    flags = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    for name in ("--runner", "--direct_running_mode", "--direct_num_workers"):
        flags.add_argument(name)
    given = flags.parse_known_args(beam_args)[0]
    if (
        given.runner not in (None, "DirectRunner", "direct")
        or given.direct_running_mode is not None
        or given.direct_num_workers is not None
        or audio_seconds >= one_process_seconds(os.cpu_count() or 1)
    ):
        return beam_args
    return ["--direct_running_mode=in_memory", "--direct_num_workers=1", *beam_args]


def audio_seconds_estimate(recordings: list[Recording]) -> float:
    """Seconds of audio guessed from file sizes and each container's typical bitrate."""
    return sum(
        r.size_bytes
        / _BYTES_PER_SECOND.get(os.path.splitext(r.path)[1].lower(), _COMPRESSED_BYTES_PER_SECOND)
        for r in recordings
    )


def shard_counts(opts: BuildOptions, recordings: list[Recording]) -> dict[str, int]:
    """Shards per split: --num-shards for train, or enough for --shard-mb shards."""
    if opts.num_shards:
        return {s: max(1, math.ceil(opts.num_shards * opts.fractions[s] / opts.fractions["train"]))
                if opts.fractions["train"] else opts.num_shards for s in SPLITS}  # fmt: skip
    seconds = audio_seconds_estimate(recordings)
    params = opts.spectrogram
    example_bytes = params.frequency_rows * params.frames + _EXAMPLE_OVERHEAD
    total_bytes = seconds / opts.snippets.seconds_per_snippet * example_bytes
    return {
        s: max(1, math.ceil(total_bytes * opts.fractions[s] / (opts.shard_mb * 1e6)))
        for s in SPLITS
    }


def built_from(output: str) -> str | None:
    """The metadata file that the dataset in `output` was built from (None: no dataset.json)."""
    path = f"{output}/{DATASET_INFO_FILE}"
    if not FileSystems.exists(path):
        return None
    with FileSystems.open(path) as f:
        return (json.load(f).get("input") or {}).get("metadata")


def prepare_output(output: str, overwrite: bool) -> None:
    """An output folder ready for the job: made, or emptied of an earlier dataset's files when
    `overwrite` (its other files are kept); a folder with files refused otherwise."""
    existing = FileSystems.match([f"{output}/*"])[0].metadata_list
    if existing and not overwrite:
        raise BuildError(
            f"{output}: not empty ({len(existing)} files); pass --overwrite to replace it"
        )
    dataset_files = [
        m.path for m in existing if os.path.basename(m.path).startswith(_DATASET_FILES)
    ]
    if dataset_files:
        FileSystems.delete(dataset_files)
    if not FileSystems.exists(output):
        FileSystems.mkdirs(output)


def make_plan(opts: BuildOptions, beam_args: list[str]) -> Plan:
    """Checks the decoder, readies the output, builds the catalog (with --annotations, theirs;
    with --background-from, its files), splits it by recording (or by the groups of
    --group-by; background files by file) and writes labels.txt and the catalog file the job
    reads."""
    check_decoder(opts.decoder)
    prepare_output(opts.output, opts.overwrite)
    catalog = catalog_of(opts)  # pipeline.annotations.catalog: with --annotations, theirs
    catalog.labels = dataset_labels(catalog.labels, opts.snippets)  # + (background) on request
    add_background_files(catalog, opts.background_from, BACKGROUND_LABEL)
    beam_options, workers = pipeline_options(
        local_runner_flags(beam_args, audio_seconds_estimate(catalog.recordings))
    )
    if opts.decoder == "ffmpeg" and workers:  # elsewhere ffmpeg only salvages, if installed
        check_ffmpeg()
    with_background_windows(catalog)  # + (background) when complete annotations give some
    splits = splits_of(catalog, opts)
    with FileSystems.create(f"{opts.output}/{LABELS_FILE}") as f:
        f.write("".join(f"{label}\n" for label in catalog.labels).encode("utf-8"))
    catalog_path = f"{opts.output}/{catalog_file.CATALOG_FILE}"
    job = f"{opts.output}/{TEMP_PREFIX}{uuid.uuid4().hex}"
    return Plan(
        opts=opts,
        beam_options=beam_options,
        workers=workers,
        catalog=catalog,
        shards=shard_counts(opts, catalog.recordings),
        catalog_path=catalog_path,
        catalog_bytes=catalog_file.write_catalog(catalog_path, catalog, splits),
        temp_directory=job,
        counts_path=f"{job}-counts.json",
        progress_folder=tempfile.mkdtemp(prefix="birdsong-progress-") if workers else None,
    )
