"""The catalog file: what the launcher decided, read back by the job through Beam's Parquet source."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import BeamAssertException, assert_that

from pipeline.catalog import Catalog, Recording
from pipeline.catalog_file import failure_of, is_failure, recording_of, write_catalog
from pipeline.outcome import Outcome


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
