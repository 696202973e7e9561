"""The Beam transforms of one recording: decode, choose snippets, spectrograms, Examples."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import IO, Any

import apache_beam as beam
import threadpoolctl
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from frontend.audio import SALVAGE, AudioError, check_ffmpeg
from frontend.snippets import (
    Scan,
    SnippetSelection,
    choose_snippets,
    dense_windows,
    even_windows,
    quietest_windows,
)
from frontend.windows import open_windows
from pipeline.annotations.recordings import Annotated
from pipeline.annotations.windows import (
    DEFAULT_MIN_OVERLAP,
    MinOverlap,
    Window,
    recording_windows,
)
from pipeline.catalog import BACKGROUND_FILE, CatalogError, Recording
from pipeline.outcome import Outcome, Tally
from schemas import BACKGROUND_LABEL, SPLITS, Counts, SpectrogramParams, make_example

EXAMPLES = "examples"
OUTCOMES = "outcomes"
NAMESPACE = "birdsong"
SILENCE_PEAK = 1e-4  # -80 dBFS: below this everywhere, a recording holds nothing to learn


def dataset_labels(species: list[str], selection: SnippetSelection) -> list[str]:
    """The labels of labels.txt: the species, then BACKGROUND_LABEL with background snippets."""
    if BACKGROUND_LABEL in species:
        raise CatalogError(f"{BACKGROUND_LABEL!r} is a reserved label, not a species name")
    return [*species, BACKGROUND_LABEL] if selection.background else list(species)


class OutcomeCounters:
    """The job's Beam counters (namespace "birdsong"), each counted from the outcomes."""

    def __init__(self) -> None:
        self._read = Metrics.counter(NAMESPACE, "recordings_read")
        self._decoded = Metrics.counter(NAMESPACE, "recordings_decoded")
        self._failed = Metrics.counter(NAMESPACE, "recordings_failed")
        self._salvaged = Metrics.counter(NAMESPACE, "recovered_with_ffmpeg")
        self._written = {split: Metrics.counter(NAMESPACE, f"snippets_{split}") for split in SPLITS}

    def count(self, outcome: Outcome) -> None:
        """Counts a recording's outcome (not those of its refused annotations)."""
        self._read.inc()
        if outcome.failed:
            self._failed.inc()
            return
        self._decoded.inc()
        self._salvaged.inc(outcome.decoder == SALVAGE)
        self._written[outcome.split].inc(outcome.examples + outcome.background)


class ProcessRecording(beam.DoFn):
    """(Recording, split) -> (split, snippet values, serialized Example) per snippet; one
    Outcome per file.

    Every recording yields exactly one Outcome on the OUTCOMES output: what it gave, or why
    it gave nothing; the job's counters count it. An annotated recording (its `events`) gives
    the windows of its events, each with every label it overlaps by `min_overlap` (with
    `mask_secondary`, its secondary labels masked instead), and one more Outcome per
    annotation refused once its length is known (after its own). A recording of kind
    BACKGROUND_FILE gives windows evenly over the whole file (at most `background_windows`;
    0: enough to cover it), all background. Bad input never raises; a
    missing ffmpeg fails the worker at setup when `decoder` is "ffmpeg" (elsewhere ffmpeg only
    salvages files the decoder rejects).
    """

    def __init__(
        self,
        params: SpectrogramParams,
        selection: SnippetSelection,
        labels: list[str],
        min_seconds: float,
        decoder: str = "auto",
        min_overlap: MinOverlap = DEFAULT_MIN_OVERLAP,
        mask_secondary: bool = False,
        background_windows: int = 0,
    ) -> None:
        self._params = params
        self._selection = selection
        self._label_of = {species: index for index, species in enumerate(labels)}
        self._min_seconds = min_seconds
        self._decoder = decoder
        self._min_overlap = min_overlap  # of an annotated event, for a window to carry its label
        self._mask_secondary = mask_secondary  # secondary labels masked, not labels
        self._background_windows = background_windows  # most of a background file; 0: all
        self._counters = OutcomeCounters()

    def setup(self) -> None:
        if self._decoder == "ffmpeg":
            check_ffmpeg()
        # Beam runs a worker per core: numpy's BLAS threads (the spectrogram's matrix product)
        # would only spin against the other workers (2.5x the product's CPU time, numpy 2.4).
        threadpoolctl.threadpool_limits(1, user_api="blas")

    def process(self, element: tuple[Recording, str]) -> Iterator[Any]:
        recording, split = element
        examples, background, decoder = 0, 0, ""
        per_label: collections.Counter = collections.Counter()  # windows per label
        first_labels: collections.Counter = collections.Counter()  # windows per first label
        names: dict[int, str] = {}  # the chosen windows' starts and labels
        annotation = Annotated.from_json(recording.events) if recording.events else None
        annotated: dict[int, Window] = {}  # those of an annotated recording, with all labels
        refused: list = []  # its annotations refused once its length is known

        def choose(scan: Scan) -> list[int]:
            names.update(self._windows(recording, split, scan))
            if annotation is None:
                return sorted(names)
            windows, rejected = recording_windows(
                annotation.events, annotation.complete, names,
                scan.length / self._params.sample_rate, self._params.sample_rate,
                self._params.snippet_samples, self._min_overlap, BACKGROUND_LABEL,
                self._mask_secondary,
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
                    window = annotated.get(start) or Window(start=start, labels=(names[start],))
                    examples += 1
                    background += window.labels[0] == BACKGROUND_LABEL
                    per_label.update(window.labels)
                    first_labels[window.labels[0]] += 1
                    yield split, *self._example(recording, index, window, image)
                decoder = windows.decoder
            outcome = Outcome(
                file=recording.source_file, split=split, species=recording.species,
                examples=examples - background, background=background, decoder=decoder,
                background_file=recording.kind == BACKGROUND_FILE,
                **self._annotated_counts(annotation, refused, per_label, first_labels),
            )  # fmt: skip
        except AudioError as error:
            outcome = Outcome(file=recording.source_file, reason=error.reason, detail=error.detail)
        except Exception as error:  # noqa: BLE001 - one bad recording never kills the job
            detail = f"{type(error).__name__}: {error}".splitlines()[0]
            outcome = Outcome(file=recording.source_file, reason="error", detail=detail)
        self._counters.count(outcome)
        yield beam.pvalue.TaggedOutput(OUTCOMES, outcome)
        if not outcome.failed:
            for rejected in refused:
                yield beam.pvalue.TaggedOutput(OUTCOMES, rejected)

    @staticmethod
    def _annotated_counts(
        annotation: Annotated | None, refused: list, per_label: dict, first_labels: dict
    ) -> dict[str, Any]:
        """The Outcome's counts of an annotated recording (none for another)."""
        if annotation is None:
            return {}
        events = sum(not e.secondary for e in annotation.events) - len(refused)
        return {"events": events, "windows_per_label": dict(per_label),
                "examples_per_label": dict(first_labels)}  # fmt: skip

    def _windows(self, recording: Recording, split: str, scan: Scan) -> dict[int, str]:
        """{sample offset: label} of the windows to write (a training recording's dense ones with
        `train_overlap`); AudioError for a recording too short or silent."""
        params = self._params
        seconds = scan.length / params.sample_rate
        if seconds < self._min_seconds:
            raise AudioError(
                "too_short", f"{seconds:.2f} s, under --min-seconds {self._min_seconds}"
            )
        if scan.peak < SILENCE_PEAK:
            raise AudioError("silent", "no sound above -80 dBFS")
        if recording.kind == BACKGROUND_FILE:
            starts = even_windows(scan.length, params.snippet_samples, self._background_windows)
            return dict.fromkeys(starts, BACKGROUND_LABEL)
        if split == "train" and self._selection.train_overlap:
            starts = dense_windows(
                scan.length, scan.energies, params.snippet_samples, params.hop, self._selection
            )
        else:
            starts = choose_snippets(
                scan.length, scan.energies, params.sample_rate, params.snippet_samples,
                params.hop, self._selection,
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
        """(snippet values, serialized Example) of one window, labelled with its labels (the
        first one is its "label" and species)."""
        name, start = window.labels[0], window.start
        snippet = {
            "label": self._label_of[name],
            "labels": [self._label_of[label] for label in window.labels],
            "masked_labels": [self._label_of[label] for label in window.masked],
            "species": name,
            "recording_id": recording.recording_id,
            "snippet_index": index,
            "start_seconds": start / self._params.sample_rate,
            "source_file": recording.source_file,
            "sound_type": recording.sound_type,
            "license": recording.license,
            "quality": recording.quality,
            "recordist": recording.recordist,
            "url": recording.url,
            "low_hz": window.low_hz,
            "high_hz": window.high_hz,
        }
        # Keys in sorted order: every build of the same input writes the same bytes.
        return snippet, make_example(image, **snippet).SerializeToString(deterministic=True)


def _open(path: str) -> IO[bytes]:
    """A recording's bytes on any Beam filesystem (gs://...): the front end's Opener."""
    return FileSystems.open(
        path, mime_type="application/octet-stream", compression_type="uncompressed"
    )


class TallyOutcomes(beam.CombineFn):
    """Outcomes -> dataset.json's Counts, for `labels` and `input_files` files."""

    def __init__(self, labels: list[str], background_label: str, input_files: int) -> None:
        self._labels, self._background, self._input_files = labels, background_label, input_files

    def create_accumulator(self) -> Tally:
        return Tally()

    def add_input(self, tally: Tally, outcome: Outcome) -> Tally:
        tally.add(outcome, self._background)
        return tally

    def merge_accumulators(self, tallies) -> Tally:
        merged = Tally()
        for tally in tallies:
            merged.merge(tally)
        return merged

    def extract_output(self, tally: Tally) -> Counts:
        return tally.counts(self._labels, self._input_files)
