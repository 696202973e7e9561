"""Bird / no-bird on real soundscapes: per 5-s bin, on audio of a site the models never heard.

    python -m benchmarks.soundscapes --calls-from DATASET_DIR [--model NAME=JOB_DIR_OR_EXPORT ...]
        [--birdnet-python PYTHON] [--variants 2] [--seed 0] [--name soundscapes]

The benchmark set, written once to a cache folder under BENCH_CACHE/soundscapes:

- Background: the 96 ten-second recordings of one day at one site (../shared/data/soundscapes-
  unlabelled, 22,000 Hz), split by file in blocks of 4 consecutive files (an hour): even hours
  are the background-for-training pool, odd hours the held-out test pool (dawn, day and night on
  both sides). Both lists go to BENCH_CACHE/soundscapes/backgrounds.json (for the builder's
  `--background-from`, training pool), written before anything else.
- Calls: the loudest 2-s windows (two per recording, not overlapping) of the xeno-canto
  recordings (../shared/data/xeno-canto-recordings/audio, or --calls-audio) in the TEST split of
  --calls-from (read from its index), so no model trained on that dataset heard them.
- Mixtures: each held-out background `--variants` times; half of all its 5-s bins get one call
  (wholly inside the bin) at +10, 0 or -10 dB SNR (benchmarks.mixing: call RMS over the
  background's RMS under it), the other half none.
- The real annotated recording spinetail.wav (../shared/data/annotations/audacity) with its
  Audacity boxes: a bin or window with a box in it is "bird".

The raw backgrounds may hold real birds (dawn chorus): BirdNET (--birdnet-python) is run on all 96
and its detections (confidence >= 0.25) are reported; a call-free bin (or window) of a mixture
overlapping such a detection is "doubtful", left out of the scores and reported apart (how often
each model says bird there). Without BirdNET every call-free bin counts as no bird. Caveat: the
doubtful bins are chosen by BirdNET, so BirdNET's no-bird recall on the rest is flattered.

Scores: each --model (an exported model trained with a `(background)` class) runs in-process over
the windows trainer.predict uses (snippet-long, half overlapping); a window's bird score is
1 - P(background), a bin's the max over the windows overlapping it. A window is bird when an
event covers at least 0.5 s of it, no bird when none touches it, and left out otherwise. Reported
per bin and per window: accuracy, bird recall and precision, no-bird recall at the model's
detection threshold (export/detection.json {"threshold": t}; 0.5 without one), ROC AUC, a curve
over thresholds 0.05..0.95 and recall per SNR level; beside them "always no bird" and BirdNET
zero-shot (a bin is bird when a detection of confidence >= 0.25 overlaps it; curve over
confidence). Results go to benchmarks/results/NAME.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import subprocess

import numpy as np
import soundfile

from benchmarks.common import BENCH_CACHE, REAL_RECORDINGS, clock, machine, save
from benchmarks.mixing import Placement, loudest_window, mix

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared/data"
BACKGROUNDS = SHARED / "soundscapes-unlabelled/audio"
SPINETAIL = SHARED / "annotations/audacity"
BIRDNET_SCRIPT = pathlib.Path(__file__).with_name("birdnet_anchor.py")
SET_VERSION = 2  # of the set's recipe: a change writes a new cache folder
RATE, BACKGROUND_SECONDS = 22000, 10.0  # the backgrounds'
BIN_SECONDS = 5.0
CALL_SECONDS = 2.0
CALLS_PER_RECORDING = 2
PEAK = 0.99  # a mixture peaking above is scaled down whole (the SNRs kept), never clipped
EDGE_SECONDS = 0.25  # a call starts and ends at least this far inside its bin
SNR_LEVELS = (10.0, 0.0, -10.0)
BLOCK = 4  # consecutive background files per block of the split (one hour)
MIN_OVERLAP = 0.5  # seconds of an event that make a window "bird"
BIRDNET_CONFIDENCE = 0.25
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.05, 0.951, 0.05))
POOLS = BENCH_CACHE / "soundscapes" / "backgrounds.json"
DEFAULT_THRESHOLD = 0.5


def split_backgrounds(files: list[pathlib.Path]) -> dict[str, list[str]]:
    """Files in time order, blocks of BLOCK: even blocks train, odd blocks test."""
    pools: dict[str, list[str]] = {"train": [], "test": []}
    for index, path in enumerate(sorted(files)):
        pools["test" if index // BLOCK % 2 else "train"].append(str(path))
    return pools


def test_recordings(dataset_dir: pathlib.Path) -> list[str]:
    """File names of the recordings in the test split of a built dataset, from its index."""
    import pyarrow.parquet as pq

    import schemas

    indexes = sorted(dataset_dir.glob(schemas.INDEX_FILES))
    if not indexes:
        raise SystemExit(f"{dataset_dir}: no {schemas.INDEX_FILES}; pass a built dataset")
    names = set()
    for index in indexes:
        table = pq.read_table(index, columns=["split", "source_file"]).to_pylist()
        names |= {pathlib.PurePath(r["source_file"]).name for r in table if r["split"] == "test"}
    return sorted(names)


def cut_calls(paths: list[pathlib.Path]) -> list[tuple[np.ndarray, str]]:
    """The loudest CALL_SECONDS windows of each recording (CALLS_PER_RECORDING, apart) at RATE."""
    from frontend.audio import open_audio

    length, calls = round(CALL_SECONDS * RATE), []
    for path in paths:
        with open_audio(str(path), RATE) as stream:
            samples = np.concatenate(list(stream.chunks()))
        for _ in range(CALLS_PER_RECORDING):
            if len(samples) < length or not samples.any():
                break
            first = loudest_window(samples, length, RATE // 20)
            calls.append((samples[first : first + length].copy(), path.name))
            samples = np.concatenate([samples[:first], samples[first + length :]])
    return calls


def make_set(calls_from: pathlib.Path, calls_audio: pathlib.Path, variants: int, seed: int) -> dict:
    """The benchmark set (cached): its folder, mixtures and their events and bins."""
    pools = split_backgrounds(list(BACKGROUNDS.glob("*.wav")))
    sources = test_recordings(calls_from)
    recipe = json.dumps([SET_VERSION, sources, pools, variants, seed, SNR_LEVELS])
    folder = BENCH_CACHE / "soundscapes" / f"set-{hashlib.sha1(recipe.encode()).hexdigest()[:10]}"
    if (folder / "set.json").exists():
        return json.loads((folder / "set.json").read_text())
    missing = [name for name in sources if not (calls_audio / name).exists()]
    if missing:
        raise SystemExit(f"{calls_audio}: no {missing[0]} (of {len(missing)} test recordings)")
    calls = cut_calls([calls_audio / name for name in sources])
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(calls))
    backgrounds = [b for b in pools["test"] for _ in range(variants)]
    bins_per_file = round(BACKGROUND_SECONDS / BIN_SECONDS)
    slots = rng.permutation(len(backgrounds) * bins_per_file)[
        : len(backgrounds) * bins_per_file // 2
    ]
    with_call = {int(slot): n for n, slot in enumerate(slots)}  # the n-th call bin, in random order
    (folder / "audio").mkdir(parents=True, exist_ok=True)
    files = []
    for number, background in enumerate(backgrounds):
        audio, rate = soundfile.read(background, dtype="float32")
        if (rate, len(audio)) != (RATE, round(BACKGROUND_SECONDS * RATE)):
            raise SystemExit(f"{background}: not {BACKGROUND_SECONDS} s at {RATE} Hz")
        placements = []
        for b in range(bins_per_file):
            if (n := with_call.get(number * bins_per_file + b)) is None:
                continue
            call, source = calls[order[n % len(calls)]]
            start = b * BIN_SECONDS + rng.uniform(
                EDGE_SECONDS, BIN_SECONDS - CALL_SECONDS - EDGE_SECONDS
            )
            placements.append(Placement(call, start, SNR_LEVELS[n % len(SNR_LEVELS)], source))
        mixed, events = mix(audio, RATE, placements)
        gain = min(1.0, PEAK / np.abs(mixed).max())  # the whole file quieter, not clipped
        name = f"{pathlib.Path(background).stem}-v{number % variants}.wav"
        soundfile.write(folder / "audio" / name, mixed * gain, RATE, subtype="FLOAT")
        files.append({
            "file": str(folder / "audio" / name), "background": background, "seconds": len(audio) / RATE,
            "gain": round(float(gain), 4),
            "events": [{"start": round(e.start, 4), "end": round(e.end, 4), "source": e.source,
                        "snr_db": e.snr_db} for e in events],
        })  # fmt: skip
    result = {"folder": str(folder), "calls_from": str(calls_from), "test_recordings": sources,
              "calls": len(calls), "variants": variants, "seed": seed, "files": files}  # fmt: skip
    (folder / "set.json").write_text(json.dumps(result, indent=1))
    return result


def spinetail() -> dict:
    """The annotated recording as a set file: its Audacity boxes as events."""
    from pipeline.annotations import read_annotations

    (table,) = read_annotations(str(SPINETAIL / "spinetail.txt"))
    path = SPINETAIL / "spinetail.wav"
    return {"file": str(path), "seconds": soundfile.info(str(path)).duration, "events": [
        {"start": e.start, "end": e.end, "source": e.labels[0], "snr_db": None} for e in table.events
    ]}  # fmt: skip


def birdnet_detections(python: str, paths: list[str], cache: pathlib.Path) -> dict[str, list]:
    """BirdNET's detections of each path (benchmarks/birdnet_anchor.py detect), cached."""
    cache.parent.mkdir(parents=True, exist_ok=True)
    todo = cache.with_suffix(".todo.json")
    todo.write_text(json.dumps(paths))
    subprocess.run([python, str(BIRDNET_SCRIPT), "detect", str(todo), str(cache)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    found = json.loads(cache.read_text())
    return {path: found[path] for path in paths}


def overlap(start: float, end: float, spans: list[tuple[float, float]]) -> float:
    """Seconds of [start, end) covered by the longest-overlapping span."""
    return max((min(end, b) - max(start, a) for a, b in spans), default=0.0)


def label_spans(file: dict, spans: list[tuple[float, float]], doubt: list[tuple[float, float]],
                least: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Per span: bird (an event covers >= `least` s of it), kept (bird, or touched by no event
    nor doubt), SNR of its loudest event (nan: none)."""
    events = [(e["start"], e["end"]) for e in file["events"]]
    bird, kept, snr = [], [], []
    for start, end in spans:
        covered = overlap(start, end, events)
        bird.append(covered >= least)
        kept.append(bird[-1] or (covered <= 0 and overlap(start, end, doubt) <= 0))
        levels = [e["snr_db"] for e in file["events"] if e["start"] < end and start < e["end"]]
        snr.append(max((s for s in levels if s is not None), default=np.nan))
    return np.array(bird), np.array(kept), np.array(snr, float)


def bins_of(seconds: float) -> list[tuple[float, float]]:
    starts = np.arange(0, seconds - 1e-6, BIN_SECONDS)
    return [(float(s), float(min(s + BIN_SECONDS, seconds))) for s in starts]


def bin_scores(spans: list[tuple[float, float]], scores: np.ndarray, seconds: float) -> np.ndarray:
    """Per bin, the max score of the spans (windows, detections) overlapping it (0 if none)."""
    return np.array([max((s for (a, b), s in zip(spans, scores, strict=True) if a < end and start < b),
                         default=0.0) for start, end in bins_of(seconds)])  # fmt: skip


def roc_auc(bird: np.ndarray, scores: np.ndarray) -> float | None:
    from trainer.multilabel import roc_auc as auc

    value = auc(bird, scores)
    return None if value is None else round(value, 4)


def at_threshold(bird: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    said = scores >= threshold
    true_bird = int((said & bird).sum())
    return {
        "accuracy": round(float((said == bird).mean()), 4) if len(bird) else None,
        "bird_recall": round(true_bird / bird.sum(), 4) if bird.sum() else None,
        "bird_precision": round(true_bird / said.sum(), 4) if said.sum() else None,
        "no_bird_recall": round(float((~said & ~bird).sum() / (~bird).sum()), 4) if (~bird).any() else None,
    }  # fmt: skip


def report(bird: np.ndarray, scores: np.ndarray, snr: np.ndarray, threshold: float) -> dict:
    """The figures of one model on one set of bins or windows."""
    per_snr = {}
    for level in sorted({float(s) for s in snr[bird] if not np.isnan(s)}, reverse=True):
        chosen = ~bird | (snr == level)
        per_snr[f"{level:+g} dB"] = {
            "bird": int((bird & (snr == level)).sum()),
            "bird_recall": at_threshold(bird[chosen], scores[chosen], threshold)["bird_recall"],
            "roc_auc": roc_auc(bird[chosen], scores[chosen]),
        }
    return {
        "n": len(bird), "bird": int(bird.sum()), "threshold": threshold,
        **at_threshold(bird, scores, threshold), "roc_auc": roc_auc(bird, scores), "per_snr": per_snr,
        "curve": [{"threshold": t, **at_threshold(bird, scores, t)} for t in THRESHOLDS],
    }  # fmt: skip


def model_windows(
    model: str, paths: list[str]
) -> tuple[dict[str, tuple[list, np.ndarray]], float, str]:
    """Per path: window spans (s) and bird scores; the model's threshold and where it came from."""
    import schemas
    from trainer.detection import bird_scores
    from trainer.prediction.classifier import Classifier
    from trainer.prediction.reading import predict_files

    classifier = Classifier(model)
    if schemas.BACKGROUND_LABEL not in classifier.labels:
        raise SystemExit(
            f"{model}: no {schemas.BACKGROUND_LABEL} class (build with --background-snippets)"
        )
    rate, window = classifier.params.sample_rate, classifier.params.snippet_samples
    windows = {}
    for item in predict_files(paths, classifier, overlap=0.5):
        if item.error:
            raise SystemExit(f"{item.path}: {item.error}")
        windows[item.path] = ([(s / rate, (s + window) / rate) for s in item.starts],
                              bird_scores(item.probabilities))  # fmt: skip
    if classifier.detection_threshold is not None:
        return windows, classifier.detection_threshold, "stored with the export"
    return windows, DEFAULT_THRESHOLD, "default"


def score(
    files: list[dict], spans_of: dict, doubt: dict, threshold: float, windows: bool = True
) -> dict:
    """Per bin and (with `windows`) per window of one scorer on some files; `spans_of`: path ->
    (spans, scores) of its windows or detections."""
    parts: dict[str, list] = {"bins": [], "windows": [], "doubtful_bins": []}
    for file in files:
        spans, scores = spans_of[file["file"]]
        doubt_spans = doubt.get(file.get("background", file["file"]), [])
        bins = bins_of(file["seconds"])
        bird, kept, snr = label_spans(file, bins, doubt_spans, 1e-9)
        per_bin = bin_scores(spans, scores, file["seconds"])
        parts["bins"].append((bird[kept], per_bin[kept], snr[kept]))
        parts["doubtful_bins"].append(per_bin[~kept])
        if not windows:
            continue
        bird, kept, snr = label_spans(file, spans, doubt_spans, MIN_OVERLAP)
        parts["windows"].append((bird[kept], np.asarray(scores)[kept], snr[kept]))
    result = {}
    for part in ("bins", "windows"):
        if parts[part]:
            bird, scores, snr = (np.concatenate(x) for x in zip(*parts[part], strict=True))
            result[part] = report(bird, scores, snr, threshold)
    doubtful = np.concatenate(parts["doubtful_bins"])
    result["doubtful_bins"] = {"n": len(doubtful), "said_bird": int((doubtful >= threshold).sum())}
    return result


def detection_spans(detections: dict[str, list]) -> dict[str, tuple[list, np.ndarray]]:
    return {path: ([(d["start"], d["end"]) for d in found], np.array([d["confidence"] for d in found]))
            for path, found in detections.items()}  # fmt: skip


def birdnet_on_backgrounds(detections: dict[str, list]) -> dict:
    """What BirdNET hears (confidence >= BIRDNET_CONFIDENCE) in the raw backgrounds."""
    heard = {pathlib.Path(p).name: [d for d in found if d["confidence"] >= BIRDNET_CONFIDENCE]
             for p, found in detections.items()}  # fmt: skip
    species: dict[str, int] = {}
    for found in heard.values():
        for d in found:
            species[d["species"]] = species.get(d["species"], 0) + 1
    return {"files": len(heard), "files_with_detections": sum(bool(f) for f in heard.values()),
            "detections": sum(len(f) for f in heard.values()), "species": species,
            "per_file": {name: [(d["start"], d["species"], d["confidence"]) for d in found]
                         for name, found in heard.items() if found}}  # fmt: skip


def composition(soundscapes: dict, files: list[dict], doubt: dict) -> dict:
    bins = [(label_spans(f, bins_of(f["seconds"]), doubt.get(f["background"], []), 1e-9), f)
            for f in files]  # fmt: skip
    bird = np.concatenate([b for (b, _, _), _ in bins])
    kept = np.concatenate([k for (_, k, _), _ in bins])
    snr = np.concatenate([s for (_, _, s), _ in bins])
    return {"folder": soundscapes["folder"], "mixtures": len(files), "variants": soundscapes["variants"],
            "test_recordings": len(soundscapes["test_recordings"]), "calls": soundscapes["calls"],
            "bins": len(bird), "bird_bins": int(bird.sum()), "doubtful_bins": int((~kept).sum()),
            "bird_share_scored": round(float(bird[kept].mean()), 4),
            "bird_bins_per_snr": {f"{level:+g} dB": int((snr == level).sum()) for level in SNR_LEVELS}}  # fmt: skip


def _show(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def table(results: dict) -> None:
    """The printed summary: one line per scorer, set and unit."""
    print(f"\n{'scorer':<16}{'set':<10}{'unit':<8}{'n':>5}{'bird':>6}{'thr':>6}{'acc':>7}{'recall':>8}"
          f"{'prec':>7}{'nb-rec':>7}{'auc':>7}" + "".join(f"{f'R {s:+g}':>8}" for s in SNR_LEVELS))  # fmt: skip
    for scorer, sets in results["scores"].items():
        for set_name, parts in sets.items():
            for unit in ("bins", "windows"):
                if unit not in parts:
                    continue
                r = parts[unit]
                snr = [r["per_snr"].get(f"{s:+g} dB", {}).get("bird_recall") for s in SNR_LEVELS]
                print(f"{scorer:<16}{set_name:<10}{unit:<8}{r['n']:>5}{r['bird']:>6}{r['threshold']:>6.2f}"
                      f"{_show(r['accuracy']):>7}{_show(r['bird_recall']):>8}{_show(r['bird_precision']):>7}"
                      f"{_show(r['no_bird_recall']):>7}{_show(r['roc_auc']):>7}"
                      + "".join(f"{_show(v):>8}" for v in snr))  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls-from", type=pathlib.Path, required=True,
                        help="a built dataset: the recordings of its test split give the calls")  # fmt: skip
    parser.add_argument("--calls-audio", type=pathlib.Path, default=REAL_RECORDINGS / "audio")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH",
                        help="a job dir or export dir, trained with a (background) class (repeatable)")  # fmt: skip
    parser.add_argument("--birdnet-python", default=os.environ.get("BIRDNET_PYTHON", ""))
    parser.add_argument("--variants", type=int, default=2, help="mixtures per held-out background")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="soundscapes", help="results/NAME.json")
    args = parser.parse_args(argv)
    if not BACKGROUNDS.is_dir():
        raise SystemExit(f"{BACKGROUNDS}: not found (the shared soundscapes)")
    models = dict(m.split("=", 1) if "=" in m else (pathlib.Path(m).name, m) for m in args.model)
    pools = split_backgrounds(list(BACKGROUNDS.glob("*.wav")))
    POOLS.parent.mkdir(parents=True, exist_ok=True)
    POOLS.write_text(json.dumps(pools, indent=1))
    results: dict = {"machine": machine(), "models": models, "scores": {}, "backgrounds": {
        "split": f"blocks of {BLOCK} consecutive files: even blocks train, odd blocks test",
        "file": str(POOLS), "train": len(pools["train"]), "test": len(pools["test"])}}  # fmt: skip
    with clock() as figures:
        soundscapes = make_set(
            args.calls_from.resolve(), args.calls_audio, args.variants, args.seed
        )
    results["set_timing"] = figures
    folder = pathlib.Path(soundscapes["folder"])
    files, annotated = soundscapes["files"], [spinetail()]
    doubt: dict = {}
    if args.birdnet_python:
        with clock() as figures:
            raw = birdnet_detections(args.birdnet_python, sorted(map(str, BACKGROUNDS.glob("*.wav"))),
                                     BENCH_CACHE / "soundscapes" / "birdnet-backgrounds.json")  # fmt: skip
            found = birdnet_detections(args.birdnet_python, [f["file"] for f in files + annotated],
                                       folder / "birdnet.json")  # fmt: skip
        results["birdnet_timing"] = figures
        results["birdnet_on_raw_backgrounds"] = birdnet_on_backgrounds(raw)
        doubt = {p: [(d["start"], d["end"]) for d in f if d["confidence"] >= BIRDNET_CONFIDENCE]
                 for p, f in raw.items()}  # fmt: skip
        spans = detection_spans(found)
        results["scores"]["birdnet"] = {
            "mixed": {
                "bins": score(files, spans, doubt, BIRDNET_CONFIDENCE, windows=False)["bins"]
            },
            "spinetail": {
                "bins": score(annotated, spans, {}, BIRDNET_CONFIDENCE, windows=False)["bins"]
            },
        }
    results["set"] = composition(soundscapes, files, doubt)
    results["set"]["spinetail_bins"] = len(bins_of(annotated[0]["seconds"]))
    zeros = {f["file"]: ([(0.0, f["seconds"])], np.zeros(1)) for f in files + annotated}
    results["scores"]["always_no_bird"] = {
        "mixed": {"bins": score(files, zeros, doubt, 0.5, windows=False)["bins"]},
        "spinetail": {"bins": score(annotated, zeros, {}, 0.5, windows=False)["bins"]},
    }
    for name, path in models.items():
        with clock() as figures:
            spans, threshold, source = model_windows(path, [f["file"] for f in files + annotated])
        results["scores"][name] = {
            "threshold_from": source, "timing": figures,
            "mixed": score(files, spans, doubt, threshold), "spinetail": score(annotated, spans, {}, threshold),
        }  # fmt: skip
    table({"scores": {k: {s: p for s, p in v.items() if isinstance(p, dict) and ("bins" in p)}
                      for k, v in results["scores"].items()}})  # fmt: skip
    save(args.name, results)
    return results


if __name__ == "__main__":
    main()
