"""Download throughput of pipeline.fetch against the local stand-in of xeno-canto's API
(tests/xeno_canto_server.py): MB/s with --jobs 1 and --jobs 8, and CPU-seconds per MB.

    python -m benchmarks.fetch        (about 1 minute; writes results/fetch.json)

Files of 1 MB, served from memory on 127.0.0.1: 40 throttled to 4 MB/s per connection (a network
whose bandwidth is per connection, where the pool's parallel downloads should add up), and 400
unthrottled (loopback: the tool's own ceiling). Each fetch is a `python -m pipeline.fetch`
process into an empty folder; the same command run again, with everything already downloaded,
gives the fixed cost (interpreter start, imports, listing), which is taken out of the MB/s and
CPU figures. CPU is getrusage of the fetch process alone (the server runs in this one).
"""

from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
import tempfile
import time

from benchmarks.common import machine, ratio, save
from tests.xeno_canto_server import LICENSE_URL, StandIn

FILE_BYTES = 1_000_000
# (name, files, bytes per second per connection)
SETTINGS = (("throttled", 40, 4_000_000), ("loopback", 400, None))
KEY = "benchmark-key"


def _records(files: int) -> tuple[list[dict], dict[str, bytes]]:
    rng = random.Random(0)
    records, audio = [], {}
    for n in range(files):
        recording_id = str(500_000 + n)
        audio[recording_id] = rng.randbytes(FILE_BYTES)
        records.append({"id": recording_id, "gen": "Genus", "sp": f"species{n % 8}",
                        "en": f"Species {n % 8}", "type": "song", "q": "A", "length": "1:02",
                        "lic": LICENSE_URL.format("by"), "rec": "Recordist", "also": [],
                        "annotation-set": [], "url": f"//xeno-canto.org/{recording_id}",
                        "file": f"/{recording_id}/download", "file-name": f"XC{recording_id}.mp3"})  # fmt: skip
    return records, audio


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _fetch(api_url: str, output: str, jobs: int) -> dict:
    """Wall and CPU seconds of one fetch command."""
    command = [sys.executable, "-m", "pipeline.fetch", "grp:birds", "--output", output,
               "--api-url", api_url, "--jobs", str(jobs), "--quiet"]  # fmt: skip
    cpu, wall = _children_cpu(), time.perf_counter()
    subprocess.run(command, check=True, env={**os.environ, "XC_API_KEY": KEY})
    return {"wall_s": time.perf_counter() - wall, "cpu_s": _children_cpu() - cpu}


def measure(stand_in: StandIn, jobs: int) -> dict:
    """One fetch of every file, and the same command again (nothing left to download)."""
    with tempfile.TemporaryDirectory() as output:
        full = _fetch(stand_in.api_url, output, jobs)
        fixed = _fetch(stand_in.api_url, output, jobs)
    megabytes = sum(map(len, stand_in.audio.values())) / 1e6
    seconds, cpu = full["wall_s"] - fixed["wall_s"], full["cpu_s"] - fixed["cpu_s"]
    return {
        "jobs": jobs,
        "megabytes": megabytes,
        "wall_s": round(full["wall_s"], 2),
        "fixed_wall_s": round(fixed["wall_s"], 2),
        "mb_per_s": round(megabytes / seconds, 1),
        "cpu_s": round(full["cpu_s"], 2),
        "fixed_cpu_s": round(fixed["cpu_s"], 2),
        "cpu_s_per_mb": round(cpu / megabytes, 4),
        "load_avg_1min_after": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    results = {"machine": machine(), "file_bytes": FILE_BYTES}
    for name, files, bandwidth in SETTINGS:
        with StandIn(*_records(files), KEY, bytes_per_second=bandwidth) as stand_in:
            runs = [measure(stand_in, jobs) for jobs in (1, 8)]
        results[name] = {"files": files, "bytes_per_second_per_connection": bandwidth, "runs": runs,
                         "speedup_jobs_8_over_1": ratio(runs[1]["mb_per_s"], runs[0]["mb_per_s"])}  # fmt: skip
        for run in runs:
            print(f"{name:>9}  --jobs {run['jobs']}: {run['mb_per_s']:6.1f} MB/s, "
                  f"{run['cpu_s_per_mb']:.4f} CPU-s per MB (fixed {run['fixed_wall_s']} s, "
                  f"{run['fixed_cpu_s']} CPU-s), load {run['load_avg_1min_after']}")  # fmt: skip
    save("fetch", results)


if __name__ == "__main__":
    main()
