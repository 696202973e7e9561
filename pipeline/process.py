"""The Beam transforms of one recording: decode, choose snippets, spectrograms, Examples."""

from __future__ import annotations

import collections
import json
from collections.abc import Iterator
from typing import IO, Any

import apache_beam as beam
import threadpoolctl
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from frontend.audio import SALVAGE, AudioError, check_ffmpeg
from frontend.snippets import Scan, SnippetSelection, choose_snippets, quietest_windows
from frontend.windows import open_windows
from pipeline.annotations.recordings import Annotated
from pipeline.annotations.windows import (
    DEFAULT_MIN_OVERLAP,
    MinOverlap,
    Window,
    recording_windows,
)
from pipeline.catalog import CatalogError, Failure, Recording
from pipeline.outputs import index_row
from schemas import BACKGROUND_LABEL, SPLITS, SpectrogramParams, make_example

EXAMPLES = "examples"
NAMESPACE = "birdsong"
SILENCE_PEAK = 1e-4  # -80 dBFS: below this everywhere, a recording holds nothing to learn

# Failure reasons that are deliberate choices of the user rather than bad input.
SELECTION_REASONS = ("filtered_type", "filtered_min_recordings", "filtered_top_species")


def dataset_labels(species: list[str], selection: SnippetSelection) -> list[str]:
    """The labels of labels.txt: the species, then BACKGROUND_LABEL with background snippets."""
    if BACKGROUND_LABEL in species:
        raise CatalogError(f"{BACKGROUND_LABEL!r} is a reserved label, not a species name")
    return [*species, BACKGROUND_LABEL] if selection.background else list(species)


def failure_outcome(failure: Failure) -> dict[str, Any]:
    """The outcome record of an input file that produced no examples."""
    return {
        "status": "failed",
        "file": failure.file,
        "reason": failure.reason,
        "detail": failure.detail,
    }


class ProcessRecording(beam.DoFn):
    """(Recording, split) -> (split, index row, serialized Example) per snippet; one outcome
    per file.

    Every recording yields exactly one record on the "outcomes" output: what it gave, or why
    it gave nothing. Bad input never raises; a missing ffmpeg fails the worker at setup when
    `decoder` is "ffmpeg" (elsewhere ffmpeg only salvages files the decoder rejects).
    """

    def __init__(
        self,
        params: SpectrogramParams,
        selection: SnippetSelection,
        labels: list[str],
        min_seconds: float,
        decoder: str = "auto",
        min_overlap: MinOverlap = DEFAULT_MIN_OVERLAP,
    ) -> None:
        self._params = params
        self._selection = selection
        self._label_of = {species: index for index, species in enumerate(labels)}
        self._min_seconds = min_seconds
        self._decoder = decoder
        self._min_overlap = min_overlap  # of an annotated event, for a window to carry its label
        self._read = Metrics.counter(NAMESPACE, "recordings_read")
        self._decoded = Metrics.counter(NAMESPACE, "recordings_decoded")
        self._failed = Metrics.counter(NAMESPACE, "recordings_failed")
        self._salvaged = Metrics.counter(NAMESPACE, "recovered_with_ffmpeg")
        self._written = {split: Metrics.counter(NAMESPACE, f"snippets_{split}") for split in SPLITS}

    def setup(self) -> None:
        if self._decoder == "ffmpeg":
            check_ffmpeg()
        # Beam runs a worker per core: numpy's BLAS threads (the spectrogram's matrix product)
        # would only spin against the other workers (2.5x the product's CPU time, numpy 2.4).
        threadpoolctl.threadpool_limits(1, user_api="blas")

    def process(self, element: tuple[Recording, str]) -> Iterator[Any]:
        recording, split = element
        self._read.inc()
        examples, background, decoder = 0, 0, ""
        per_label: collections.Counter = collections.Counter()  # windows per label
        first_labels: collections.Counter = collections.Counter()  # windows per first label
        names: dict[int, str] = {}  # the chosen windows' starts and labels
        annotated: dict[int, Window] = {}  # those of an annotated recording, with all labels
        refused: list = []  # its annotations refused once its length is known

        def choose(scan: Scan) -> list[int]:
            names.update(self._windows(recording, scan))
            if not recording.events:
                return sorted(names)
            annotation = Annotated.from_json(recording.events)
            windows, rejected = recording_windows(
                annotation.events, annotation.complete, names,
                scan.length / self._params.sample_rate, self._params.sample_rate,
                self._params.snippet_samples, self._min_overlap, BACKGROUND_LABEL,
            )  # fmt: skip
            annotated.update({window.start: window for window in windows})
            refused.extend(rejected)
            return sorted(annotated)

        try:
            with open_windows(
                recording.path, self._params, choose, decoder=self._decoder, open_file=_open
            ) as windows:
                for index, (start, image) in enumerate(
                    zip(windows.starts, windows.images, strict=True)
                ):
                    window = annotated.get(start) or Window(start, (names[start],))
                    examples += 1
                    background += window.labels[0] == BACKGROUND_LABEL
                    per_label.update(window.labels)
                    first_labels[window.labels[0]] += 1
                    yield split, *self._example(recording, index, window, image)
                decoder = windows.decoder
        except AudioError as error:
            self._failed.inc()
            yield beam.pvalue.TaggedOutput(
                "outcomes",
                failure_outcome(Failure(recording.source_file, error.reason, error.detail)),
            )
            return
        except Exception as error:  # noqa: BLE001 - one bad recording never kills the job
            self._failed.inc()
            detail = f"{type(error).__name__}: {error}".splitlines()[0]
            yield beam.pvalue.TaggedOutput(
                "outcomes", failure_outcome(Failure(recording.source_file, "error", detail))
            )
            return
        self._decoded.inc()
        if decoder == SALVAGE:
            self._salvaged.inc()
        self._written[split].inc(examples)
        for rejected in refused:
            yield beam.pvalue.TaggedOutput(
                "outcomes",
                failure_outcome(Failure(rejected.file, rejected.reason, rejected.detail)),
            )
        outcome = {"status": "ok", "file": recording.source_file, "split": split,
                   "species": recording.species, "examples": examples - background,
                   "background": background, "decoder": decoder}  # fmt: skip
        if recording.events:
            events = Annotated.from_json(recording.events).events
            outcome["events"] = sum(not e.secondary for e in events) - len(refused)
            outcome["windows_per_label"] = dict(per_label)
            outcome["examples_by_label"] = dict(first_labels)
        yield beam.pvalue.TaggedOutput("outcomes", outcome)

    def _windows(self, recording: Recording, scan: Scan) -> dict[int, str]:
        """{sample offset: label} of the windows to write; AudioError for a recording too short
        or silent."""
        params = self._params
        seconds = scan.length / params.sample_rate
        if seconds < self._min_seconds:
            raise AudioError(
                "too_short", f"{seconds:.2f} s, under --min-seconds {self._min_seconds}"
            )
        if scan.peak < SILENCE_PEAK:
            raise AudioError("silent", "no sound above -80 dBFS")
        starts = choose_snippets(
            scan.length, scan.energies, params.sample_rate, params.snippet_samples, params.hop,
            self._selection,
        )  # fmt: skip
        names = {start: recording.species for start in starts}
        if self._selection.background:  # the quietest windows, as examples of "no bird"
            quiet = quietest_windows(
                scan.length, scan.energies, params.snippet_samples, params.hop,
                self._selection.cutoff, self._selection.background,
            )  # fmt: skip
            names.update({start: BACKGROUND_LABEL for start in quiet if start not in names})
        return names

    def _example(
        self, recording: Recording, index: int, window: Window, image
    ) -> tuple[dict, bytes]:
        """(index row, serialized Example) of one window, labelled with its labels (the first
        one is its "label" and species)."""
        name, labels = window.labels[0], [self._label_of[n] for n in window.labels]
        label = labels[0]
        seconds = window.start / self._params.sample_rate
        return (
            {
                **index_row(recording, label, index, seconds),
                "species": name,
                "labels": ";".join(window.labels),
                "low_hz": window.low_hz,
                "high_hz": window.high_hz,
            },  # fmt: skip
            make_example(
                image,
                label=label,
                labels=labels,
                species=name,
                recording_id=recording.recording_id,
                snippet_index=index,
                start_seconds=seconds,
                source_file=recording.source_file,
                sound_type=recording.sound_type,
                license=recording.license,
                quality=recording.quality,
            ).SerializeToString(),
        )


def _open(path: str) -> IO[bytes]:
    """A recording's bytes on any Beam filesystem (gs://...): the front end's Opener."""
    return FileSystems.open(
        path, mime_type="application/octet-stream", compression_type="uncompressed"
    )


class SummarizeOutcomes(beam.CombineFn):
    """Counts of recordings and examples per split and species, and failures per reason."""

    def create_accumulator(self) -> dict[str, collections.Counter]:
        return {"recordings": collections.Counter(), "examples": collections.Counter(),
                "failures": collections.Counter(), "decoders": collections.Counter(),
                "events": collections.Counter(), "windows_per_label": collections.Counter()}  # fmt: skip

    def add_input(self, accumulator, outcome: dict[str, Any]):
        if outcome["status"] == "ok":
            key = (outcome["split"], outcome["species"])
            accumulator["recordings"][key] += 1
            if "windows_per_label" in outcome:  # annotated: examples by their first label
                split = outcome["split"]
                accumulator["events"][split] += outcome["events"]
                for label, count in outcome["windows_per_label"].items():
                    accumulator["windows_per_label"][(split, label)] += count
                for label, count in outcome["examples_by_label"].items():
                    accumulator["examples"][(split, label)] += count
                accumulator["decoders"][outcome["decoder"]] += 1
                return accumulator
            accumulator["examples"][key] += outcome["examples"]
            if outcome.get("background"):
                accumulator["examples"][(outcome["split"], BACKGROUND_LABEL)] += outcome[
                    "background"
                ]
            accumulator["decoders"][outcome["decoder"]] += 1
        else:
            accumulator["failures"][outcome["reason"]] += 1
        return accumulator

    def merge_accumulators(self, accumulators):
        merged = self.create_accumulator()
        for accumulator in accumulators:
            for name, counter in accumulator.items():
                merged[name].update(counter)
        return merged

    def extract_output(self, accumulator) -> dict[str, Any]:
        def nested(counter: collections.Counter) -> dict[str, dict[str, int]]:
            table: dict[str, dict[str, int]] = collections.defaultdict(dict)
            for (split, species), count in sorted(counter.items()):
                table[split][species] = count
            return dict(table)

        return {
            "recordings": nested(accumulator["recordings"]),
            "examples": nested(accumulator["examples"]),
            "failures": dict(sorted(accumulator["failures"].items())),
            "decoders": dict(sorted(accumulator["decoders"].items())),
            "events": dict(sorted(accumulator["events"].items())),
            "windows_per_label": nested(accumulator["windows_per_label"]),
        }


def write_json(value: Any, path: str) -> None:
    """Writes `value` as JSON to any Beam filesystem."""
    with FileSystems.create(path, mime_type="application/json") as f:
        f.write(json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8"))
