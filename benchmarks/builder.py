"""Builder throughput in seconds of audio per CPU-second, beside its decoders and a seed-style script.

    python -m benchmarks.builder [BEFORE]   (about 15 minutes on 2 busy cores; writes results/builder.json)

BEFORE: a checkout of an earlier commit (`git archive COMMIT | tar -x -C DIR`), whose default
build is measured beside this one's on every corpus.

Three corpora: the demo corpus (88 mp3s, about 35 minutes) with side figures, a large one from
the same generator (328 mp3s, about 2.25 hours) where the fixed cost of a run is amortised as in
real use, and the real xeno-canto recordings in ../shared/data when they are there. Within a
corpus every figure is taken on the same files, each in a fresh interpreter; CPU-seconds count
the measured work and every subprocess it waited for (multi_processing workers, ffmpeg).

The decoders (soundfile, PyAV, tensorflow-io) are measured decoding alone, to numpy, in the
builder's chunks. The seed-style script runs with librosa 0.11's defaults (libsndfile mp3, soxr)
and, on the demo corpus, with the defaults of the seed's time (librosa < 0.10: audioread/ffmpeg
mp3, resampy kaiser_best).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
import pathlib
import subprocess
import sys
import tempfile

from benchmarks.common import (
    REAL_RECORDINGS,
    build_flags,
    clock,
    corpus_files,
    demo_corpus,
    ffmpeg,
    in_fresh_process,
    large_corpus,
    machine,
    ratio,
    save,
)

SAMPLE_RATE = 22_050
HOP = 256
SNIPPET_SECONDS = 4.0
CUTOFF = 0.25
GOALS = {"builder_vs_decoder": 0.5, "builder_vs_seed": 2.0, "worker_fixed_cpu_s": 2.0,
         "demo_vs_large_cpu_per_audio_s": 1.5}  # fmt: skip
TENSORFLOW_IO = importlib.util.find_spec("tensorflow_io") is not None  # its own environment


def _decode_soundfile(path: str, chunk: float) -> float:
    import soundfile

    with soundfile.SoundFile(path) as f:
        frames = round(chunk * f.samplerate)
        for _ in f.blocks(frames, dtype="float32", always_2d=True):
            pass
        return f.frames / f.samplerate


def _decode_pyav(path: str, chunk: float) -> float:
    """PyAV decoding to the file's native sample format (no conversion, no resampling)."""
    import av

    with av.open(path) as container:
        stream = container.streams.audio[0]
        frames = 0
        for packet in container.demux(stream):  # skipping packets FFmpeg cannot decode
            try:
                decoded = packet.decode()
            except av.InvalidDataError:
                continue
            for frame in decoded:
                frame.to_ndarray()
                frames += frame.samples
        return frames / stream.codec_context.sample_rate


def _decode_tensorflow_io(path: str, chunk: float) -> float:
    import tensorflow_io as tfio

    tensor = tfio.audio.AudioIOTensor(path)
    length, rate = int(tensor.shape[0]), int(tensor.rate)
    step = round(chunk * rate)
    for start in range(0, length, step):
        tensor[start : min(length, start + step)].numpy()
    return length / rate


DECODE_ONLY = {"soundfile": _decode_soundfile, "pyav": _decode_pyav,
               **({"tensorflow-io": _decode_tensorflow_io} if TENSORFLOW_IO else {})}  # fmt: skip
DEFAULT_DECODER = "soundfile"


def decode_only(paths: list[str], decoder: str) -> dict:
    """One decoder's decoding to numpy arrays in the builder's chunks, nothing after it."""
    from frontend.audio import CHUNK_SECONDS

    decode = DECODE_ONLY[decoder]
    decode(paths[0], CHUNK_SECONDS)  # loads the library once
    with clock() as figures:
        seconds = {path: decode(path, CHUNK_SECONDS) for path in paths}
    return {**figures, "audio_s": sum(seconds.values()), "per_file_s": seconds}


def load_audio_only(paths: list[str]) -> dict:
    """frontend.audio streamed with the default decoder: decode, mono, resample to 22,050 Hz."""
    from frontend.audio import open_audio

    def read(path: str) -> float:
        with open_audio(path, SAMPLE_RATE) as stream:
            return sum(len(chunk) for chunk in stream.chunks()) / SAMPLE_RATE

    read(paths[0])
    with clock() as figures:
        figures["audio_s_at_22050"] = sum(read(path) for path in paths)
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


WORKER_START = (
    "import apache_beam.runners.worker.sdk_worker_main, pipeline.process, sys; "
    "from pipeline.catalog import Recording; from frontend.snippets import SnippetSelection; "
    "from schemas import SpectrogramParams; "
    "d = pipeline.process.ProcessRecording(SpectrogramParams(), SnippetSelection(), ['b'], 1.0); "
    "d.setup(); out = list(d.process((Recording(recording_id='a', path=sys.argv[1], source_file='a', species='b'), 'train'))); "
    "assert not out[-1].value.failed, out[-1].value; "
    "assert 'tensorflow' not in sys.modules"
)


def worker_start_up(path: str) -> dict:
    """What a multi_processing worker pays before its recordings: a fresh interpreter importing
    Beam's worker harness and pipeline.process, and the first recording's own imports (soxr,
    soundfile, scipy) shown by processing a 1-second file; and the same with tensorflow-io."""
    out = {}
    with clock() as figures:
        subprocess.run([sys.executable, "-c", WORKER_START, path], check=True)
    out["imports_and_first_recording"] = figures
    with clock() as figures:
        subprocess.run([sys.executable, "-c", "import apache_beam.runners.worker.sdk_worker_main, pipeline.process"], check=True)  # fmt: skip
    out["imports_only"] = figures
    if TENSORFLOW_IO:
        with clock() as figures:
            subprocess.run([sys.executable, "-c", "import apache_beam.runners.worker.sdk_worker_main, pipeline.process, tensorflow_io"], check=True)  # fmt: skip
        out["imports_with_tensorflow_io"] = figures
    return out


def build(flags: list[str]) -> dict:
    """pipeline.build.run end to end (catalog, Beam job, shards, dataset.json)."""
    from pipeline.build import run

    logging.getLogger().setLevel(logging.ERROR)
    with clock() as figures, contextlib.redirect_stdout(io.StringIO()):
        info = run(flags)
    figures["examples"] = sum(info.counts.examples.values())
    figures["recordings"] = sum(info.counts.recordings.values())
    figures["workers"] = info.workers
    return figures


def build_in(tree: str, flags: list[str]) -> dict:
    """`build` with the code of another checkout (`git archive COMMIT | tar -x -C TREE`), its
    worker processes too."""
    os.chdir(tree)
    os.environ["PYTHONPATH"] = tree
    sys.path.insert(0, tree)
    return build(flags)


MODES = {
    "default": [],  # as a user runs it: one process under an hour of audio, else a worker per core
    "in_memory": ["--direct_running_mode", "in_memory"],
    "multi_processing_1": ["--direct_running_mode", "multi_processing", "--direct_num_workers", "1"],
    "multi_processing_2": ["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"],
}  # fmt: skip


def measure(
    corpus: pathlib.Path, work: pathlib.Path, full: bool, modes=tuple(MODES), before: str = ""
) -> dict:
    """The runs on one corpus. `full`: also the side figures, tensorflow-io and the seed-era script."""
    paths = [str(p) for p in corpus_files(corpus)]
    runs = {}
    for decoder in DECODE_ONLY if full else ("soundfile", "pyav"):
        print(
            f"{corpus.name}: decode-only pass over {len(paths)} files with {decoder} ...",
            flush=True,
        )
        runs[f"decode_{decoder}"] = in_fresh_process(decode_only, paths, decoder)
    durations = runs[f"decode_{DEFAULT_DECODER}"]["per_file_s"]
    for figures in list(runs.values()):
        figures.pop("per_file_s")
    audio_s = sum(durations.values())
    out = {"corpus": {"path": str(corpus), "files": len(paths),
                      "audio_minutes": round(audio_s / 60, 2)}}  # fmt: skip
    if full:
        runs["load_audio_decode_mono_resample"] = in_fresh_process(load_audio_only, paths)
        runs["librosa_load"] = in_fresh_process(librosa_load_only, paths)
    for name in modes:
        print(f"{corpus.name}: build {name} ...", flush=True)
        runs[f"build_{name}"] = in_fresh_process(
            build, build_flags(corpus, work / "out", *MODES[name])
        )
    if before:
        print(f"{corpus.name}: default build of {before} ...", flush=True)
        runs["build_default_before"] = in_fresh_process(
            build_in, before, build_flags(corpus, work / "out")
        )
    print(f"{corpus.name}: seed-style scripts ...", flush=True)
    for era in ("modern", "seed") if full else ("modern",):
        (work / era).mkdir()
        runs[f"seed_style_pil_{era}_librosa"] = in_fresh_process(
            seed_style, paths, str(work / era), "pil", era
        )
    for figures in runs.values():
        figures["audio_s_per_cpu_s"] = round(audio_s / figures["cpu_s"], 1)
    out["runs"] = runs
    out["ratios"] = ratios(runs)
    return out


def main(before: str = "") -> dict:
    """`before`: a checkout of an earlier commit whose default build is measured beside."""
    results: dict = {"machine": machine(), "before": before}
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        demo = demo_corpus()
        one_second = work / "one-second.mp3"
        ffmpeg("-i", str(corpus_files(demo)[0]), "-t", "1", str(one_second))
        results["worker_start_up"] = in_fresh_process(worker_start_up, str(one_second))
        (work / "demo").mkdir()
        results["demo"] = measure(demo, work / "demo", full=True, before=before)
        save("builder", results)  # so far, in case a later corpus fails
        (work / "large").mkdir()
        results["large"] = measure(large_corpus(), work / "large", full=False, before=before)
        save("builder", results)
        if REAL_RECORDINGS.is_dir():
            (work / "real").mkdir()
            results["real"] = measure(
                REAL_RECORDINGS,
                work / "real",
                full=False,
                modes=("default", "in_memory", "multi_processing_2"),
                before=before,
            )
    results["fixed_cost"] = fixed_cost(results["demo"], results["large"])
    per_audio_s = {name: results[name]["runs"]["build_default"]["cpu_s"] / (results[name]["corpus"]["audio_minutes"] * 60) for name in ("demo", "large")}  # fmt: skip
    results["demo_vs_large_cpu_per_audio_s"] = ratio(per_audio_s["demo"], per_audio_s["large"])
    results["goals"] = GOALS
    results["machine"]["load_avg_1min_at_end"] = round(os.getloadavg()[0], 2)
    for name in ("demo", "large", "real"):
        if name in results:
            print_table(results[name])
    print("\nfixed cost of a run (CPU s), from the two corpora:", results["fixed_cost"])
    print("demo / large CPU-s per audio-s, default builds:", results["demo_vs_large_cpu_per_audio_s"],
          f"(goal <= {GOALS['demo_vs_large_cpu_per_audio_s']})")  # fmt: skip
    print("worker start-up (CPU s, fresh interpreters):",
          {k: v["cpu_s"] for k, v in results["worker_start_up"].items()})  # fmt: skip
    save("builder", results)
    return results


def fixed_cost(demo: dict, large: dict) -> dict:
    """CPU s = fixed + audio s / rate, solved from the two corpora's builds, per mode; and the
    fixed cost each multi_processing worker adds (the 2-worker run's fixed cost minus in_memory's,
    halved)."""
    a1, a2 = (c["corpus"]["audio_minutes"] * 60 for c in (demo, large))
    out = {}
    for name in MODES:
        if name == "default":  # one process on the demo corpus, workers on the large one
            continue
        c1, c2 = demo["runs"][f"build_{name}"]["cpu_s"], large["runs"][f"build_{name}"]["cpu_s"]
        rate = (a2 - a1) / (c2 - c1)
        out[name] = {"fixed_cpu_s": round(c1 - a1 / rate, 2), "audio_s_per_cpu_s": round(rate, 1)}
    out["per_worker_cpu_s"] = round(
        (out["multi_processing_2"]["fixed_cpu_s"] - out["in_memory"]["fixed_cpu_s"]) / 2, 2
    )
    return out


def ratios(runs: dict) -> dict:
    rate = {name: figures["audio_s_per_cpu_s"] for name, figures in runs.items()}
    default, decoder = rate["build_default"], rate[f"decode_{DEFAULT_DECODER}"]
    out = {
        "builder_vs_decoder": ratio(default, decoder),
        "builder_in_memory_vs_decoder": ratio(rate["build_in_memory"], decoder),
        "builder_vs_seed_modern_librosa": ratio(default, rate["seed_style_pil_modern_librosa"]),
        "builder_in_memory_vs_seed_modern_librosa": ratio(rate["build_in_memory"], rate["seed_style_pil_modern_librosa"]),
        "pyav_vs_soundfile_decode": ratio(rate["decode_pyav"], rate["decode_soundfile"]),
    }  # fmt: skip
    if "build_default_before" in rate:
        out["builder_default_vs_before"] = ratio(default, rate["build_default_before"])
        out["builder_before_vs_seed_modern_librosa"] = ratio(rate["build_default_before"], rate["seed_style_pil_modern_librosa"])  # fmt: skip
    if "seed_style_pil_seed_librosa" in rate:
        out["builder_vs_seed_seed_librosa"] = ratio(default, rate["seed_style_pil_seed_librosa"])
        if "decode_tensorflow-io" in rate:
            out["tensorflow_io_vs_soundfile_decode"] = ratio(rate["decode_tensorflow-io"], decoder)
        out["decoder_vs_librosa_load"] = ratio(decoder, rate["librosa_load"])
    return out


def print_table(results: dict) -> None:
    goals = {"builder_vs_seed_modern_librosa": GOALS["builder_vs_seed"],
             "builder_vs_decoder": GOALS["builder_vs_decoder"]}  # fmt: skip
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
    main(*sys.argv[1:])
