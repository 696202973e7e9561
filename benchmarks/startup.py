"""Start-up of the commands: `python -m trainer.predict --help` and `import trainer.predict`
(wall and CPU seconds, and whether Beam and TensorFlow are loaded), here and, side by side in
the same run, in another checkout (e.g. a worktree of the commit before a change).

    python -m benchmarks.startup [--against DIR] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import time

from benchmarks.common import machine, ratio, save

HERE = pathlib.Path(__file__).resolve().parents[1]
_LOADED = (
    "import sys, trainer.predict; "
    "print(int(any(m.startswith('apache_beam') for m in sys.modules)), "
    "int('tensorflow' in sys.modules))"
)


def _timed(command: list[str], checkout: pathlib.Path) -> tuple[float, float, str]:
    """(wall s, CPU s, stdout) of a command run in `checkout`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(command, cwd=checkout, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, done.stdout


def figures(checkouts: dict[str, pathlib.Path], repeats: int) -> dict:
    """Median wall and CPU seconds per checkout, the runs alternating between checkouts."""
    runs: dict[str, dict[str, list[float]]] = {
        name: {"help_wall_s": [], "help_cpu_s": [], "import_wall_s": [], "import_cpu_s": []}
        for name in checkouts
    }
    loaded = {}
    for _ in range(repeats):
        for name, checkout in checkouts.items():
            wall, cpu, _ = _timed([sys.executable, "-m", "trainer.predict", "--help"], checkout)
            runs[name]["help_wall_s"].append(wall)
            runs[name]["help_cpu_s"].append(cpu)
            wall, cpu, out = _timed([sys.executable, "-c", _LOADED], checkout)
            runs[name]["import_wall_s"].append(wall)
            runs[name]["import_cpu_s"].append(cpu)
            beam, tensorflow = out.split()
            loaded[name] = {"apache_beam": beam == "1", "tensorflow": tensorflow == "1"}
    return {
        name: {
            **{key: round(statistics.median(values), 3) for key, values in by_key.items()},
            "loads": loaded[name],
        }
        for name, by_key in runs.items()
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", type=pathlib.Path, help="another checkout to compare with")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    checkouts = {"this": HERE, **({"against": args.against.resolve()} if args.against else {})}
    load_before = os.getloadavg()[0]
    results = {"machine": machine(), "load_avg_1min_before": round(load_before, 2),
               "repeats": args.repeats, **figures(checkouts, args.repeats)}  # fmt: skip
    if args.against:
        results["against_over_this"] = {
            key: ratio(results["against"][key], results["this"][key])
            for key in ("help_wall_s", "help_cpu_s", "import_wall_s", "import_cpu_s")
        }
    results["load_avg_1min_after"] = round(os.getloadavg()[0], 2)
    print(results)
    save("startup", results)
    return results


if __name__ == "__main__":
    main()
