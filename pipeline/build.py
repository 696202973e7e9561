"""Build a spectrogram TFRecord dataset from bird recordings: `python -m pipeline.build --help`.

The steps, each in its own module: the flags (pipeline.options), the plan made before the job
(pipeline.plan), the job's graph (pipeline.graph), and what follows it (pipeline.finish).
Without --input, the demo corpus (demo.corpus) is built.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import sys
import tempfile

from apache_beam.options.pipeline_options import GoogleCloudOptions

from demo.corpus import default_cache_dir, generate_corpus
from frontend.audio import MissingToolError
from pipeline import cli, finish, graph, progress
from pipeline.annotations import AnnotationError
from pipeline.catalog import CatalogError
from pipeline.options import BuildOptions, parse
from pipeline.plan import BuildError, Plan, audio_seconds_estimate, built_from, make_plan
from schemas import DatasetInfo


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during the job, after the launcher cleaned up what it could."""


def run(argv: list[str] | None = None) -> DatasetInfo:
    """Builds a dataset; returns its dataset.json content. Raises BuildError, CatalogError,
    MissingToolError, AnnotationError (an unreadable annotation table), Interrupted (after removing a local job's temporary files)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    opts, beam_args = parse(argv)
    if opts.input is None:
        opts = _with_demo_corpus(opts)
    job = make_plan(opts, beam_args)
    try:
        result = _run_job(job, graph.construct(job))
    finally:
        if job.progress_folder:
            shutil.rmtree(job.progress_folder, ignore_errors=True)
    return finish.finish(job, result, argv)


def _with_demo_corpus(opts: BuildOptions) -> BuildOptions:
    """The options with the demo corpus as input (made once, then cached). A demo dataset
    already in --output is replaced, as it says; anything else there needs --overwrite."""
    corpus = generate_corpus(default_cache_dir())
    metadata = f"{corpus}/metadata.csv"
    _say(opts, f"No --input given: building the demo corpus ({corpus})")
    replace = not opts.overwrite and built_from(opts.output) == metadata
    if replace:
        _say(opts, f"Replacing the demo dataset in {opts.output}")
    return dataclasses.replace(
        opts, input=f"{corpus}/audio", metadata=metadata, layout="csv",
        overwrite=opts.overwrite or replace,
    )  # fmt: skip


def _say(opts: BuildOptions, text: str) -> None:
    if not opts.quiet:
        print(text, flush=True)


def _run_job(job: Plan, pipeline):
    """Runs the job and waits for it, saying what it waits for (with progress, locally); one
    BuildError for a failed job, Interrupted for Ctrl-C."""
    log = os.path.join(tempfile.gettempdir(), f"birdsong-build-{os.getpid()}.log")
    try:
        result = _start(job, pipeline, log, audio_seconds_estimate(job.catalog.recordings))
    except KeyboardInterrupt:
        # The stopping workers' last words (a harness "failed" on SIGINT) are not the user's.
        logging.getLogger(progress.WORKER_LOGS).disabled = True
        with contextlib.suppress(OSError):
            os.remove(log)
        if not job.workers:
            raise Interrupted(
                "stopped waiting; the Dataflow job keeps running (its console page, or "
                "`gcloud dataflow jobs cancel JOB_ID --region REGION`, stops it)"
            ) from None
        finish.remove_temporary_files(job)
        raise Interrupted("the build was stopped and its temporary files removed") from None
    except Exception as error:  # noqa: BLE001 - Beam wraps worker errors in many types
        lines = [line for line in str(error).splitlines() if line.strip()]
        where = f" (log: {log})" if os.path.exists(log) else ""
        raise BuildError(
            f"the Beam job failed: {lines[-1] if lines else type(error).__name__}{where}"
        ) from error
    with contextlib.suppress(OSError):
        os.remove(log)
    return result


def _start(job: Plan, pipeline, log: str, audio_seconds: float):
    opts, minutes = job.opts, audio_seconds / 60
    duration = f"{minutes / 60:.1f} hours" if minutes >= 60 else f"{minutes:.0f} minutes"
    what = f"{len(job.catalog.recordings)} recordings (about {duration} of audio)"
    with contextlib.ExitStack() as stack:
        stack.enter_context(progress.stderr_to(log))
        if job.workers:
            _say(opts, f"Building {what} on {job.workers} local worker(s) ...")
            if not opts.quiet:
                tracker = progress.Progress(len(job.catalog.recordings), audio_seconds)
                stack.enter_context(progress.watching(tracker, job.progress_folder))
        result = pipeline.run()
        job_id = result.job_id() if hasattr(result, "job_id") else None
        if job_id:
            cloud = pipeline.options.view_as(GoogleCloudOptions)
            _say(opts, f"Dataflow job {job_id} started: https://console.cloud.google.com/dataflow/"
                       f"jobs/{cloud.region}/{job_id}?project={cloud.project}")  # fmt: skip
            _say(opts, f"Waiting for it to process {what}; Ctrl-C stops waiting, not the job.")
        result.wait_until_finish()
    return result


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: the exit status of pipeline.cli (1 when the build fails, 130 when
    interrupted)."""
    cli.quiet_start()
    errors = (BuildError, CatalogError, MissingToolError, AnnotationError)
    return cli.run(lambda: run(argv), errors, "the build stopped before its job started")


if __name__ == "__main__":
    sys.exit(main())
