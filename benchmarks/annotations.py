"""Annotated recordings: the real Audacity-annotated field recording checked box by box, the cost
of building from annotations per audio-second, and what annotations buy a multi-label model.

`python -m benchmarks.annotations [--skip-training]` (needs ../shared/data): writes
benchmarks/results/annotations.json and the picture of the real recording's annotated windows.

1. spinetail.wav (19.5 s, Colombia) with its Audacity label track: built with --annotations; for
   every box, the windows holding it and whether they carry its label; a picture of the windows
   with the boxes drawn on them.
2. A generated corpus of soundscapes: real background (the shared unlabelled soundscapes of a
   day in the French Jura) with calls of the demo species mixed in at known times and levels,
   often two at once, annotated as Raven tables (complete). Built twice from the same wavs: from
   the annotations (windows per event, several labels, background windows), and as whole
   recordings labelled with their most frequent species (the loudest windows, one label): CPU
   seconds per audio-second and per window of each (and of the annotations without their
   background windows, --annotations-complete no).
3. The compact CNN trained from scratch on each, multi-label on the first, softmax on the
   second, both scored on the annotated test windows: per-species AP, and F1 at thresholds
   chosen on the annotated validation windows.
"""

from __future__ import annotations

import argparse
import csv
import json
import pathlib
import sys
import tempfile

import numpy as np
import soundfile

from benchmarks.common import clock, machine, ratio, save

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared/data"
SPINETAIL = SHARED / "annotations/audacity"
BACKGROUNDS = SHARED / "soundscapes-unlabelled/audio"
RESULTS = pathlib.Path(__file__).parent / "results"
PICTURE = RESULTS / "annotations-spinetail.png"
BACKGROUND_RATE = 22000  # the shared soundscapes'; the builder resamples to its 22,050 Hz
SPECIES = (0, 2, 4, 7)  # demo species mixed into the soundscapes
SOUNDSCAPES, SECONDS = 48, 30.0
REPEATS = 3  # builds of each kind; the median CPU time is reported
TRAIN = ["--architecture", "compact", "--weights", "none", "--image-size", "128",
         "--batch-size", "16", "--head-epochs", "0", "--base-epochs", "8",
         "--base-learning-rate", "1e-3", "--learning-rate-schedule", "cosine"]  # fmt: skip


def _build(*flags: str) -> dict:
    from pipeline.build import run

    with clock() as figures:
        info = run([*flags, "--quiet", "--overwrite"])
    return {**figures, "examples": info.counts.examples, "events": info.counts.events}


def _records(data_dir: str, split: str) -> dict[str, np.ndarray]:
    """Every record of a split: spectrograms, multi-hot labels, starts, files."""
    import tensorflow as tf

    import schemas

    info, labels = schemas.read_dataset_info(data_dir), schemas.read_labels(data_dir)
    files = tf.io.gfile.glob(schemas.shard_pattern(data_dir, split))
    parse = lambda s: schemas.parse_examples(s, info.image.height, info.image.width, len(labels))  # noqa: E731
    batches = list(tf.data.TFRecordDataset(files).batch(256).map(parse))
    keys = ("spectrogram", "labels", "start_seconds", "source_file", "recording_id")
    return {k: np.concatenate([b[k].numpy() for b in batches]) for k in keys}


def check_spinetail(work: pathlib.Path) -> dict:
    """Part 1: each box of the real label track against the windows built from it."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    import schemas
    from frontend.spectrogram import row_frequencies
    from pipeline.annotations import read_annotations

    (work / "spinetail").mkdir(parents=True, exist_ok=True)
    audio = work / "spinetail" / "spinetail.wav"
    audio.write_bytes((SPINETAIL / "spinetail.wav").read_bytes())
    data = str(work / "spinetail-dataset")
    build = _build("--input", str(audio.parent), "--annotations", str(SPINETAIL / "spinetail.txt"),
                   "--output", data, "--split", "1,0,0", "--direct_running_mode", "in_memory")  # fmt: skip
    (table,) = read_annotations(str(SPINETAIL / "spinetail.txt"))
    info, labels = schemas.read_dataset_info(data), schemas.read_labels(data)
    records = _records(data, "train")
    order = np.argsort(records["start_seconds"])
    window = info.spectrogram.snippet_seconds
    starts = records["start_seconds"][order]
    carried = [{labels[i] for i in np.flatnonzero(h)} for h in records["labels"][order]]
    boxes = []
    for event in table.events:
        holding = [i for i, s in enumerate(starts) if s < event.end and event.start < s + window]
        boxes.append({"start": event.start, "end": event.end, "label": event.labels[0],
                      "windows": [round(float(starts[i]), 3) for i in holding],
                      "labelled_in": [round(float(starts[i]), 3) for i in holding
                                      if event.labels[0] in carried[i]]})  # fmt: skip
    rows = row_frequencies(info.spectrogram)
    figure = Figure(figsize=(3.2 * len(starts), 3.6))
    colours = {"CRER": "tab:red", "SP": "tab:cyan"}
    for panel, (index, start) in enumerate(zip(order, starts, strict=True)):
        axes = figure.add_subplot(1, len(starts), panel + 1)
        image = records["spectrogram"][index]
        axes.imshow(image, origin="lower", aspect="auto", cmap="magma",
                    extent=(start, start + window, 0, image.shape[0]))  # fmt: skip
        for event in table.events:
            if event.end <= start or event.start >= start + window:
                continue
            low, high = np.interp([event.low_hz, event.high_hz], rows, np.arange(len(rows)))
            axes.add_patch(Rectangle((event.start, low), event.end - event.start, high - low,
                                     fill=False, lw=1.2, color=colours.get(event.labels[0], "w")))  # fmt: skip
        axes.set_xlim(start, start + window)
        axes.set_title(f"{start:.2f}-{start + window:.2f} s\n{' + '.join(sorted(carried[panel]))}",
                       fontsize=9)  # fmt: skip
        axes.set_xlabel("s")
        axes.set_yticks([])
    figure.suptitle("spinetail.wav: the windows built from its Audacity boxes "
                    "(red CRER, cyan SP; title: the window's labels)", fontsize=10)  # fmt: skip
    figure.tight_layout()
    figure.savefig(PICTURE, dpi=60)
    return {"build": build, "boxes": boxes, "windows": [
        {"start": round(float(s), 3), "labels": sorted(c)} for s, c in zip(starts, carried, strict=True)
    ], "every_box_labelled": all(b["labelled_in"] for b in boxes), "picture": str(PICTURE.name)}  # fmt: skip


def make_soundscapes(folder: pathlib.Path) -> tuple[int, float]:
    """Part 2's corpus: wavs of real background with demo calls at known times, a complete
    Raven table each, and metadata.csv naming each by its most frequent species. Returns the
    events and seconds of audio."""
    from demo.corpus import SPECIES as DEMO
    from demo.corpus import synthesize_song

    rng = np.random.default_rng(21)
    backgrounds = sorted(BACKGROUNDS.glob("*.wav"))
    (folder / "audio").mkdir(parents=True, exist_ok=True)
    (folder / "tables").mkdir(exist_ok=True)
    rows, events_total = [], 0
    for number in range(SOUNDSCAPES):
        parts = [soundfile.read(backgrounds[(3 * number + k) % len(backgrounds)], dtype="float32")[0]
                 for k in range(3)]  # fmt: skip
        noise = np.concatenate(parts)[: round(SECONDS * BACKGROUND_RATE)]
        audio = (noise / max(1e-6, np.abs(noise).max()) * 0.1).astype(np.float32)
        table = [
            "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tSpecies"
        ]
        names = []
        for index in range(int(rng.integers(2, 7))):
            species = int(rng.choice(SPECIES))
            length = float(rng.uniform(1.0, 3.0))
            start = float(rng.uniform(0, SECONDS - length))
            song = synthesize_song(species, rng, BACKGROUND_RATE, length) * 10 ** (
                rng.uniform(-12, 0) / 20
            )
            first = round(start * BACKGROUND_RATE)
            audio[first : first + len(song)] += song[: len(audio) - first]
            name = DEMO[species]
            names.append(name)
            table.append(
                f"{index + 1}\tSpectrogram 1\t1\t{start:.3f}\t{start + length:.3f}\t0\t0\t{name}"
            )
        events_total += len(names)
        file = f"scape{number:03d}.wav"
        soundfile.write(folder / "audio" / file, np.clip(audio, -1, 1), BACKGROUND_RATE)
        (folder / "tables" / f"scape{number:03d}.Table.1.selections.txt").write_text(
            "\n".join(table) + "\n"
        )
        top = max(sorted(set(names)), key=names.count)
        rows.append({"id": file, "file-name": file, "species": top, "type": ""})
    with open(folder / "metadata.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return events_total, SOUNDSCAPES * SECONDS


def _scores(job: str, records: dict[str, np.ndarray]) -> np.ndarray:
    import keras

    model = keras.saving.load_model(f"{job}/export/model.keras")
    return np.asarray(model.predict(records["spectrogram"], batch_size=64, verbose=0))


def learn(work: pathlib.Path, annotated: str, whole: str, seed: int) -> dict:
    """Part 3, one split seed: both models (trained with that seed) scored on the annotated
    validation (thresholds) and test windows."""
    import schemas
    from trainer import task
    from trainer.metrics import average_precision
    from trainer.multilabel import best_thresholds

    species = [s for s in schemas.read_labels(annotated) if s != schemas.BACKGROUND_LABEL]
    results = {}
    for name, data in (("annotations", annotated), ("loudest_windows", whole)):
        job = str(work / f"job-{name}-{seed}")
        with clock() as figures:
            flags = [
                "--data-dir",
                data,
                "--job-dir",
                job,
                "--overwrite",
                *TRAIN,
                "--seed",
                str(seed),
            ]
            assert task.main(flags) == 0
        labels = schemas.read_labels(data)
        columns = [labels.index(s) for s in species]
        validation, test = _records(annotated, "validation"), _records(annotated, "test")
        wanted = [schemas.read_labels(annotated).index(s) for s in species]
        thresholds = best_thresholds(
            validation["labels"][:, wanted], _scores(job, validation)[:, columns]
        )
        scores, truth = _scores(job, test)[:, columns], test["labels"][:, wanted] > 0.5
        per_species = {}
        for k, s in enumerate(species):
            predicted = scores[:, k] >= thresholds[k]
            hits = int(np.sum(predicted & truth[:, k]))
            f1 = 2 * hits / max(1, int(predicted.sum()) + int(truth[:, k].sum()))
            per_species[s] = {"ap": round(average_precision(truth[:, k], scores[:, k]), 3),
                              "f1": round(f1, 3), "test_windows_with_it": int(truth[:, k].sum())}  # fmt: skip
        results[name] = {"train": figures, "per_species": per_species,
                         "macro_ap": round(float(np.mean([v["ap"] for v in per_species.values()])), 3),
                         "macro_f1": round(float(np.mean([v["f1"] for v in per_species.values()])), 3)}  # fmt: skip
    return results


def cross_validated(work: pathlib.Path, flags: dict[str, list[str]], seeds: list[int]) -> dict:
    """Part 3 over several split seeds: each seed's datasets built and both models trained and
    scored; macro AP and F1 as mean and standard deviation."""
    folds = {}
    for seed in seeds:
        datasets = {}
        for name in ("annotations", "whole_recordings"):
            build_flags = [*flags[name], "--seed", str(seed)]  # the last --seed counts
            output = build_flags.index("--output") + 1
            build_flags[output] = datasets[name] = f"{build_flags[output]}-seed{seed}"
            _build(*build_flags)
        folds[seed] = learn(work, datasets["annotations"], datasets["whole_recordings"], seed)
    summary = {}
    for name in ("annotations", "loudest_windows"):
        for metric in ("macro_ap", "macro_f1"):
            values = [fold[name][metric] for fold in folds.values()]
            summary[f"{name}_{metric}"] = {"mean": round(float(np.mean(values)), 3),
                                           "sd": round(float(np.std(values, ddof=1)), 3) if len(values) > 1 else 0.0,
                                           "folds": values}  # fmt: skip
    return {"seeds": seeds, "summary": summary, "folds": folds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-training", action="store_true", help="parts 1 and 2 only")
    parser.add_argument(
        "--seeds",
        default="0,1,2",
        help="split (and training) seeds of part 3 (default: %(default)s)",
    )
    parser.add_argument(
        "--work", help="folder for the corpus, datasets and jobs (default: a temporary one)"
    )
    args = parser.parse_args(argv)
    if not SPINETAIL.is_dir() or not BACKGROUNDS.is_dir():
        print(f"error: {SHARED} holds no annotations/ or soundscapes-unlabelled/", file=sys.stderr)
        return 1
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="birdsong-annotations-"))
    results = {"machine": machine(), "spinetail": check_spinetail(work)}
    events, seconds = make_soundscapes(work / "corpus")
    corpus = work / "corpus"
    common = ["--input", str(corpus / "audio"), "--direct_running_mode", "in_memory", "--seed", "0"]
    annotated, whole = str(work / "ds-annotations"), str(work / "ds-whole")
    flags = {
        "annotations": [*common, "--annotations", str(corpus / "tables" / "*"), "--output", annotated],
        "annotations_without_background": [*common, "--annotations", str(corpus / "tables" / "*"),
                                           "--annotations-complete", "no", "--output", f"{annotated}-nb"],
        "whole_recordings": [*common, "--metadata", str(corpus / "metadata.csv"), "--types", "",
                             "--min-recordings", "1", "--output", whole],
    }  # fmt: skip
    runs = {name: [] for name in flags}
    for _ in range(REPEATS):  # interleaved, so that both see the same load
        for name, build_flags in flags.items():
            runs[name].append(_build(*build_flags))
    builds = {}
    for name, measured in runs.items():
        cpu = float(np.median([m["cpu_s"] for m in measured]))
        examples = sum(measured[0]["examples"].values())
        builds[name] = {**measured[0], "cpu_s_runs": [m["cpu_s"] for m in measured],
                        "wall_s_runs": [m["wall_s"] for m in measured], "cpu_s": cpu,
                        "cpu_s_per_audio_s": round(cpu / seconds, 5),
                        "cpu_s_per_window": round(cpu / examples, 5)}  # fmt: skip
    results["soundscapes"] = {"recordings": SOUNDSCAPES, "audio_s": seconds, "events": events,
                              "builds": builds,
                              "cost_ratio_per_audio_s": ratio(builds["annotations"]["cpu_s"],
                                                              builds["whole_recordings"]["cpu_s"]),
                              "cost_ratio_per_window": ratio(builds["annotations"]["cpu_s_per_window"],
                                                             builds["whole_recordings"]["cpu_s_per_window"])}  # fmt: skip
    if not args.skip_training:
        results["learning"] = cross_validated(work, flags, [int(s) for s in args.seeds.split(",")])
    print(json.dumps({k: v for k, v in results.items() if k != "machine"}, indent=1)[:6000])
    save("annotations", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
