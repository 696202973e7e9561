"""The Beam graph of a build: the catalog file in; the shards, the index, ATTRIBUTION.csv,
failures.jsonl and the counts out (and, locally, a note per finished recording)."""

from __future__ import annotations

import dataclasses
import math

import apache_beam as beam

from pipeline import catalog_file, progress
from pipeline.outcome import ANNOTATION_REASONS
from pipeline.outputs import write_json_file, write_outputs
from pipeline.plan import Plan
from pipeline.process import EXAMPLES, OUTCOMES, ProcessRecording, TallyOutcomes
from schemas import BACKGROUND_LABEL, FAILURES_FILE, Counts


def construct(plan: Plan) -> beam.Pipeline:
    """The job of `plan`, ready to run."""
    opts = plan.opts
    pipeline = beam.Pipeline(options=plan.beam_options)
    rows = pipeline | "Read catalog" >> beam.io.ReadFromParquet(plan.catalog_path)
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
                plan.catalog.labels,
                opts.min_seconds,
                opts.decoder,
                opts.annotations.min_overlap,
                opts.annotations.secondary_labels == "exclude-as-negative",
                opts.background_windows,
            )
        ).with_outputs(OUTCOMES, main=EXAMPLES)  # fmt: skip
    )
    index_shards = max(1, math.ceil(sum(plan.shards.values()) / 100))
    write_outputs(
        processed[EXAMPLES], opts.output, opts.compression, plan.shards, index_shards,
        plan.temp_directory,
    )  # fmt: skip
    refused = (
        rows
        | "Refused by catalog" >> beam.Filter(catalog_file.is_failure)
        | "As outcomes" >> beam.Map(catalog_file.failure_of)
    )
    outcomes = (processed[OUTCOMES], refused) | "All outcomes" >> beam.Flatten()
    if plan.progress_folder:
        _ = (
            processed[OUTCOMES]
            | "Recordings' outcomes" >> beam.Filter(lambda o: o.reason not in ANNOTATION_REASONS)
            | "Progress" >> beam.Map(
                lambda outcome, folder: progress.note_finished(outcome.file, folder),
                plan.progress_folder,
            )
        )  # fmt: skip
    _ = (
        outcomes
        | "Failures only" >> beam.Filter(lambda outcome: outcome.failed)
        | "As JSON lines" >> beam.Map(lambda outcome: outcome.failure_line())
        | "Write failures" >> beam.io.WriteToText(f"{opts.output}/{FAILURES_FILE}", shard_name_template="", num_shards=1)
    )  # fmt: skip
    tally = TallyOutcomes(plan.catalog.labels, BACKGROUND_LABEL, plan.catalog.input_files)
    _ = (
        outcomes
        | "Tally" >> beam.CombineGlobally(tally)
        | "Write counts" >> beam.Map(_write_counts, plan.counts_path)
    )
    return pipeline


def _write_counts(counts: Counts, path: str) -> None:
    write_json_file(path, dataclasses.asdict(counts))
