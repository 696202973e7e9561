"""Peak memory of the builder's per-recording work: flat from 10 seconds to 6 hours.

    python -m benchmarks.memory        (about 6 minutes; writes results/memory.json)

Each recording goes through pipeline.process.ProcessRecording (decode, choose snippets,
spectrograms, Examples) in a fresh interpreter; the figure is its peak resident memory above
the interpreter's own after imports and one warm-up recording. Recordings: 10 seconds and 60
minutes of a 44.1 kHz stereo mp3, a 6-hour 48 kHz mono WAV (a passive-acoustic-monitoring
file), all generated once with ffmpeg, and the longest of the real recordings when
../shared/data is there. It also checks that the streamed path (decoded once, the samples
spilled to a temporary file) gives byte-identical Examples to the path that holds them in memory.
"""

from __future__ import annotations

import gc
import pathlib

from benchmarks.common import (
    BENCH_CACHE,
    REAL_RECORDINGS,
    clock,
    demo_corpus,
    ffmpeg,
    in_fresh_process,
    machine,
    save,
)

HOUR_FILE = BENCH_CACHE / "hour-44k1-stereo.mp3"
EXCERPT_FILE = BENCH_CACHE / "hour-44k1-stereo-first-3-minutes.mp3"
TEN_SECONDS_FILE = BENCH_CACHE / "hour-44k1-stereo-first-10-seconds.mp3"
SIX_HOURS_FILE = BENCH_CACHE / "six-hours-48k-mono.wav"
GOAL_MB = 250
# Two tones in bouts with silences between them, slowly louder and softer, over pink noise.
TONES = (
    "0.3*(0.6+0.4*sin(2*PI*t/317))*sin(2*PI*3000*t)*lt(mod(t,10),2)"
    "+0.2*(0.6+0.4*cos(2*PI*t/211))*sin(2*PI*4500*t)*between(mod(t,23),11,12.5)"
)


def make_recordings() -> None:
    """The recordings, made once with ffmpeg and cached."""
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
    if not TEN_SECONDS_FILE.exists():
        ffmpeg("-i", str(HOUR_FILE), "-t", "10", "-c", "copy", str(TEN_SECONDS_FILE))
    if not SIX_HOURS_FILE.exists():  # the hour six times over, as a 16-bit WAV of 2 GB
        partial = SIX_HOURS_FILE.with_suffix(".part.wav")
        ffmpeg("-stream_loop", "5", "-i", str(HOUR_FILE), "-ac", "1", "-ar", "48000",
               "-c:a", "pcm_s16le", str(partial))  # fmt: skip
        partial.rename(SIX_HOURS_FILE)


def _process_recording(path: str, keep_seconds: float | None = None):
    """A ProcessRecording DoFn with the builder's defaults, and the element of `path`.

    `keep_seconds`: the longest recording held in memory instead of spilled (None: default).
    """
    import frontend.windows
    import pipeline.process
    from frontend.snippets import SnippetSelection
    from pipeline.catalog import Recording
    from schemas import SpectrogramParams

    if keep_seconds is not None:
        frontend.windows.KEEP_SECONDS = keep_seconds
    dofn = pipeline.process.ProcessRecording(
        SpectrogramParams(), SnippetSelection(), ["bird"], min_seconds=1.0
    )
    dofn.setup()
    name = pathlib.Path(path).name
    return dofn, (
        Recording(recording_id=name, path=path, source_file=name, species="bird"),
        "train",
    )


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
    import soundfile

    return {
        **figures,
        "audio_s": round(soundfile.info(path).duration, 1),
        "examples": examples,
        "outcome": outcome,
        "baseline_rss_mb": round(baseline / 1024, 1),
        "peak_rss_mb": round(peak / 1024, 1),
        "peak_above_baseline_mb": round((peak - baseline) / 1024, 1),
    }


def examples_of(path: str, keep_seconds: float) -> list:
    """Every output of ProcessRecording for `path`: (split, Example bytes)..., outcome."""
    dofn, element = _process_recording(path, keep_seconds)
    return [getattr(output, "value", output) for output in dofn.process(element)]


def same_examples(path: str) -> dict:
    """Spilled to a temporary file (nothing held in memory) against held in memory."""
    streamed = in_fresh_process(examples_of, path, 0.0)
    whole = in_fresh_process(examples_of, path, 1e9)
    examples = [o for o in streamed if isinstance(o, tuple)]
    return {
        "file": pathlib.Path(path).name,
        "examples": len(examples),
        "identical": streamed == whole,
    }


def main() -> dict:
    started = machine()
    print("making the recordings (once) ...")
    make_recordings()
    corpus = demo_corpus()
    warm_up = str(sorted((corpus / "audio").iterdir())[0])
    longest = max((corpus / "audio").iterdir(), key=lambda p: p.stat().st_size)
    recordings = {"10 s mp3, 44.1 kHz stereo": TEN_SECONDS_FILE,
                  "60 min mp3, 44.1 kHz stereo": HOUR_FILE,
                  "6 h WAV, 48 kHz mono": SIX_HOURS_FILE}  # fmt: skip
    real = REAL_RECORDINGS / "audio"
    if real.is_dir():
        longest_real = max(real.iterdir(), key=lambda p: p.stat().st_size)
        recordings[f"largest real recording ({longest_real.stat().st_size / 1e6:.1f} MB)"] = (
            longest_real
        )
    peaks = {}
    for name, path in recordings.items():
        print(f"processing {name} ...", flush=True)
        peaks[name] = in_fresh_process(peak_memory, str(path), warm_up)
    print("comparing the samples spilled to a temporary file with those held in memory ...")
    identity = [same_examples(str(EXCERPT_FILE)), same_examples(str(longest))]
    results = {
        "machine": started,
        "peaks": peaks,
        "goal_peak_above_baseline_mb": GOAL_MB,
        "streamed_equals_whole": identity,
    }
    print(f"\n{'recording':<44}{'audio s':>9}{'CPU s':>8}{'examples':>9}{'MB above baseline':>19}")
    for name, peak in peaks.items():
        print(f"{name:<44}{peak['audio_s']:>9.0f}{peak['cpu_s']:>8.1f}{peak['examples']:>9}"
              f"{peak['peak_above_baseline_mb']:>19.1f}")  # fmt: skip
    print(f"goal: <= {GOAL_MB} MB above baseline, flat in length")
    for check in identity:
        print(
            f"spilled == held on {check['file']} ({check['examples']} examples): {check['identical']}"
        )
    results["machine"]["load_avg_1min_at_end"] = machine()["load_avg_1min_at_start"]  # now
    save("memory", results)
    return results


if __name__ == "__main__":
    main()
