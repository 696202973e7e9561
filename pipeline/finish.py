"""After a build's job: its temporary files removed, every shard there, the counts read, the
failure limit applied, dataset.json written and the report printed."""

from __future__ import annotations

import datetime
import glob
import json

from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter

from pipeline.annotations import options as annotation_options
from pipeline.catalog import LABEL_ORDER_RULE
from pipeline.outcome import ANNOTATION_REASONS, SELECTION_REASONS
from pipeline.outputs import TEMP_PREFIX, complete_shards, write_json_file
from pipeline.plan import BuildError, Plan
from pipeline.process import NAMESPACE
from pipeline.split import GROUP_SPLIT_RULE, SPLIT_RULE
from schemas import (
    DATASET_INFO_FILE,
    FAILURES_FILE,
    LABELS_FILE,
    SPLITS,
    Counts,
    DatasetInfo,
    ImageShape,
    InputInfo,
    LabelsInfo,
    SelectionInfo,
    SplitInfo,
)


def remove_temporary_files(plan: Plan) -> None:
    """Deletes the job's beam-temp-* folders and files and the catalog file from the output."""
    output = plan.opts.output
    files = [m.path for m in FileSystems.match([f"{output}/{TEMP_PREFIX}*/**"])[0].metadata_list]
    folders = {f"{output}/{p[len(output) + 1 :].split('/')[0]}" for p in files}
    if FileSystems.get_scheme(output) is None:  # local folders may be empty: not in a match
        folders.update(glob.glob(f"{glob.escape(output)}/{TEMP_PREFIX}*"))
    if files:
        FileSystems.delete(files)
    leftovers = [*sorted(folders | {plan.temp_directory}), plan.counts_path, plan.catalog_path]
    leftovers = [p for p in dict.fromkeys(leftovers) if FileSystems.exists(p)]
    if leftovers:
        FileSystems.delete(leftovers)


def finish(plan: Plan, result, argv: list[str]) -> DatasetInfo:
    """dataset.json of the finished job `result` (printed unless --quiet); BuildError when it
    wrote no examples or more files failed than --max-failure-fraction allows."""
    opts = plan.opts
    with FileSystems.open(plan.counts_path) as f:
        counts = Counts.from_dict(json.load(f))
    remove_temporary_files(plan)
    complete_shards(opts.output, plan.shards, opts.compression)
    problem = _problem(plan, counts)
    info = _dataset_info(plan, counts, argv, problem)
    write_json_file(f"{opts.output}/{DATASET_INFO_FILE}", info.to_dict())
    if not opts.quiet:
        _print_summary(opts.output, info, _metrics_table(result))
    if problem:
        raise BuildError(problem)
    return info


def _problem(plan: Plan, counts: Counts) -> str | None:
    """Why the dataset is not usable, or None."""
    refused = sum(n for reason, n in counts.failures.items()
                  if reason not in SELECTION_REASONS and reason not in ANNOTATION_REASONS)  # fmt: skip
    fraction = refused / max(1, counts.input_files)
    limit = plan.opts.max_failure_fraction
    if not sum(counts.examples.values()):
        return "no examples were written"
    if fraction > limit:
        return (f"{refused} of {counts.input_files} input files failed ({fraction:.0%}), more than "
                f"--max-failure-fraction {limit:.0%}; see {plan.opts.output}/{FAILURES_FILE}")  # fmt: skip
    return None


def _dataset_info(plan: Plan, counts: Counts, argv: list[str], problem: str | None) -> DatasetInfo:
    opts, catalog, params = plan.opts, plan.catalog, plan.opts.spectrogram
    return DatasetInfo(
        complete=problem is None,
        error=problem,
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        command=["python", "-m", "pipeline.build", *argv],
        input=InputInfo(input=opts.input, metadata=opts.metadata, layout=opts.layout),
        spectrogram=params,
        image=ImageShape(height=params.frequency_rows, width=params.frames),
        snippets={
            **opts.snippets.to_dict(),
            "min_seconds": opts.min_seconds,
            "background_from": list(opts.background_from),
            "background_windows": opts.background_windows,
            **annotation_options.to_dict(opts.annotations, opts.group_by),
        },
        selections=SelectionInfo(
            types=list(opts.selections.types),
            min_recordings=opts.selections.min_recordings,
            top_species=opts.selections.top_species,
            kept_types=catalog.kept_types,
        ),
        labels=LabelsInfo(file=LABELS_FILE, count=len(catalog.labels), order=LABEL_ORDER_RULE),
        split=SplitInfo(
            fractions=opts.fractions,
            seed=opts.seed,
            rule=SPLIT_RULE
            if opts.group_by == "recording"
            else f"{SPLIT_RULE}; {GROUP_SPLIT_RULE}: {opts.group_by}",
        ),
        compression=opts.compression,
        shards=plan.shards,
        workers=plan.workers,
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
    if any(counts.background_files.values()):
        print("  background files (windows): " + ", ".join(
            f"{split} {counts.background_files[split]} ({counts.background_windows[split]})"
            for split in SPLITS))  # fmt: skip
    print(f"  input files {counts.input_files}, without examples {counts.failed_files}"
          f" (see {FAILURES_FILE}), recovered with ffmpeg {counts.recovered_with_ffmpeg}")  # fmt: skip
    for reason, count in counts.failures.items():
        print(f"    {reason:<28}{count:>6}")
    print("  Beam counters: " + ", ".join(f"{name} {value}" for name, value in metrics))
