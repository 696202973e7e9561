"""Build a spectrogram TFRecord dataset from bird recordings: `python -m pipeline.build --help`."""

# ruff: noqa: E402

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import glob
import json
import logging
import math
import os
import sys
import tempfile
import uuid

from pipeline import cli

cli.quiet_imports()

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import (
    DirectOptions,
    GoogleCloudOptions,
    PipelineOptions,
    StandardOptions,
)

from frontend.audio import MissingToolError, check_decoder, check_ffmpeg
from pipeline import catalog_file, progress
from pipeline import options as build_options
from pipeline.annotations import ANNOTATION_REASONS, AnnotationError
from pipeline.annotations import options as annotation_options
from pipeline.annotations.catalog import catalog_of, splits_of, with_background_windows
from pipeline.catalog import LABEL_ORDER_RULE, Catalog, CatalogError, Recording
from pipeline.outputs import TEMP_PREFIX, complete_shards, write_outputs
from pipeline.process import (
    EXAMPLES,
    NAMESPACE,
    SELECTION_REASONS,
    ProcessRecording,
    SummarizeOutcomes,
    dataset_labels,
    failure_outcome,
    write_json,
)
from pipeline.split import GROUP_SPLIT_RULE, SPLIT_RULE
from schemas import (
    ATTRIBUTION_FILE,
    DATASET_INFO_FILE,
    FAILURES_FILE,
    INDEX_PREFIX,
    LABELS_FILE,
    SPLITS,
    Counts,
    DatasetInfo,
    ImageShape,
    InputInfo,
    LabelsInfo,
    SelectionInfo,
    SpeciesCounts,
    SplitInfo,
)

SUMMARY_FILE = ".build-summary.json"
# Typical bytes per second of audio by file extension, to guess audio length from file size:
# 128 kbit/s for compressed formats, 48 kHz 16-bit mono for PCM, about half that for FLAC.
_BYTES_PER_SECOND = {".wav": 96_000, ".aif": 96_000, ".aiff": 96_000, ".flac": 50_000}
_COMPRESSED_BYTES_PER_SECOND = 16_000
_EXAMPLE_OVERHEAD = 400  # bytes of an Example besides its pixels


class BuildError(RuntimeError):
    """A build that cannot start or did not produce a usable dataset."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during the job, after the launcher cleaned up what it could."""


def _prepare_output(output: str, overwrite: bool) -> None:
    existing = FileSystems.match([f"{output}/*"])[0].metadata_list
    if existing and not overwrite:
        raise BuildError(
            f"{output}: not empty ({len(existing)} files); pass --overwrite to replace it"
        )
    dataset_files = [m.path for m in existing if os.path.basename(m.path).startswith(
        (*SPLITS, DATASET_INFO_FILE, LABELS_FILE, FAILURES_FILE, SUMMARY_FILE,
         INDEX_PREFIX, ATTRIBUTION_FILE, catalog_file.CATALOG_FILE))]  # fmt: skip
    if dataset_files:
        FileSystems.delete(dataset_files)
    if not FileSystems.exists(output):
        FileSystems.mkdirs(output)


def audio_seconds_estimate(recordings: list[Recording]) -> float:
    """Seconds of audio guessed from file sizes and each container's typical bitrate."""
    return sum(
        r.size_bytes
        / _BYTES_PER_SECOND.get(os.path.splitext(r.path)[1].lower(), _COMPRESSED_BYTES_PER_SECOND)
        for r in recordings
    )


def shard_counts(opts: build_options.BuildOptions, recordings: list[Recording]) -> dict[str, int]:
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


LOCAL_DEFAULTS = {
    "direct_running_mode": "multi_processing",
    "direct_num_workers": "0",  # every core
    "default_sdk_harness_log_level": "ERROR",  # the workers' start-up warnings are not the user's
    "sdk_harness_log_level_overrides": json.dumps({progress.LOGGER: "INFO"}),
}


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


def _construct(
    pipeline: beam.Pipeline,
    opts: build_options.BuildOptions,
    catalog_path: str,
    labels: list[str],
    shards: dict[str, int],
    temp_directory: str,
    local: bool,
) -> None:
    rows = pipeline | "Read catalog" >> beam.io.ReadFromParquet(catalog_path)
    processed = (
        rows
        | "Recordings" >> beam.Filter(lambda row: not catalog_file.is_failure(row))
        | "As recordings" >> beam.Map(catalog_file.recording_of)
        | "Spread over workers" >> beam.Reshuffle()
        | "Decode and cut"
        >> beam.ParDo(
            ProcessRecording(
                opts.spectrogram,
                opts.snippets,
                labels,
                opts.min_seconds,
                opts.decoder,
                opts.annotations.min_overlap,
            )
        ).with_outputs("outcomes", main=EXAMPLES)  # fmt: skip
    )
    index_shards = max(1, math.ceil(sum(shards.values()) / 100))
    write_outputs(
        processed[EXAMPLES], opts.output, opts.compression, shards, index_shards, temp_directory
    )
    refused = (
        rows
        | "Refused by catalog" >> beam.Filter(catalog_file.is_failure)
        | "As failures" >> beam.Map(lambda row: failure_outcome(catalog_file.failure_of(row)))
    )
    outcomes = (processed.outcomes, refused) | "All outcomes" >> beam.Flatten()
    if local:
        _ = processed.outcomes | "Progress" >> beam.Map(progress.report_done)
    _ = (
        outcomes
        | "Failures only" >> beam.Filter(lambda o: o["status"] == "failed")
        | "As JSON lines" >> beam.Map(lambda o: json.dumps({k: o[k] for k in ("file", "reason", "detail")}, ensure_ascii=False))
        | "Write failures" >> beam.io.WriteToText(f"{opts.output}/{FAILURES_FILE}", shard_name_template="", num_shards=1)
    )  # fmt: skip
    _ = (
        outcomes
        | "Summarize" >> beam.CombineGlobally(SummarizeOutcomes())
        | "Write summary" >> beam.Map(write_json, f"{opts.output}/{SUMMARY_FILE}")
    )


def _counts(summary: dict, catalog: Catalog) -> Counts:
    per_species = {
        species: SpeciesCounts(
            **{
                kind: {s: summary[kind].get(s, {}).get(species, 0) for s in SPLITS}
                for kind in ("recordings", "examples")
            }
        )
        for species in catalog.labels
    }
    failures = summary["failures"]
    return Counts(
        input_files=catalog.input_files,
        recordings={s: sum(summary["recordings"].get(s, {}).values()) for s in SPLITS},
        examples={s: sum(summary["examples"].get(s, {}).values()) for s in SPLITS},
        per_species=per_species,
        failures=failures,
        failed_files=sum(
            n
            for reason, n in failures.items()
            if reason != "missing_file" and reason not in ANNOTATION_REASONS
        ),
        metadata_rows_without_file=failures.get("missing_file", 0),
        recovered_with_ffmpeg=summary["decoders"].get("ffmpeg-salvage", 0),
        decoders=summary["decoders"],
        events={s: summary.get("events", {}).get(s, 0) for s in SPLITS},
        windows_per_label={
            label: {s: summary["windows_per_label"].get(s, {}).get(label, 0) for s in SPLITS}
            for label in catalog.labels
        }
        if summary.get("windows_per_label")
        else {},
    )


def _dataset_info(
    launch: Launch, counts: Counts, argv: list[str], problem: str | None
) -> DatasetInfo:
    opts, catalog, params = launch.opts, launch.catalog, launch.opts.spectrogram
    return DatasetInfo(
        complete=problem is None,
        error=problem,
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        command=["python", "-m", "pipeline.build", *argv],
        input=InputInfo(opts.input, opts.metadata, opts.layout),
        spectrogram=params,
        image=ImageShape(params.frequency_rows, params.frames),
        snippets={
            **opts.snippets.to_dict(),
            "min_seconds": opts.min_seconds,
            **annotation_options.to_dict(opts.annotations, opts.group_by),
        },
        selections=SelectionInfo(
            types=list(opts.selections.types),
            min_recordings=opts.selections.min_recordings,
            top_species=opts.selections.top_species,
            kept_types=catalog.kept_types,
        ),
        labels=LabelsInfo(LABELS_FILE, len(catalog.labels), LABEL_ORDER_RULE),
        split=SplitInfo(
            opts.fractions,
            opts.seed,
            SPLIT_RULE
            if opts.group_by == "recording"
            else f"{SPLIT_RULE}; {GROUP_SPLIT_RULE}: {opts.group_by}",
        ),
        compression=opts.compression,
        shards=launch.shards,
        workers=launch.workers,
        counts=counts,
    )


def _metrics_table(result) -> list[tuple[str, int]]:
    counters = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    values = {}
    for counter in counters:
        value = counter.committed if counter.committed is not None else counter.attempted
        values[counter.key.metric.name] = values.get(counter.key.metric.name, 0) + (value or 0)
    return sorted(values.items())


def _print_summary(output: str, info: DatasetInfo, metrics: list[tuple[str, int]]) -> None:
    counts = info.counts
    print(f"\nDataset {'written to' if info.complete else 'NOT complete in'} {output}")
    print(f"  {info.labels.count} species, {info.image.height}x{info.image.width} uint8 "
          f"spectrograms, compression {info.compression}, workers {info.workers or 'service'}")  # fmt: skip
    print(f"  {'split':<12}{'recordings':>12}{'examples':>10}{'shards':>8}")
    for split in SPLITS:
        print(
            f"  {split:<12}{counts.recordings[split]:>12}{counts.examples[split]:>10}{info.shards[split]:>8}"
        )
    print(f"  input files {counts.input_files}, without examples {counts.failed_files}"
          f" (see {FAILURES_FILE}), recovered with ffmpeg {counts.recovered_with_ffmpeg}")  # fmt: skip
    for reason, count in counts.failures.items():
        print(f"    {reason:<28}{count:>6}")
    print("  Beam counters: " + ", ".join(f"{name} {value}" for name, value in metrics))


@dataclasses.dataclass
class Launch:
    """A constructed job and what the launcher knows of it before it runs."""

    pipeline: beam.Pipeline
    opts: build_options.BuildOptions
    catalog: Catalog
    shards: dict[str, int]
    workers: int | None
    catalog_path: str
    catalog_bytes: int
    temp_directory: str


def prepare(argv: list[str]) -> Launch:
    """Everything up to running the job: catalog, split, labels, the catalog file, the graph."""
    opts, beam_args = build_options.parse(argv)
    check_decoder(opts.decoder)
    if opts.input is None:
        from pipeline.demo_corpus import default_cache_dir, generate_corpus

        corpus = generate_corpus(default_cache_dir())
        opts = build_options.with_demo_corpus(
            opts, corpus, overwrite=opts.output == build_options.DEFAULT_OUTPUT
        )
        _say(opts, f"Demo corpus: {corpus}")
    _prepare_output(opts.output, opts.overwrite)
    catalog = catalog_of(opts)  # with --annotations, theirs (pipeline.annotations.catalog)
    catalog.labels = dataset_labels(catalog.labels, opts.snippets)  # + (background) on request
    with_background_windows(catalog)  # + (background) when complete annotations give some
    splits = splits_of(catalog, opts)
    options, workers = pipeline_options(beam_args)
    if opts.decoder == "ffmpeg" and workers:  # elsewhere ffmpeg only salvages, if installed
        check_ffmpeg()
    with FileSystems.create(f"{opts.output}/{LABELS_FILE}") as f:
        f.write("".join(f"{label}\n" for label in catalog.labels).encode("utf-8"))
    catalog_path = f"{opts.output}/{catalog_file.CATALOG_FILE}"
    catalog_bytes = catalog_file.write_catalog(catalog_path, catalog, splits)
    shards = shard_counts(opts, catalog.recordings)
    temp_directory = f"{opts.output}/{TEMP_PREFIX}{uuid.uuid4().hex}"
    pipeline = beam.Pipeline(options=options)
    _construct(
        pipeline, opts, catalog_path, catalog.labels, shards, temp_directory,
        local=workers is not None,
    )  # fmt: skip
    return Launch(
        pipeline, opts, catalog, shards, workers, catalog_path, catalog_bytes, temp_directory
    )


def _say(opts: build_options.BuildOptions, text: str) -> None:
    if not opts.quiet:
        print(text, flush=True)


def _remove_temporary_files(launch: Launch) -> None:
    """Deletes the job's beam-temp-* folders and the catalog file from the output folder."""
    output = launch.opts.output
    files = [m.path for m in FileSystems.match([f"{output}/{TEMP_PREFIX}*/**"])[0].metadata_list]
    folders = {f"{output}/{p[len(output) + 1 :].split('/')[0]}" for p in files}
    if FileSystems.get_scheme(output) is None:  # local folders may be empty: not in a match
        folders.update(glob.glob(f"{glob.escape(output)}/{TEMP_PREFIX}*"))
    if files:
        FileSystems.delete(files)
    leftovers = [*sorted(folders | {launch.temp_directory}), launch.catalog_path]
    leftovers = [p for p in leftovers if FileSystems.exists(p)]
    if leftovers:
        FileSystems.delete(leftovers)


def _start(launch: Launch, log: str):
    """Runs the job and waits for it, saying what it waits for (with progress, locally)."""
    opts, minutes = launch.opts, audio_seconds_estimate(launch.catalog.recordings) / 60
    duration = f"{minutes / 60:.1f} hours" if minutes >= 60 else f"{minutes:.0f} minutes"
    what = f"{len(launch.catalog.recordings)} recordings (about {duration} of audio)"
    with contextlib.ExitStack() as stack:
        stack.enter_context(progress.stderr_to(log))
        if launch.workers:
            _say(opts, f"Building {what} on {launch.workers} local worker(s) ...")
            if not opts.quiet:
                tracker = progress.Progress(len(launch.catalog.recordings), minutes * 60)
                tracker.attach()
                stack.callback(tracker.detach)
        result = launch.pipeline.run()
        job_id = result.job_id() if hasattr(result, "job_id") else None
        if job_id:
            cloud = launch.pipeline.options.view_as(GoogleCloudOptions)
            _say(opts, f"Dataflow job {job_id} started: https://console.cloud.google.com/dataflow/"
                       f"jobs/{cloud.region}/{job_id}?project={cloud.project}")  # fmt: skip
            _say(opts, f"Waiting for it to process {what}; Ctrl-C stops waiting, not the job.")
        result.wait_until_finish()
    return result


def run(argv: list[str] | None = None) -> DatasetInfo:
    """Builds a dataset; returns its dataset.json content. Raises BuildError, CatalogError,
    Interrupted (after removing a local job's temporary files)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    launch = prepare(argv)
    opts, catalog = launch.opts, launch.catalog
    log = os.path.join(tempfile.gettempdir(), f"birdsong-build-{os.getpid()}.log")
    try:
        result = _start(launch, log)
    except KeyboardInterrupt:
        # The stopping workers' last words (a harness "failed" on SIGINT) are not the user's.
        logging.getLogger(progress.WORKER_LOGS).disabled = True
        with contextlib.suppress(OSError):
            os.remove(log)
        if not launch.workers:
            raise Interrupted(
                "stopped waiting; the Dataflow job keeps running (its console page, or "
                "`gcloud dataflow jobs cancel JOB_ID --region REGION`, stops it)"
            ) from None
        _remove_temporary_files(launch)
        raise Interrupted("the build was stopped and its temporary files removed") from None
    except Exception as error:  # noqa: BLE001 - Beam wraps worker errors in many types
        lines = [line for line in str(error).splitlines() if line.strip()]
        where = f" (log: {log})" if os.path.exists(log) else ""
        raise BuildError(
            f"the Beam job failed: {lines[-1] if lines else type(error).__name__}{where}"
        ) from error
    with contextlib.suppress(OSError):
        os.remove(log)
    _remove_temporary_files(launch)
    complete_shards(opts.output, launch.shards, opts.compression)
    summary_path = f"{opts.output}/{SUMMARY_FILE}"
    with FileSystems.open(summary_path) as f:
        summary = json.load(f)
    FileSystems.delete([summary_path])
    counts = _counts(summary, catalog)
    refused = sum(n for reason, n in counts.failures.items()
                  if reason not in SELECTION_REASONS and reason not in ANNOTATION_REASONS)  # fmt: skip
    fraction = refused / max(1, counts.input_files)
    problem = None
    if not sum(counts.examples.values()):
        problem = "no examples were written"
    elif fraction > opts.max_failure_fraction:
        problem = (f"{refused} of {counts.input_files} input files failed ({fraction:.0%}), more than "
                   f"--max-failure-fraction {opts.max_failure_fraction:.0%}; see {opts.output}/{FAILURES_FILE}")  # fmt: skip
    info = _dataset_info(launch, counts, argv, problem)
    write_json(info.to_dict(), f"{opts.output}/{DATASET_INFO_FILE}")
    if not opts.quiet:
        _print_summary(opts.output, info, _metrics_table(result))
    if problem:
        raise BuildError(problem)
    return info


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: the exit status of pipeline.cli (1 when the build fails, 130 when
    interrupted)."""
    cli.quiet_start()
    errors = (BuildError, CatalogError, MissingToolError, AnnotationError)
    return cli.run(lambda: run(argv), errors, "the build stopped before its job started")


if __name__ == "__main__":
    sys.exit(main())
