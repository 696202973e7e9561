"""The rows of predict's results: one per file (its top species over all windows), one per
window on request, one per failed file; and their text on the terminal.

A recording shorter than one window is classified from its one zero-padded window, and its rows
say so in the "note" column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from schemas import BACKGROUND_LABEL, SpectrogramParams
from trainer.detection import bird_scores

if TYPE_CHECKING:  # reading imports TensorFlow, which rows never needs
    from trainer.prediction.reading import FilePrediction


def columns(top_k: int) -> list[str]:
    """Columns of the CSV and JSON rows."""
    ranks = [f"{name}_{rank}" for rank in range(1, top_k + 1) for name in ("species", "score")]
    return ["file", "kind", "start_s", "end_s", *ranks, "note", "error"]


def short_note(length: int, params: SpectrogramParams) -> str | None:
    """The note of a recording `length` samples long that is shorter than one window."""
    if length >= params.snippet_samples:
        return None
    seconds = length / params.sample_rate
    return f"shorter than one window ({seconds:.2f} s of {params.snippet_seconds:g} s), zero-padded"


def _top(scores: np.ndarray, labels: list[str], top_k: int) -> dict[str, Any]:
    order = np.argsort(-scores, kind="stable")[:top_k]
    ranked = {}
    for rank, label in enumerate(order, start=1):
        ranked[f"species_{rank}"] = labels[label]
        ranked[f"score_{rank}"] = round(float(scores[label]), 5)
    return ranked


def result_rows(
    item: FilePrediction,
    labels: list[str],
    params: SpectrogramParams,
    *,
    top_k: int = 3,
    aggregate: str = "mean",
    timeline: bool = False,
    min_score: float = 0.0,
    thresholds: np.ndarray | None = None,
    detection_threshold: float | None = None,
) -> list[dict[str, Any]]:
    """Rows of one file: its top-k species over all windows, then (timeline) each window's.

    Windows whose best score is under `min_score` are left out; a failed file gives one
    "failed" row; a file shorter than a window has a note. Missing values are None. With a
    model trained with the background class, a window without a bird is a "no_detection" row
    without species: one whose bird score, 1 - P(background), is under `detection_threshold`
    (None: where the background wins); and the file's species are ranked by the windows where a bird was
    detected (all windows when there is none). With a multi-label model's `thresholds`, each
    window gives one row per species at or above its threshold (best first; "no_detection"
    when none is), and background is detected where its own score reaches its threshold.
    """
    empty = dict.fromkeys(columns(top_k))
    if item.error:
        return [{**empty, "file": item.path, "kind": "failed", "error": item.error}]
    rate = params.sample_rate
    empty["note"] = short_note(item.length, params)

    def row(kind: str, start: int, end: int, scores: np.ndarray) -> dict[str, Any]:
        times = {"start_s": round(start / rate, 3), "end_s": round(end / rate, 3)}
        return {**empty, "file": item.path, "kind": kind, **times, **_top(scores, labels, top_k)}

    windows = item.probabilities
    bird = np.ones(len(windows), bool)
    if labels[-1] == BACKGROUND_LABEL:
        if thresholds is None and detection_threshold is not None:
            bird = bird_scores(windows) >= detection_threshold
        elif thresholds is None:
            bird = windows.argmax(axis=1) != len(labels) - 1
        else:
            bird = windows[:, -1] < thresholds[-1]
            thresholds = thresholds[:-1]
        labels, windows = labels[:-1], windows[:, :-1]
    detected = windows[bird] if bird.any() else windows
    scores = detected.max(axis=0) if aggregate == "max" else detected.mean(axis=0)
    rows = [row("file", 0, item.length, scores)]
    if timeline:
        for start, window, is_bird in zip(item.starts, windows, bird, strict=True):
            end = min(start + params.snippet_samples, item.length)
            heard = [] if thresholds is None else [
                i for i in np.argsort(-window, kind="stable")
                if window[i] >= max(thresholds[i], min_score)
            ]  # fmt: skip
            if not is_bird or (thresholds is not None and not heard):
                times = {"start_s": round(start / rate, 3), "end_s": round(end / rate, 3)}
                rows.append({**empty, "file": item.path, "kind": "no_detection", **times})
            elif thresholds is not None:
                for i in heard:
                    detection = {
                        **row("window", start, end, window),
                        **_top(window[[i]], [labels[i]], 1),
                    }
                    others = {f"{name}_{rank}": None for rank in range(2, top_k + 1)
                              for name in ("species", "score")}  # fmt: skip
                    rows.append({**detection, **others})
            elif window.max() >= min_score:
                rows.append(row("window", start, end, window))
    return rows


def format_rows(rows: list[dict[str, Any]], top_k: int) -> str:
    """The rows of one classified file as text for the terminal."""
    first = rows[0]
    length = first["note"] or f"{first['end_s']:.2f} s"
    lines = [f"{first['file']}  ({length})"]
    for rank in range(1, top_k + 1):
        if first.get(f"species_{rank}") is not None:
            lines.append(f"  {first[f'score_{rank}']:.3f}  {first[f'species_{rank}']}")
    for row in rows[1:]:
        found = "no detection" if row["kind"] == "no_detection" else (
            f"{row['score_1']:.3f}  {row['species_1']}"
        )  # fmt: skip
        lines.append(f"    {row['start_s']:8.2f} - {row['end_s']:8.2f} s  {found}")
    return "\n".join(lines)
