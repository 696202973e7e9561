"""Shared helpers: CPU clocks, fresh processes per measurement, the corpus, results files."""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import json
import multiprocessing
import os
import pathlib
import platform
import resource
import subprocess
import time
from collections.abc import Callable, Iterator

RESULTS_DIR = pathlib.Path(__file__).parent / "results"
CACHE_DIR = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache")
BENCH_CACHE = CACHE_DIR / "birdsong-benchmarks"
# The real xeno-canto recordings beside the repository (../shared/data), when present.
REAL_RECORDINGS = pathlib.Path(__file__).resolve().parents[2] / "shared/data/xeno-canto-recordings"


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its waited-for children (subprocesses)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@contextlib.contextmanager
def clock() -> Iterator[dict]:
    """Fills the yielded dict with cpu_s and wall_s of the block."""
    figures: dict = {}
    cpu, wall = cpu_seconds(), time.perf_counter()
    yield figures
    figures["cpu_s"] = round(cpu_seconds() - cpu, 3)
    figures["wall_s"] = round(time.perf_counter() - wall, 3)
    figures["load_avg_1min_after"] = round(os.getloadavg()[0], 2)


def in_fresh_process(function: Callable, *args):
    """function(*args) in a new spawned interpreter, so its clocks and memory start clean."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def machine() -> dict:
    """Where the figures came from."""
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        model = next((line.split(":", 1)[1].strip() for line in f if "model name" in line), "")
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "python": platform.python_version(),
        "load_avg_1min_at_start": round(os.getloadavg()[0], 2),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def save(name: str, results: dict) -> pathlib.Path:
    """Writes benchmarks/results/<name>.json and prints where."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {path}")
    return path


def demo_corpus() -> pathlib.Path:
    """The project's default demo corpus (8 species, 88 recordings, about 35 minutes of mp3)."""
    from demo.corpus import default_cache_dir, generate_corpus

    return generate_corpus(default_cache_dir())


LARGE_CORPUS = {"seed": 0, "species": 8, "recordings_per_species": 40}  # 328 recordings, 2.25 h


def large_corpus() -> pathlib.Path:
    """The demo corpus's generator at 4x the recordings: fixed costs of a run amortised as in use.

    Cached beside the demo corpus; about 4 minutes to generate once on 2 busy cores.
    """
    from demo.corpus import default_cache_dir, generate_corpus

    return generate_corpus(default_cache_dir().with_name("demo-corpus-large-v1"), **LARGE_CORPUS)


def corpus_files(corpus: pathlib.Path) -> list[pathlib.Path]:
    with open(corpus / "metadata.csv", newline="", encoding="utf-8") as f:
        return [corpus / "audio" / row["file-name"] for row in csv.DictReader(f)]


def build_flags(corpus: pathlib.Path, output: pathlib.Path, *extra: str) -> list[str]:
    """pipeline.build flags keeping every recording of a corpus (all sound types)."""
    return ["--input", str(corpus / "audio"), "--metadata", str(corpus / "metadata.csv"),
            "--output", str(output), "--types", "", "--min-recordings", "1", "--overwrite",
            *extra]  # fmt: skip


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 3) if denominator else float("nan")
