"""The plan made before a build's job, without audio: shard counts, Beam's options reaching
local workers, and the Dataflow job of a plan built offline (pipeline.plan and pipeline.graph)."""

from __future__ import annotations

import os
import re
import shutil
import tarfile

import apache_beam as beam
import pytest
from apache_beam.io.gcp.gcsfilesystem import GCSFileSystem
from apache_beam.options.pipeline_options import SetupOptions
from apache_beam.options.value_provider import RuntimeValueProvider
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.testing.util import BeamAssertException, assert_that

from pipeline.catalog import Recording
from pipeline.graph import construct
from pipeline.options import parse
from pipeline.plan import (
    BuildError,
    local_runner_flags,
    make_plan,
    one_process_seconds,
    pipeline_options,
    prepare_output,
    shard_counts,
)
from tests.prefix_filesystem import PrefixFileSystem


def _hours(suffix: str, bytes_per_second: int) -> list[Recording]:
    """Four one-hour recordings of a container, as large as its typical bitrate makes them."""
    return [
        Recording(
            recording_id=str(i),
            path=f"{i}{suffix}",
            source_file=f"{i}{suffix}",
            species="A",
            size_bytes=3600 * bytes_per_second,
        )  # fmt: skip
        for i in range(4)
    ]


def test_shard_counts_follow_the_container_not_an_mp3_bitrate():
    opts, _ = parse(["--input", "x", "--shard-mb", "10"])
    mp3, wav = _hours(".mp3", 16_000), _hours(".WAV", 96_000)
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
    plan = make_plan(*parse([
        "--input", "gs://bucket/audio", "--metadata", "gs://bucket/metadata.csv",
        "--output", "gs://bucket/datasets/xc", "--min-recordings", "3",
        "--runner", "DataflowRunner", "--project", "birdsong-test-1", "--region", "europe-west1",
        "--temp_location", "gs://bucket/tmp", "--setup_file", "./setup.py",
        "--dry_run", "True", "--no_auth",
    ]))  # fmt: skip
    assert plan.workers is None
    pipeline = construct(plan)
    pipeline.run().wait_until_finish()
    runner = pipeline.runner
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
        b"metadata.csv" not in request and plan.catalog.recordings[0].path.encode() not in request
    )
    assert (tmp_path / "bucket/datasets/xc/.catalog.parquet").stat().st_size == plan.catalog_bytes


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


def test_overwrite_replaces_the_dataset_files_and_keeps_the_others(tmp_path):
    (tmp_path / "train-00000-of-00001.tfrecord").write_bytes(b"old")
    (tmp_path / "dataset.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(BuildError, match=r"not empty \(3 files\); pass --overwrite"):
        prepare_output(str(tmp_path), overwrite=False)
    prepare_output(str(tmp_path), overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    ("flags", "hours", "one_process"),
    [([], 0.5, True), ([], 100.0, False), (["--direct_running_mode", "multi_processing"], 0.5, False),
     (["--direct_num_workers=2"], 0.5, False), (["--direct_running_mode=in_memory"], 100.0, True),
     (["--runner", "DataflowRunner"], 0.5, False)],
)  # fmt: skip
def test_the_local_runner_is_one_process_for_a_short_corpus_unless_told(flags, hours, one_process):
    beam_args = local_runner_flags(flags, hours * 3600)
    assert ("in_memory" in " ".join(beam_args)) == one_process
    assert beam_args[len(beam_args) - len(flags) :] == flags  # the user's flags, unchanged
    assert one_process_seconds(1) == float("inf")
    assert 3600 < one_process_seconds(2) < 3 * 3600  # 2 cores: about 2 hours
