"""The launcher at xeno-canto's scale: catalog selections, split and the Parquet catalog file for
a synthetic catalog of 1,000,000 recordings (no audio), and the size of the Dataflow job request
built offline (dry run) for 100 and 1,000,000 recordings, beside the old design that put the
catalog into the request with beam.Create.

    python -m benchmarks.launcher     # ~3 min
"""

from __future__ import annotations

import resource
import tempfile
import warnings

from benchmarks.common import clock, in_fresh_process, machine, save

N = 1_000_000
DATAFLOW = ["--runner", "DataflowRunner", "--project", "birdsong-bench-1", "--region", "europe-west1",
            "--temp_location", "gs://bucket/tmp", "--dry_run", "True", "--no_auth"]  # fmt: skip
TYPES = ["song", "call", "call, song", "dawn song", "alarm call", "flight call", "song?", ""]
LICENSES = [
    f"//creativecommons.org/licenses/{k}/4.0/" for k in ("by-nc-sa", "by-nc-nd", "by-sa", "by")
]


def synthetic_recordings(n: int) -> list:
    """n catalog entries of realistic variety: xeno-canto ids, paths, 10,000 species, types."""
    from pipeline.catalog import Recording

    return [
        Recording(
            recording_id=str(100_000 + i),
            path=f"gs://xc-bucket/audio/{i % 997:03d}/XC{100_000 + i}.mp3",
            source_file=f"{i % 997:03d}/XC{100_000 + i}.mp3",
            species=f"Species number {(i * 7919) % 10_000}",
            sound_type=TYPES[i % len(TYPES)],
            license=LICENSES[i % len(LICENSES)],
            quality="ABCDE"[i % 5],
            size_bytes=200_000 + (i * 104_729) % 5_000_000,
            recordist=f"Recordist {i % 20_000}",
            url=f"//xeno-canto.org/{100_000 + i}",
        )
        for i in range(n)
    ]


def launcher_figures(n: int) -> dict:
    """Time and peak memory of selections + split + Parquet catalog for n recordings."""
    from pipeline.catalog import Catalog, Selections, apply_selections
    from pipeline.catalog_file import write_catalog
    from pipeline.split import assign_splits

    recordings = synthetic_recordings(n)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fractions = {"train": 0.7, "validation": 0.15, "test": 0.15}
    with tempfile.TemporaryDirectory() as tmp, clock() as figures:
        kept, failures, labels, kept_types = apply_selections(
            recordings, Selections(("song",), 6, 0)
        )
        splits = assign_splits(((r.recording_id, r.species) for r in kept), fractions, 0)
        catalog = Catalog(
            recordings=kept, failures=failures, labels=labels, input_files=n, kept_types=kept_types
        )
        catalog_bytes = write_catalog(f"{tmp}/catalog.parquet", catalog, splits)
    return {
        "recordings": n, "kept": len(kept), "species": len(labels), **figures,
        "catalog_parquet_mb": round(catalog_bytes / 1e6, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_mb_with_recordings_in_memory_before": round(rss_before, 1),
    }  # fmt: skip


def job_request_bytes(n: int, old_design: bool = False) -> int:
    """Bytes of the Dataflow job (pipeline proto + job JSON) built offline for n recordings."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline import options as build_options
    from pipeline.catalog import Catalog
    from pipeline.catalog_file import write_catalog
    from pipeline.graph import construct
    from pipeline.plan import Plan

    recordings = synthetic_recordings(n)
    labels = sorted({r.species for r in recordings})
    with tempfile.TemporaryDirectory() as tmp:
        opts, _ = build_options.parse(["--input", "gs://xc-bucket/audio", "--output", tmp])
        if old_design:
            pipeline = beam.Pipeline(options=PipelineOptions(DATAFLOW))
            _ = pipeline | beam.Create([(r, "train") for r in recordings], reshuffle=False)
        else:
            path = f"{tmp}/catalog.parquet"
            catalog = Catalog(
                recordings=recordings, failures=[], labels=labels, input_files=n, kept_types={}
            )
            plan = Plan(
                opts=opts,
                beam_options=PipelineOptions(DATAFLOW),
                workers=None,
                catalog=catalog,
                shards={"train": 80, "validation": 17, "test": 17},
                catalog_path=path,
                catalog_bytes=write_catalog(
                    path, catalog, {r.recording_id: "train" for r in recordings}
                ),
                temp_directory=f"{tmp}/t",
                counts_path=f"{tmp}/t-counts.json",
                progress_folder=None,
            )
            pipeline = construct(plan)
        pipeline.run()
        runner = pipeline.runner
        return len(runner.proto_pipeline.SerializeToString()) + len(runner.job.json())


def main() -> dict:
    results = {"machine": machine()}
    print(f"launcher for {N:,} synthetic recordings ...")
    results["launcher"] = in_fresh_process(launcher_figures, N)
    print(results["launcher"])
    results["job_request_bytes"] = {
        "parquet_catalog_100": in_fresh_process(job_request_bytes, 100),
        "parquet_catalog_1000000": in_fresh_process(job_request_bytes, N),
        "old_beam_create_100000": in_fresh_process(job_request_bytes, 100_000, True),
    }
    print(results["job_request_bytes"])
    save("launcher", results)
    return results


if __name__ == "__main__":
    main()
