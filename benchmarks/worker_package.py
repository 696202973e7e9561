"""What a Dataflow worker installs from --setup_file: size, install time and import time.

    python -m benchmarks.worker_package [--before REV]   (~4 min; writes results/worker_package.json)

For this checkout and for an earlier commit (default: the one before the stack moved), the sdist
that Beam stages is built, pip-installed into a fresh virtual environment (from pip's cache where
it can: install time then is mostly unpacking), and measured: the installed size, the packages,
and the CPU time of the imports a worker runs (Beam's harness and the job's DoFns), best of 3.
A bare venv is a proxy: Beam's SDK image already holds Beam and some of its dependencies.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

from benchmarks.common import machine, save

ROOT = pathlib.Path(__file__).resolve().parents[1]
BEFORE = "9084eba"  # main before the move to TensorFlow 2.21 / Beam 2.77
WORKER_IMPORTS = "import apache_beam.runners.worker.sdk_worker_main, pipeline.process"
HEAVY = ("tensorflow", "tensorflow-cpu", "keras", "matplotlib", "tensorflow-io")


def sdist(source: pathlib.Path, out: pathlib.Path) -> pathlib.Path:
    """The package Beam stages from --setup_file (it runs `setup.py sdist` the same way)."""
    subprocess.run([sys.executable, "setup.py", "-q", "sdist", "-d", str(out)], cwd=source,
                   check=True, capture_output=True)  # fmt: skip
    return next(out.glob("*.tar.gz"))


def directory_mb(path: pathlib.Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6, 1)


def measure(package: pathlib.Path, venv: pathlib.Path) -> dict:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin/python")
    pip = [python, "-m", "pip", "install", "-q"]
    # A current pip, as setup.sh and Beam's SDK images have: the pip that comes with Python 3.11's
    # venv was still resolving the earlier tree's requirements after 17 CPU-minutes here.
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    empty_mb = directory_mb(venv)
    began = time.perf_counter()
    subprocess.run([*pip, str(package)], check=True)
    install_s = time.perf_counter() - began
    listed = subprocess.run([python, "-m", "pip", "list", "--format", "freeze"], check=True,
                            capture_output=True, text=True).stdout.split()  # fmt: skip
    names = {line.split("==")[0].lower() for line in listed}
    probe = (
        f"import time; t = time.process_time(); {WORKER_IMPORTS}; print(time.process_time() - t)"
    )
    imports = [
        float(
            subprocess.run(
                [python, "-c", probe], cwd=venv, check=True, capture_output=True, text=True
            ).stdout
        )  # fmt: skip
        for _ in range(3)
    ]
    return {
        "installed_mb": round(directory_mb(venv) - empty_mb, 1),
        "packages": len(names),
        "heavy_packages": sorted(names & set(HEAVY)),
        "install_s": round(install_s, 1),
        "worker_import_cpu_s": round(min(imports), 2),
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="the earlier commit (default %(default)s)")
    args = parser.parse_args()
    results: dict = {"machine": machine(), "before": args.before}
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        (work / "before-src").mkdir()
        archive = subprocess.run(["git", "archive", args.before], cwd=ROOT, check=True,
                                 capture_output=True).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(work / "before-src")], input=archive, check=True)
        shutil.copytree(ROOT, work / "current-src", ignore=shutil.ignore_patterns(
            ".venv*", ".git", "*.egg-info", "__pycache__", "results"))  # fmt: skip
        for label in ("before", "current"):
            print(
                f"{label}: building the sdist and installing it into a fresh venv ...", flush=True
            )
            package = sdist(work / f"{label}-src", work / f"{label}-dist")
            results[label] = measure(package, work / f"{label}-venv")
    results["current_vs_before"] = {
        key: round(results["current"][key] / results["before"][key], 2)
        for key in ("installed_mb", "packages", "install_s", "worker_import_cpu_s")
    }
    for key, value in results.items():
        print(f"{key}: {value}")
    save("worker_package", results)
    return results


if __name__ == "__main__":
    main()
