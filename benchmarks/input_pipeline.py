"""Examples per second through the trainer's tf.data pipelines, uncompressed against GZIP shards.

    python -m benchmarks.input_pipeline        (about 3 minutes; writes results/input_pipeline.json)

The demo corpus is built twice (--compression none and gzip, the same examples); each pipeline
of trainer/inputs.py is read to batched uint8 tensors in a fresh interpreter, for a fixed time
after a warm-up, on this machine's CPU only.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
import time

from benchmarks.builder import build
from benchmarks.common import build_flags, demo_corpus, in_fresh_process, machine, ratio, save

BATCH = 64
WARM_UP_BATCHES = 20
SECONDS = 8.0
GOAL = 5000
# The model's appetite on a GPU, for scale (no GPU here): TensorFlow's published tf_cnn_benchmarks
# figure for InceptionV3 training at 299x299, batch 64, float32, on one NVIDIA Tesla P100 (May 2017),
# https://github.com/tensorflow/docs/blob/master/site/en/r1/guide/performance/benchmarks.md
GPU_REFERENCE = {"images_per_s": 142, "gpu": "NVIDIA Tesla P100", "precision": "float32",
                 "source": "tensorflow/docs site/en/r1/guide/performance/benchmarks.md, "
                           "'Training synthetic data', 1 GPU, InceptionV3"}  # fmt: skip


def read_rate(data_dir: str, pipeline: str) -> dict:
    """Batches of `pipeline` ("train" or "eval") for SECONDS after a warm-up."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import resource

    from trainer import inputs

    info, labels = inputs.read_info_and_labels(data_dir)
    if pipeline == "train":
        dataset = inputs.train_dataset(data_dir, info, labels, BATCH)
    else:  # deterministic passes over the training split's shards, parsed and batched
        dataset = inputs.eval_dataset(data_dir, "train", info, labels, BATCH).repeat()
    batches = iter(dataset)
    for _ in range(WARM_UP_BATCHES):
        next(batches)

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    examples, start, cpu_start = 0, time.perf_counter(), cpu()
    while time.perf_counter() - start < SECONDS:
        batch = next(batches)
        spectrograms = batch[0] if pipeline == "train" else batch["spectrogram"]
        assert spectrograms.dtype.name == "uint8"
        examples += int(spectrograms.shape[0])  # an eval pass ends with a smaller batch
    wall, cpu_s = time.perf_counter() - start, cpu() - cpu_start
    return {
        "examples": examples,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu_s, 2),
        "examples_per_s": round(examples / wall),
        "examples_per_cpu_s": round(examples / cpu_s),
        "load_avg_1min_after": round(os.getloadavg()[0], 2),
    }


def shard_bytes(data_dir: pathlib.Path) -> int:
    return sum(p.stat().st_size for p in data_dir.glob("*.tfrecord*"))


def main() -> dict:
    corpus = demo_corpus()
    results: dict = {"machine": machine(), "batch_size": BATCH, "goal_examples_per_s": GOAL}
    runs, sizes = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for compression in ("none", "gzip"):
            out = pathlib.Path(tmp) / compression
            print(f"building the demo corpus with --compression {compression} ...")
            in_fresh_process(build, build_flags(corpus, out, "--compression", compression,
                                                "--direct_running_mode", "in_memory"))  # fmt: skip
            sizes[compression] = shard_bytes(out)
        for compression in ("none", "gzip"):  # read side by side, after both builds
            for pipeline in ("train", "eval"):
                print(f"reading {pipeline} pipeline, {compression} ...")
                out = str(pathlib.Path(tmp) / compression)
                runs[f"{pipeline}_{compression}"] = in_fresh_process(read_rate, out, pipeline)
    results["runs"] = runs
    results["shard_mb"] = {c: round(n / 1e6, 2) for c, n in sizes.items()}
    results["ratios"] = {
        "gzip_vs_none_size": ratio(sizes["gzip"], sizes["none"]),
        "gzip_vs_none_train_rate": ratio(runs["train_gzip"]["examples_per_s"], runs["train_none"]["examples_per_s"]),
        "gzip_vs_none_eval_rate": ratio(runs["eval_gzip"]["examples_per_s"], runs["eval_none"]["examples_per_s"]),
        "train_none_vs_goal": ratio(runs["train_none"]["examples_per_s"], GOAL),
        "train_none_vs_gpu_reference": ratio(runs["train_none"]["examples_per_s"], GPU_REFERENCE["images_per_s"]),
    }  # fmt: skip
    results["gpu_reference"] = GPU_REFERENCE
    print(f"\n{'pipeline':<14}{'examples/s':>12}{'per CPU s':>11}")
    for name, figures in runs.items():
        print(f"{name:<14}{figures['examples_per_s']:>12}{figures['examples_per_cpu_s']:>11}")
    print(f"shards: none {results['shard_mb']['none']} MB, gzip {results['shard_mb']['gzip']} MB")
    for name, value in results["ratios"].items():
        print(f"{name:<32}{value:>8.2f}")
    print(
        f"goal >= {GOAL} examples/s; InceptionV3 on one P100 trains {GPU_REFERENCE['images_per_s']} images/s"
    )
    save("input_pipeline", results)
    return results


if __name__ == "__main__":
    main()
