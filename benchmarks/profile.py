"""Where a build's CPU goes: a py-spy profile of `python -m pipeline.build`, shares per stage.

    python -m benchmarks.profile [--tree DIR] [--name NAME] [BUILD FLAGS...]
                                          (writes results/profile[-NAME].json)

Runs the build as a user does (default flags: the demo corpus) under `py-spy record
--subprocesses` (every worker process too), then sorts each sampled stack into the first stage
whose marker it contains, innermost frame first; stacks of waiting threads (innermost frame a
lock, queue or poll) are left out of the shares. --tree runs another checkout's code (an
earlier commit unpacked with `git archive`) for a before/after pair.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import tempfile

from benchmarks.common import machine, save

# (stage, markers in a frame's "function (file)" text); a stack goes to the first stage any of
# its frames matches, frames read from the innermost out, so the most specific stage wins.
STAGES = [
    ("imports", ("_find_and_load", "<frozen importlib", "_call_with_frames_removed")),
    ("decode (soundfile/PyAV)", ("soundfile.py", "av/", "_decoded_frames")),
    ("resample (soxr)", ("soxr",)),
    ("spectrogram", ("spectrogram.py",)),
    ("scan, snippet choice, windows", ("snippets.py",)),
    ("Examples", ("make_example", "example.py", "SerializeToString")),
    ("shard writes", ("TFRecordSink", "fileio.py", "filebasedsink")),
    ("index and attribution (Parquet, text)", ("parquetio", "pyarrow", "textio")),
    ("progress", ("progress.py",)),
    ("Beam runner and harness", ("apache_beam",)),
    ("gRPC and threads", ("grpc", "threading.py", "concurrent/futures")),
]


# Innermost functions of threads that wait (locks, queues, gRPC's polling): not CPU, left out.
WAITS = {"wait", "acquire", "_serve", "channel_spin", "select", "poll", "sleep", "join", "get"}


def stage_of(stack: str) -> str:
    frames = stack.split(";")[::-1]
    if frames[0].split(" (")[0].split(".")[-1] in WAITS:
        return "waiting"
    if all(frame.startswith("process ") for frame in frames):
        return "native threads without a Python stack (gRPC's, BLAS)"
    for frame in frames:
        for stage, markers in STAGES:
            if stage == "imports" and any(m in frame for m in markers):
                return stage
    for frame in frames:
        for stage, markers in STAGES[1:]:
            if any(m in frame for m in markers):
                return stage
    return "other (launcher, catalog, interpreter)"


def shares(raw: str) -> dict[str, float]:
    counts: collections.Counter = collections.Counter()
    for line in raw.splitlines():
        stack, _, samples = line.rpartition(" ")
        if stack and samples.isdigit():
            counts[stage_of(stack)] += int(samples)
    waiting = counts.pop("waiting", 0)
    total = sum(counts.values()) or 1
    return {
        "samples": total,
        "waiting_samples_left_out": waiting,
        **{stage: round(100 * n / total, 1) for stage, n in counts.most_common()},
    }


def main(argv: list[str]) -> dict:
    tree, name = os.getcwd(), "profile"
    if argv[:1] == ["--tree"]:
        tree, argv = argv[1], argv[2:]
    if argv[:1] == ["--name"]:
        name, argv = f"profile-{argv[1]}", argv[2:]
    with tempfile.TemporaryDirectory() as tmp:
        raw = f"{tmp}/profile.txt"
        flags = argv or ["--output", f"{tmp}/dataset"]
        started = machine()
        subprocess.run(
            ["py-spy", "record", "--subprocesses", "--rate", "100", "--format", "raw",
             "--output", raw, "--", sys.executable, "-m", "pipeline.build", "--quiet", *flags],
            cwd=tree, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        with open(raw) as f:
            figures = shares(f.read())
    started["load_avg_1min_at_end"] = machine()["load_avg_1min_at_start"]
    result = {"machine": started, "tree": tree, "flags": flags, "shares_percent": figures}
    for stage, share in figures.items():
        print(f"{stage:<42}{share:>8}")
    save(name, result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
