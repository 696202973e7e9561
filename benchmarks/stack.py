"""The default stack against the tensorflow-io one (TensorFlow 2.17, Beam 2.72, numpy 1.26), side by side.

    python -m benchmarks.stack --other .venv-tensorflow-io/bin/python   (~15 min; results/stack.json)

Both environments run this checkout's code. Each figure is taken in one environment, then at once
in the other, on the same files, each in a fresh interpreter: the builder beside soundfile decode-only
and the seed-style librosa script (benchmarks.builder, on the real recordings when present, else
the demo corpus), tf.data read rates (benchmarks.input_pipeline) and CPU training steps
(benchmarks.training). Ratios are this environment's figure over the other's. librosa must be
installed in both (pip install librosa==0.11.0).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile

from benchmarks import builder, input_pipeline, training
from benchmarks.common import (
    REAL_RECORDINGS,
    build_flags,
    demo_corpus,
    in_fresh_process,
    machine,
    ratio,
    save,
)

TRAINING_RUNS = ((75, 1), (75, 2), (150, 2))


def measure_builder(work: pathlib.Path) -> dict:
    corpus = REAL_RECORDINGS if REAL_RECORDINGS.is_dir() else demo_corpus()
    return builder.measure(corpus, work, full=False, modes=("in_memory", "multi_processing_2"))


def measure_input_pipeline(work: pathlib.Path) -> dict:
    out = work / "dataset"
    flags = build_flags(demo_corpus(), out, "--direct_running_mode", "in_memory")
    in_fresh_process(builder.build, flags)
    return {name: in_fresh_process(input_pipeline.read_rate, str(out), name)
            for name in ("train", "eval")}  # fmt: skip


def measure_training(work: pathlib.Path) -> dict:
    return {f"size{size}_phase{phase}": in_fresh_process(training.step_rate, size, phase)
            for size, phase in TRAINING_RUNS}  # fmt: skip


MEASURES = {
    "builder": measure_builder,
    "input_pipeline": measure_input_pipeline,
    "training": measure_training,
}


def versions() -> dict:
    import importlib.metadata

    names = ("tensorflow-cpu", "tensorflow", "keras", "apache-beam", "numpy", "protobuf", "scipy")
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {"python": platform.python_version(), **found}


def in_environment(python: str, name: str, work: pathlib.Path) -> dict:
    """One measure in the interpreter `python`, through this module's --measure."""
    result = work / f"{name}.json"
    command = [python, "-m", "benchmarks.stack", "--measure", name, "--work", str(work),
               "--result", str(result)]  # fmt: skip
    subprocess.run(command, check=True)
    return json.loads(result.read_text())


def headline(name: str, figures: dict) -> dict:
    """The figures a reader compares: rates of the builder and its baselines, ex/s, images/s."""
    if name == "builder":
        rates = {run: f["audio_s_per_cpu_s"] for run, f in figures["runs"].items()}
        return {**{f"{run} audio_s_per_cpu_s": r for run, r in rates.items()}, **figures["ratios"]}
    if name == "input_pipeline":
        return {f"{run} examples_per_s": f["examples_per_s"] for run, f in figures.items()}
    return {f"{run} images_per_s": f["images_per_s"] for run, f in figures.items()}


def compare(other: str) -> dict:
    pythons = {"current": sys.executable, "other": other}
    results: dict = {"machine": machine(), "environments": {}, "measures": {}}
    for label, python in pythons.items():
        out = subprocess.run([python, "-c", "from benchmarks.stack import versions; "
                              "import json; print(json.dumps(versions()))"],
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
        results["environments"][label] = json.loads(out)
    for name in MEASURES:
        figures = {}
        for label, python in pythons.items():
            print(f"{name} in the {label} environment ({python}) ...", flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                figures[label] = headline(name, in_environment(python, name, pathlib.Path(tmp)))
        figures["current_vs_other"] = {
            key: ratio(value, figures["other"][key]) for key, value in figures["current"].items()
        }
        results["measures"][name] = figures
        save("stack", results)
    results["machine"]["load_avg_1min_at_end"] = round(os.getloadavg()[0], 2)
    print(f"\n{'figure':<58}{'current':>10}{'other':>10}{'ratio':>8}")
    for name, figures in results["measures"].items():
        for key, value in figures["current"].items():
            print(f"{name + ': ' + key:<58}{value:>10}{figures['other'][key]:>10}"
                  f"{figures['current_vs_other'][key]:>8}")  # fmt: skip
    save("stack", results)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", default=".venv-tensorflow-io/bin/python",
                        help="the other environment's python (default %(default)s)")  # fmt: skip
    parser.add_argument("--measure", choices=MEASURES, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=pathlib.Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=pathlib.Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        args.result.write_text(json.dumps(MEASURES[args.measure](args.work)))
    else:
        compare(args.other)


if __name__ == "__main__":
    main()
