"""Peak memory of the builder's per-recording work on a 60-minute 44.1 kHz stereo mp3.

    python -m benchmarks.memory        (about 3 minutes; writes results/memory.json)

The recording goes through pipeline.process.ProcessRecording (decode, choose snippets,
spectrograms, Examples) in a fresh interpreter; the figure is its peak resident memory above
the interpreter's own after imports and one warm-up recording. It also checks that chunked
decoding gives byte-identical Examples to decoding the whole file at once.
"""

from __future__ import annotations

import functools
import gc
import pathlib

from benchmarks.common import (
    BENCH_CACHE,
    clock,
    demo_corpus,
    ffmpeg,
    in_fresh_process,
    machine,
    save,
)

HOUR_FILE = BENCH_CACHE / "hour-44k1-stereo.mp3"
EXCERPT_FILE = BENCH_CACHE / "hour-44k1-stereo-first-3-minutes.mp3"
GOAL_MB = 600
# Two tones in bouts with silences between them, slowly louder and softer, over pink noise.
TONES = (
    "0.3*(0.6+0.4*sin(2*PI*t/317))*sin(2*PI*3000*t)*lt(mod(t,10),2)"
    "+0.2*(0.6+0.4*cos(2*PI*t/211))*sin(2*PI*4500*t)*between(mod(t,23),11,12.5)"
)


def make_recordings() -> None:
    """The 60-minute recording and its first 3 minutes, made once with ffmpeg and cached."""
    BENCH_CACHE.mkdir(parents=True, exist_ok=True)
    if not HOUR_FILE.exists():
        partial = HOUR_FILE.with_suffix(".part.mp3")
        ffmpeg(
            "-f", "lavfi", "-i", "anoisesrc=d=3600:c=pink:r=44100:a=0.02",
            "-f", "lavfi", "-i", f"aevalsrc='{TONES}|0.8*({TONES})':s=44100:d=3600",
            "-filter_complex", "[0]aformat=channel_layouts=stereo[n];[n][1]amix=inputs=2:normalize=0",
            "-ar", "44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", str(partial),
        )  # fmt: skip
        partial.rename(HOUR_FILE)
    if not EXCERPT_FILE.exists():
        ffmpeg("-i", str(HOUR_FILE), "-t", "180", "-c", "copy", str(EXCERPT_FILE))


def _process_recording(path: str, chunk_seconds: float | None = None):
    """A ProcessRecording DoFn with the builder's defaults, and the element of `path`."""
    import pipeline.process
    from pipeline.audio import load_audio
    from pipeline.catalog import Recording
    from pipeline.snippets import SnippetSelection
    from schemas import SpectrogramParams

    if chunk_seconds is not None:
        pipeline.process.load_audio = functools.partial(load_audio, chunk_seconds=chunk_seconds)
    dofn = pipeline.process.ProcessRecording(
        SpectrogramParams(), SnippetSelection(), ["bird"], min_seconds=1.0, needs_ffmpeg=False
    )
    dofn.setup()
    name = pathlib.Path(path).name
    return dofn, (Recording(name, path, name, "bird"), "train")


def _kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field))


def peak_memory(path: str, warm_up: str) -> dict:
    """Peak RSS above the baseline while ProcessRecording handles `path`."""
    dofn, element = _process_recording(path)
    _, warm_element = _process_recording(warm_up)
    for _ in dofn.process(warm_element):
        pass
    gc.collect()
    baseline = _kib("VmRSS:")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM (the peak) to the current RSS
    examples, outcome = 0, None
    with clock() as figures:
        for output in dofn.process(element):  # examples are (split, bytes), the outcome tagged
            examples += isinstance(output, tuple)
            outcome = getattr(output, "value", outcome)
    peak = _kib("VmHWM:")
    return {
        **figures,
        "examples": examples,
        "outcome": outcome,
        "baseline_rss_mb": round(baseline / 1024, 1),
        "peak_rss_mb": round(peak / 1024, 1),
        "peak_above_baseline_mb": round((peak - baseline) / 1024, 1),
    }


def examples_of(path: str, chunk_seconds: float | None) -> list:
    """Every output of ProcessRecording for `path`: (split, Example bytes)..., outcome."""
    dofn, element = _process_recording(path, chunk_seconds)
    return [getattr(output, "value", output) for output in dofn.process(element)]


def same_examples(path: str) -> dict:
    """Chunked decoding (the default) against the whole file at once (chunk_seconds huge)."""
    chunked = in_fresh_process(examples_of, path, None)
    whole = in_fresh_process(examples_of, path, 1e9)
    examples = [o for o in chunked if isinstance(o, tuple)]
    return {
        "file": pathlib.Path(path).name,
        "examples": len(examples),
        "identical": chunked == whole,
    }


def main() -> dict:
    print("making the 60-minute recording (once) ...")
    make_recordings()
    corpus = demo_corpus()
    warm_up = str(sorted((corpus / "audio").iterdir())[0])
    longest = max((corpus / "audio").iterdir(), key=lambda p: p.stat().st_size)
    print("processing it ...")
    peak = in_fresh_process(peak_memory, str(HOUR_FILE), warm_up)
    print("comparing chunked and whole-file decoding ...")
    identity = [same_examples(str(EXCERPT_FILE)), same_examples(str(longest))]
    results = {
        "machine": machine(),
        "recording": {"file": HOUR_FILE.name, "minutes": 60, "sample_rate": 44100, "channels": 2},
        "hour_recording": peak,
        "goal_peak_above_baseline_mb": GOAL_MB,
        "chunked_equals_whole_file": identity,
        # One core processing recordings one after another, as one Beam worker thread does.
        "audio_hours_per_core_hour": round(3600 / peak["cpu_s"], 1),
    }
    print(f"\nbaseline RSS {peak['baseline_rss_mb']} MB, peak {peak['peak_rss_mb']} MB: "
          f"{peak['peak_above_baseline_mb']} MB above baseline (goal < {GOAL_MB} MB)")  # fmt: skip
    print(f"60 minutes of audio: {peak['cpu_s']} CPU s, {peak['examples']} examples; "
          f"{results['audio_hours_per_core_hour']} audio hours per core-hour")  # fmt: skip
    for check in identity:
        print(
            f"chunked == whole file on {check['file']} ({check['examples']} examples): {check['identical']}"
        )
    save("memory", results)
    return results


if __name__ == "__main__":
    main()
