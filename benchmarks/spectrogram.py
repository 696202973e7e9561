"""The spectrogram function against its version at an earlier commit, side by side in one run.

    python -m benchmarks.spectrogram [COMMIT]   (about 30 s; writes results/spectrogram.json)

CPU milliseconds per 32 snippets through `window_spectrograms` (one BLAS thread, as in a builder
worker), for each front end (linear/mel rows, dB/PCEN); the best of 3 alternating rounds each.
COMMIT defaults to 8a31919, the last before issue 20's float32 rewrite.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time

import numpy as np
import threadpoolctl

from benchmarks.common import machine, ratio, save
from frontend import spectrogram as current
from schemas import SEED_FRONT_END, SpectrogramParams

FRONT_ENDS = {
    "mel_pcen_default": SpectrogramParams(),
    "mel_db": SpectrogramParams(normalization="db"),
    "linear_pcen": SpectrogramParams(**{**SEED_FRONT_END, "normalization": "pcen"}),
    "linear_db_seed": SpectrogramParams(**SEED_FRONT_END),
}
SNIPPETS = 64


def _module_at(commit: str):
    source = subprocess.run(
        ["git", "show", f"{commit}:frontend/spectrogram.py"], capture_output=True, check=True
    ).stdout
    with tempfile.NamedTemporaryFile(suffix=".py") as f:
        f.write(source)
        f.flush()
        spec = importlib.util.spec_from_file_location("spectrogram_before", f.name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def _ms_per_32(module, snippets: np.ndarray, params: SpectrogramParams) -> float:
    start = time.process_time()
    for _ in range(3):
        for _ in module.window_spectrograms(snippets, params):
            pass
    return (time.process_time() - start) / (3 * len(snippets) / 32) * 1000


def main(commit: str = "8a31919") -> dict:
    threadpoolctl.threadpool_limits(1, user_api="blas")
    before = _module_at(commit)
    rng = np.random.default_rng(0)
    snippets = rng.standard_normal((SNIPPETS, SpectrogramParams().snippet_samples))
    snippets = (snippets * np.linspace(0.01, 1.0, snippets.shape[1])).astype(np.float32)
    results: dict = {"machine": machine(), "against": commit, "front_ends": {}}
    for name, params in FRONT_ENDS.items():
        times = {"before": [], "after": []}
        for _ in range(3):
            times["before"].append(_ms_per_32(before, snippets, params))
            times["after"].append(_ms_per_32(current, snippets, params))
        b, a = min(times["before"]), min(times["after"])
        results["front_ends"][name] = {
            "before_cpu_ms_per_32": round(b, 1), "after_cpu_ms_per_32": round(a, 1),
            "speedup": ratio(b, a),
        }  # fmt: skip
        print(f"{name:<18} before {b:6.1f} ms  after {a:6.1f} ms per 32 snippets  x{b / a:.2f}")
    save("spectrogram", results)
    return results


if __name__ == "__main__":
    main(*sys.argv[1:])
