"""The launcher's plan, without audio: shard counts, the catalog file, the Dataflow job offline."""

from __future__ import annotations

import os
import re
import shutil
import tarfile

import apache_beam as beam
from apache_beam.io.gcp.gcsfilesystem import GCSFileSystem
from apache_beam.options.pipeline_options import PipelineOptions, SetupOptions
from apache_beam.options.value_provider import RuntimeValueProvider
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.testing.util import BeamAssertException, assert_that

from pipeline import options as build_options
from pipeline.build import pipeline_options, prepare, shard_counts
from pipeline.catalog import Catalog, Recording
from pipeline.catalog_file import failure_of, is_failure, recording_of, write_catalog
from pipeline.outcome import Outcome
from pipeline.progress import Progress
from tests.prefix_filesystem import PrefixFileSystem


def test_shard_counts_follow_the_container_not_an_mp3_bitrate():
    opts, _ = build_options.parse(["--input", "x", "--shard-mb", "10"])
    hour = 3600
    mp3 = [
        Recording(
            recording_id=str(i),
            path=f"{i}.mp3",
            source_file=f"{i}.mp3",
            species="A",
            size_bytes=hour * 16_000,
        )
        for i in range(4)
    ]
    wav = [
        Recording(
            recording_id=str(i),
            path=f"{i}.WAV",
            source_file=f"{i}.WAV",
            species="A",
            size_bytes=hour * 96_000,
        )
        for i in range(4)
    ]
    assert shard_counts(opts, wav) == shard_counts(opts, mp3)
    assert shard_counts(opts, mp3)["train"] > 1


def test_dataflow_job_is_built_offline_without_the_catalog_inside(
    small_corpus, tmp_path, monkeypatch
):
    # gs:// paths served from a local folder; the Dataflow runner's dry run submits nothing.
    monkeypatch.setattr(GCSFileSystem, "scheme", classmethod(lambda cls: "gs-not-reachable"))
    monkeypatch.setattr(PrefixFileSystem, "scheme", classmethod(lambda cls: "gs"))
    monkeypatch.setattr(PrefixFileSystem, "root", str(tmp_path))
    shutil.copytree(small_corpus, tmp_path / "bucket")
    launch = prepare([
        "--input", "gs://bucket/audio", "--metadata", "gs://bucket/metadata.csv",
        "--output", "gs://bucket/datasets/xc", "--min-recordings", "3",
        "--runner", "DataflowRunner", "--project", "birdsong-test-1", "--region", "europe-west1",
        "--temp_location", "gs://bucket/tmp", "--setup_file", "./setup.py",
        "--dry_run", "True", "--no_auth",
    ])  # fmt: skip
    assert launch.workers is None
    launch.pipeline.run().wait_until_finish()
    runner = launch.pipeline.runner
    names = {t.unique_name for t in runner.proto_pipeline.components.transforms.values()}
    for step in ("Read catalog", "Decode and cut", "Write shards", "Write index", "Write attribution",
                 "Write failures"):  # fmt: skip
        assert any(name.startswith(step) for name in names), step
    assert runner.job.options.view_as(SetupOptions).setup_file == "./setup.py"
    workers_install = _staged_requirements(runner.proto_pipeline)
    assert "apache-beam[gcp,tfrecord]==" + beam.__version__ in workers_install
    assert not {"tensorflow", "tensorflow-cpu", "keras", "matplotlib"} & {
        re.split(r"[\[=<>; ]", requirement)[0].lower() for requirement in workers_install
    }, workers_install
    request = runner.proto_pipeline.SerializeToString() + runner.job.json().encode()
    assert len(request) < 300_000
    assert (
        b"metadata.csv" not in request and launch.catalog.recordings[0].path.encode() not in request
    )
    assert (tmp_path / "bucket/datasets/xc/.catalog.parquet").stat().st_size == launch.catalog_bytes


def _staged_requirements(proto_pipeline) -> list[str]:
    """What a worker pip-installs with the package built from --setup_file: the requirements of
    its sdist, without the extras."""
    for environment in proto_pipeline.components.environments.values():
        for dependency in environment.dependencies:
            path = beam_runner_api_pb2.ArtifactFilePayload.FromString(dependency.type_payload).path
            if path.endswith(".tar.gz"):
                with tarfile.open(path) as sdist:
                    name = next(n for n in sdist.getnames() if n.endswith(".egg-info/requires.txt"))
                    requires = sdist.extractfile(name).read().decode()
                return requires.split("\n[")[0].split()
    raise AssertionError("the package built from --setup_file does not travel to the workers")


def _seen_by_worker(_) -> tuple[int, str]:
    return os.getpid(), RuntimeValueProvider.runtime_options.get("job_name")


def test_beam_flags_reach_the_local_worker_processes():
    options, workers = pipeline_options(
        ["--job_name", "flag-for-workers", "--direct_num_workers", "2"]
    )
    assert workers == 2
    launcher = os.getpid()

    def check(seen):
        if len(seen) != 4 or {name for _, name in seen} != {"flag-for-workers"}:
            raise BeamAssertException(f"workers saw {seen}")
        if launcher in {pid for pid, _ in seen}:
            raise BeamAssertException("ran in the launcher, not in worker processes")

    with beam.Pipeline(options=options) as p:
        seen = p | beam.Create(range(4)) | beam.Reshuffle() | beam.Map(_seen_by_worker)
        assert_that(seen, check)


def test_catalog_file_round_trip_through_beams_parquet_source(tmp_path):
    n = 20_000
    recordings = [
        Recording(
            recording_id=f"{i}",
            path=f"gs://b/audio/XC{i}.mp3",
            source_file=f"XC{i}.mp3",
            species=f"Species {i % 97}",
            sound_type="song",
            license="//creativecommons.org/licenses/by-nc-sa/4.0/",
            quality="A",
            size_bytes=1000 + i,
            recordist=f"Recordist {i % 13}",
            url=f"//xeno-canto.org/{i}",
        )
        for i in range(n)
    ]
    failures = [
        Outcome(file=f"stray{i}.mp3", reason="not_in_metadata", detail="not named")
        for i in range(50)
    ]
    catalog = Catalog(
        recordings=recordings,
        failures=failures,
        labels=sorted({r.species for r in recordings}),
        input_files=n + 50,
        kept_types={},
    )
    splits = {
        r.recording_id: ("train", "validation", "test")[int(r.recording_id) % 3] for r in recordings
    }
    path = str(tmp_path / "catalog.parquet")
    assert write_catalog(path, catalog, splits) < 40 * n  # bytes

    def check(rows):
        read = [recording_of(r) for r in rows if not is_failure(r)]
        refused = [failure_of(r) for r in rows if is_failure(r)]
        if sorted(read, key=lambda x: int(x[0].recording_id)) != [
            (r, splits[r.recording_id]) for r in recordings
        ]:
            raise BeamAssertException("recordings differ")
        if sorted(refused, key=lambda f: f.file) != sorted(failures, key=lambda f: f.file):
            raise BeamAssertException("failures differ")

    with beam.Pipeline(options=PipelineOptions(["--direct_running_mode", "in_memory"])) as p:
        assert_that(p | beam.io.ReadFromParquet(path), check)


def test_progress_prints_a_line_every_few_seconds_with_rate_and_time_left():
    lines = []
    tracker = Progress(total=100, audio_seconds=7200, every=5.0, say=lines.append)
    for second in range(100):  # one recording a second
        tracker.finished(float(second))
    assert len(lines) == 20  # at 5, 10, ..., 95 s, and the last recording
    assert (
        lines[0]
        == "  6 of 100 recordings, 7 min of 2.0 h of audio, 60.0 recordings/min, about 2 min left"
    )
    assert lines[-1] == "  100 of 100 recordings, 2.0 h of 2.0 h of audio, 60.0 recordings/min"
