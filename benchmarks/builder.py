"""Builder throughput in seconds of audio per CPU-second, beside its decoder and a seed-style script.

    python -m benchmarks.builder        (about 12 minutes on 2 busy cores; writes results/builder.json)

Two corpora from the same generator: the demo corpus (88 mp3s, about 35 minutes), with side
figures and 4-recording builds that measure the fixed cost of a run, and a large one (328 mp3s,
about 2.25 hours) where that fixed cost is amortised as in real use. Within a corpus every figure
is taken on the same files, each in a fresh interpreter; CPU-seconds count the measured work and
every subprocess it waited for (multi_processing workers, ffmpeg).

The seed-style script runs twice: with librosa 0.11's defaults (libsndfile mp3, soxr) and with
the defaults of the seed's time (librosa < 0.10: audioread/ffmpeg mp3, resampy kaiser_best).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import pathlib
import subprocess
import sys
import tempfile

from benchmarks.common import (
    build_flags,
    clock,
    corpus_files,
    demo_corpus,
    in_fresh_process,
    large_corpus,
    machine,
    ratio,
    save,
    subset_corpus,
)

SAMPLE_RATE = 22_050
HOP = 256
SNIPPET_SECONDS = 4.0
CUTOFF = 0.25
SUBSET = 4  # recordings of the small build that measures the fixed cost of a run
WALL_REPEATS = 2  # runs of each multi_processing build on the large corpus (wall clock)
GOALS = {"builder_vs_decoder": 0.5, "builder_vs_seed": 10.0, "two_vs_one_worker": 1.6}


def decode_only(paths: list[str]) -> dict:
    """tensorflow-io mp3 decoding to numpy in the builder's chunks, nothing after it."""
    import tensorflow_io as tfio

    from pipeline.audio import CHUNK_SECONDS, _chunk_length

    def decode(path: str) -> float:
        tensor = tfio.audio.AudioIOTensor(path)
        length, rate = int(tensor.shape[0]), int(tensor.rate)
        chunk = _chunk_length(rate, SAMPLE_RATE, CHUNK_SECONDS)
        for start in range(0, length, chunk):
            tensor[start : min(length, start + chunk)].numpy()
        return length / rate

    decode(paths[0])  # loads the library's kernels once
    with clock() as figures:
        seconds = {path: decode(path) for path in paths}
    return {**figures, "audio_s": sum(seconds.values()), "per_file_s": seconds}


def load_audio_only(paths: list[str]) -> dict:
    """pipeline.audio.load_audio: decode, mix to mono and resample to 22,050 Hz."""
    from pipeline.audio import load_audio

    load_audio(paths[0], SAMPLE_RATE)
    with clock() as figures:
        seconds = sum(load_audio(path, SAMPLE_RATE).seconds for path in paths)
    return {**figures, "audio_s_at_22050": seconds}


def ffmpeg_null(paths: list[str]) -> dict:
    """ffmpeg decoding each file to nowhere: the practical floor of mp3 decoding."""
    with clock() as figures:
        for path in paths:
            command = ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"]
            subprocess.run(command, check=True)
    return figures


def librosa_load_only(paths: list[str]) -> dict:
    """librosa.load to mono 22,050 Hz (libsndfile's mp3 decoder, soxr resampling)."""
    import librosa

    librosa.load(paths[0], sr=SAMPLE_RATE)
    with clock() as figures:
        for path in paths:
            librosa.load(path, sr=SAMPLE_RATE, mono=True)
    return figures


def seed_style(paths: list[str], out_dir: str, writer: str, era: str = "modern") -> dict:
    """The seed's way: librosa.load, a Python loop over window positions, one PNG per snippet.

    `writer` is "pil" (an image of the pixels) or "matplotlib" (a figure saved per snippet).
    `era` is "modern" (librosa 0.11's defaults: libsndfile's mp3 decoder, soxr_hq resampling)
    or "seed" (the defaults of the seed's time, librosa < 0.10: mp3 through audioread's ffmpeg
    backend, res_type="kaiser_best" through resampy).
    """
    import warnings

    import librosa
    import matplotlib
    import numpy as np
    from PIL import Image

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def load(path: str):
        if era == "modern":
            return librosa.load(path, sr=SAMPLE_RATE, mono=True)
        import audioread.ffdec

        with warnings.catch_warnings():  # librosa 0.11 warns that audioread is deprecated
            warnings.simplefilter("ignore")
            with audioread.ffdec.FFmpegAudioFile(path) as reader:
                return librosa.load(reader, sr=SAMPLE_RATE, mono=True, res_type="kaiser_best")

    def save_png(pixels: np.ndarray, path: str) -> None:
        if writer == "pil":
            Image.fromarray(pixels[::-1]).resize((pixels.shape[1], 224), Image.BILINEAR).save(path)
            return
        figure = plt.figure(figsize=(pixels.shape[1] / 100, 2.24), dpi=100)
        axes = figure.add_axes((0, 0, 1, 1))
        axes.set_axis_off()
        axes.imshow(pixels, origin="lower", aspect="auto", cmap="gray")
        figure.savefig(path)
        plt.close(figure)

    def snippets_of(path: str) -> int:
        y, sr = load(path)
        n = int(SNIPPET_SECONDS * sr)
        y = np.pad(y, (0, max(0, n - len(y))))
        energies = [
            float(np.dot(y[p : p + n], y[p : p + n])) for p in range(0, len(y) - n + 1, HOP)
        ]
        loudest, chosen = max(energies), []
        limit = max(1, round(len(y) / sr / 3.0))
        while len(chosen) < limit:
            best = max(range(len(energies)), key=energies.__getitem__)
            if energies[best] <= 0 or energies[best] < CUTOFF * loudest:
                break
            chosen.append(best)
            for i in range(max(0, best - n // HOP + 1), min(len(energies), best + n // HOP)):
                energies[i] = 0.0
        for k, position in enumerate(chosen):
            snippet = y[position * HOP : position * HOP + n]
            stft = librosa.stft(snippet, n_fft=512, hop_length=HOP, window="hamming", center=False)
            db = librosa.amplitude_to_db(np.abs(stft), ref=np.max, top_db=80.0)
            pixels = np.uint8(np.rint((db + 80.0) * 255.0 / 80.0))
            save_png(pixels, f"{out_dir}/{pathlib.Path(path).stem}-{k}.png")
        return len(chosen)

    snippets_of(paths[0])  # librosa's lazy imports and caches (and resampy's numba compilation)
    with clock() as figures:
        figures["snippets"] = sum(snippets_of(path) for path in paths)
    return figures


def worker_imports() -> dict:
    """What a multi_processing or Dataflow worker imports before its first recording."""
    with clock() as figures:
        subprocess.run(
            [sys.executable, "-c", "import apache_beam.runners.worker.sdk_worker_main, "
             "pipeline.process, tensorflow_io"], check=True)  # fmt: skip
    return figures


def build(flags: list[str]) -> dict:
    """pipeline.build.run end to end (catalog, Beam job, shards, dataset.json)."""
    from pipeline.build import run

    logging.getLogger().setLevel(logging.ERROR)
    with clock() as figures, contextlib.redirect_stdout(io.StringIO()):
        info = run(flags)
    figures["examples"] = sum(info["counts"]["examples"].values())
    figures["recordings"] = sum(info["counts"]["recordings"].values())
    figures["workers"] = info["workers"]
    return figures


MODES = {
    "in_memory": ["--direct_running_mode", "in_memory"],
    "multi_processing_1": ["--direct_running_mode", "multi_processing", "--direct_num_workers", "1"],
    "multi_processing_2": ["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"],
}  # fmt: skip


def measure(corpus: pathlib.Path, work: pathlib.Path, full: bool) -> dict:
    """The runs on one corpus. `full`: also the side figures and the 4-recording builds."""
    paths = [str(p) for p in corpus_files(corpus)]
    print(f"{corpus.name}: decode-only pass over {len(paths)} files ...", flush=True)
    decode = in_fresh_process(decode_only, paths)
    durations = decode.pop("per_file_s")
    audio_s = decode["audio_s"]
    out = {"corpus": {"path": str(corpus), "files": len(paths),
                      "audio_minutes": round(audio_s / 60, 2)}}  # fmt: skip
    runs = {"decode_tensorflow_io": decode}
    if full:
        runs["load_audio_decode_mono_resample"] = in_fresh_process(load_audio_only, paths)
        runs["ffmpeg_null"] = in_fresh_process(ffmpeg_null, paths)
        small = subset_corpus(corpus, SUBSET, work / "small")
        small_audio_s = sum(
            durations[str(corpus / "audio" / p.name)] for p in (small / "audio").iterdir()
        )
    for name, mode in MODES.items():
        print(f"{corpus.name}: build {name} ...", flush=True)
        if full:
            runs[f"build_{name}_small"] = in_fresh_process(
                build, build_flags(small, work / "out", *mode)
            )
        runs[f"build_{name}"] = in_fresh_process(build, build_flags(corpus, work / "out", *mode))
    # The 2-vs-1-worker speedup is wall-clock, so other load on the machine skews it:
    # run each WALL_REPEATS times in all, interleaved, and keep the best.
    for _ in range(WALL_REPEATS - 1 if not full else 0):
        for name in ("multi_processing_1", "multi_processing_2"):
            again = in_fresh_process(build, build_flags(corpus, work / "out", *MODES[name]))
            runs[f"build_{name}"].setdefault("wall_s_runs", [runs[f"build_{name}"]["wall_s"]])
            runs[f"build_{name}"]["wall_s_runs"].append(again["wall_s"])
    for name in ("multi_processing_1", "multi_processing_2"):
        figures = runs[f"build_{name}"]
        figures["wall_s_best"] = min(figures.get("wall_s_runs", [figures["wall_s"]]))
    print(f"{corpus.name}: seed-style scripts ...", flush=True)
    if full:
        runs["librosa_load"] = in_fresh_process(librosa_load_only, paths)
    for era in ("modern", "seed"):
        (work / era).mkdir()
        runs[f"seed_style_pil_{era}_librosa"] = in_fresh_process(
            seed_style, paths, str(work / era), "pil", era
        )
    for name, figures in runs.items():
        seconds = small_audio_s if name.endswith("_small") else audio_s
        figures["audio_s_per_cpu_s"] = round(seconds / figures["cpu_s"], 1)
    if full:
        for name in MODES:  # the cost of the audio alone, without the fixed cost of a run
            whole, part = runs[f"build_{name}"], runs[f"build_{name}_small"]
            whole["fixed_cpu_s_estimate"] = part["cpu_s"]
            whole["marginal_audio_s_per_cpu_s"] = round(
                (audio_s - small_audio_s) / (whole["cpu_s"] - part["cpu_s"]), 1
            )
    out["runs"] = runs
    out["ratios"] = ratios(runs)
    return out


def main() -> dict:
    results: dict = {"machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        results["worker_start_up"] = in_fresh_process(worker_imports)
        (work / "demo").mkdir()
        results["demo"] = measure(demo_corpus(), work / "demo", full=True)
        (work / "large").mkdir()
        results["large"] = measure(large_corpus(), work / "large", full=False)
    results["fixed_cost"] = fixed_cost(results["demo"], results["large"])
    results["goals"] = GOALS
    results["machine"]["load_avg_1min_at_end"] = round(os.getloadavg()[0], 2)
    for name in ("demo", "large"):
        print_table(results[name])
    print("\nfixed cost of a run (CPU s), from the two corpora:", results["fixed_cost"])
    print("worker start-up (imports, one fresh interpreter):", results["worker_start_up"])
    save("builder", results)
    return results


def fixed_cost(demo: dict, large: dict) -> dict:
    """CPU s = fixed + audio s / rate, solved from the two corpora's builds, per mode."""
    a1, a2 = (c["corpus"]["audio_minutes"] * 60 for c in (demo, large))
    out = {}
    for name in MODES:
        c1, c2 = demo["runs"][f"build_{name}"]["cpu_s"], large["runs"][f"build_{name}"]["cpu_s"]
        rate = (a2 - a1) / (c2 - c1)
        out[name] = {"fixed_cpu_s": round(c1 - a1 / rate, 2), "audio_s_per_cpu_s": round(rate, 1)}
    return out


def ratios(runs: dict) -> dict:
    rate = {name: figures["audio_s_per_cpu_s"] for name, figures in runs.items()}
    default = rate["build_multi_processing_2"]
    out = {
        "builder_vs_decoder": ratio(default, rate["decode_tensorflow_io"]),
        "builder_in_memory_vs_decoder": ratio(rate["build_in_memory"], rate["decode_tensorflow_io"]),
        "builder_1_worker_vs_decoder": ratio(rate["build_multi_processing_1"], rate["decode_tensorflow_io"]),
        "builder_vs_seed_modern_librosa": ratio(default, rate["seed_style_pil_modern_librosa"]),
        "builder_vs_seed_seed_librosa": ratio(default, rate["seed_style_pil_seed_librosa"]),
        "builder_in_memory_vs_seed_modern_librosa": ratio(rate["build_in_memory"], rate["seed_style_pil_modern_librosa"]),
        "builder_in_memory_vs_seed_seed_librosa": ratio(rate["build_in_memory"], rate["seed_style_pil_seed_librosa"]),
        "two_vs_one_worker": ratio(
            runs["build_multi_processing_1"]["wall_s_best"], runs["build_multi_processing_2"]["wall_s_best"]
        ),
    }  # fmt: skip
    if "build_in_memory_small" in runs:
        out["builder_marginal_vs_decoder"] = ratio(
            runs["build_multi_processing_2"]["marginal_audio_s_per_cpu_s"],
            rate["decode_tensorflow_io"],
        )
        out["decoder_vs_ffmpeg_null"] = ratio(rate["decode_tensorflow_io"], rate["ffmpeg_null"])
        out["decoder_vs_librosa_load"] = ratio(rate["decode_tensorflow_io"], rate["librosa_load"])
    return out


def print_table(results: dict) -> None:
    goals = {"builder_vs_seed_modern_librosa": GOALS["builder_vs_seed"],
             "builder_vs_seed_seed_librosa": GOALS["builder_vs_seed"], **GOALS}  # fmt: skip
    print(
        f"\n{results['corpus']['audio_minutes']} minutes of audio in {results['corpus']['files']} mp3 files"
    )
    print(f"{'run':<40}{'CPU s':>9}{'wall s':>9}{'audio s / CPU s':>17}")
    for name, figures in results["runs"].items():
        print(
            f"{name:<40}{figures['cpu_s']:>9.1f}{figures['wall_s']:>9.1f}{figures['audio_s_per_cpu_s']:>17.1f}"
        )
    for name, value in results["ratios"].items():
        goal = goals.get(name)
        verdict = (
            "" if goal is None else f"  (goal >= {goal}: {'met' if value >= goal else 'MISSED'})"
        )
        print(f"{name:<40}{value:>9.2f}{verdict}")


if __name__ == "__main__":
    main()
