"""Which snippet-long windows of an annotated recording become examples, and their labels."""

from __future__ import annotations

import dataclasses
import math

from pipeline.annotations.events import Event
from pipeline.outcome import Outcome

EVENT_OVERLAP = 0.5  # consecutive windows over an event longer than one overlap by half
END_TOLERANCE = 0.5  # seconds an event may reach past the recording's end (then it is cut)


@dataclasses.dataclass(frozen=True)
class MinOverlap:
    """How much of an event a window must hold to carry its label: `seconds`, or a `fraction`
    of the event (of the window, for an event longer than one); never less than the event."""

    value: float
    seconds: bool = False

    @classmethod
    def parse(cls, text: str) -> MinOverlap:
        """`0.5` (a fraction) or `0.25s` (seconds)."""
        text = text.strip().lower()
        seconds = text.endswith("s")
        value = float(text.rstrip("s"))
        if value < 0 or (not seconds and value > 1):
            raise ValueError(f"{text!r}: a fraction 0 to 1, or seconds such as 0.25s")
        return cls(value, seconds)

    def needed(self, event_seconds: float, window_seconds: float) -> float:
        """Seconds of overlap a window needs to carry an event's label."""
        if self.seconds:
            return min(self.value, event_seconds)
        return self.value * min(event_seconds, window_seconds)

    def __str__(self) -> str:
        return f"{self.value:g}s" if self.seconds else f"{self.value:g}"


DEFAULT_MIN_OVERLAP = MinOverlap(0.5)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Window:
    """One chosen window: its first sample, its labels (in event order), the labels whose loss
    is masked (neither present nor absent) and their band."""

    start: int
    labels: tuple[str, ...]
    masked: tuple[str, ...] = ()
    low_hz: float = 0.0
    high_hz: float = 0.0


def check_lengths(events: list[Event], seconds: float) -> tuple[list[Event], list[Outcome]]:
    """Events inside a recording `seconds` long (cut to its end when they reach up to
    END_TOLERANCE past it), and those beyond its end. Secondary labels span the recording."""
    kept, rejected = [], []
    for event in events:
        if event.secondary:
            kept.append(dataclasses.replace(event, end=seconds))
        elif event.start >= seconds or event.end > seconds + END_TOLERANCE:
            rejected.append(Outcome(file=event.file, reason="annotation_beyond_end", detail=f"{event.where}: {event.start:g}-{event.end:g} s, the recording "
                                     f"is {seconds:.2f} s long"))  # fmt: skip
        else:
            kept.append(dataclasses.replace(event, end=min(event.end, seconds)))
    return kept, rejected


def _covering(event: Event, window: float, last: float) -> list[float]:
    """Start times of the windows covering one event: one centred on an event no longer than a
    window, else windows EVENT_OVERLAP apart from its start to its end, all inside [0, last]."""
    length = event.end - event.start
    if length <= window:
        starts = [event.start + length / 2 - window / 2]
    else:
        count = math.ceil((length - window) / (window * (1 - EVENT_OVERLAP))) + 1
        step = (length - window) / (count - 1)
        starts = [event.start + i * step for i in range(count)]
    return [min(max(0.0, s), max(0.0, last)) for s in starts]


def _carries(event: Event, begin: float, end: float, min_overlap: MinOverlap) -> bool:
    overlap = min(event.end, end) - max(event.start, begin)
    if event.end == event.start:  # a point label: inside the window
        return begin <= event.start <= end
    return (
        overlap > 0 and overlap >= min_overlap.needed(event.end - event.start, end - begin) - 1e-9
    )


def annotated_windows(
    events: list[Event],
    seconds: float,
    sample_rate: int,
    snippet_samples: int,
    min_overlap: MinOverlap,
    complete: bool,
    background_label: str,
) -> list[Window]:
    """The windows of a recording `seconds` long, in time order: those covering each event
    (but a short event inside a window already chosen; secondary labels cover none), each labelled with every
    event it holds enough of; and, when the annotation is `complete`, back-to-back windows
    touching no event, labelled `background_label`."""
    window = snippet_samples / sample_rate
    last = seconds - window
    primary = sorted((e for e in events if not e.secondary), key=lambda e: (e.start, e.end))
    covered: list[float] = []  # start times so far; a short event inside one adds no window
    for event in primary:
        inside = event.end - event.start <= window and any(
            s <= event.start and event.end <= s + window for s in covered[-8:]
        )
        covered += [] if inside else _covering(event, window, last)
    starts = sorted({round(s * sample_rate) for s in covered})
    chosen = []
    for start in starts:
        begin = start / sample_rate
        held = [e for e in events if _carries(e, begin, begin + window, min_overlap)]
        labels = tuple(dict.fromkeys(label for e in held for label in e.labels))
        if not labels:
            continue  # an event at the edge of its own centred window, held too little
        bands = [e for e in held if e.high_hz > 0]
        chosen.append(Window(start=start, labels=labels,
                             low_hz=min((e.low_hz for e in bands), default=0.0),
                             high_hz=max((e.high_hz for e in bands), default=0.0)))  # fmt: skip
    if complete:
        for i in range(max(1, math.floor(seconds / window))):
            begin = i * window
            if not any(min(e.end, begin + window) > max(e.start, begin) or
                       begin <= e.start <= begin + window for e in primary):  # fmt: skip
                chosen.append(Window(start=round(begin * sample_rate), labels=(background_label,)))
    return sorted(chosen, key=lambda w: w.start)


def drop_duplicates(events: list[Event]) -> tuple[list[Event], list[Outcome]]:
    """Events without overlapping duplicates, in time order: an event of the same recording
    and labels as an earlier one, overlapping it by half the shorter or more, is refused."""
    kept: list[Event] = []
    rejected: list[Outcome] = []
    previous: dict[tuple[str, tuple[str, ...]], Event] = {}  # the kept event reaching furthest
    for event in sorted(events, key=lambda e: (e.start, e.end)):
        key = (event.file, event.labels)
        twin = previous.get(key)
        shorter = min(twin.end - twin.start, event.end - event.start) if twin else 0.0
        if twin and min(twin.end, event.end) - event.start >= max(0.5 * shorter, 1e-9):
            rejected.append(Outcome(file=event.file, reason="annotation_duplicate", detail=f"{event.where}: overlaps {twin.where} with the same label"))  # fmt: skip
            continue
        kept.append(event)
        if twin is None or event.end > twin.end:
            previous[key] = event
    return kept, rejected


def recording_windows(
    events: list[Event],
    complete: bool,
    chosen: dict[int, str],
    seconds: float,
    sample_rate: int,
    snippet_samples: int,
    min_overlap: MinOverlap,
    background_label: str,
    mask_secondary: bool = False,
) -> tuple[list[Window], list[Outcome]]:
    """(windows, annotations refused) of an annotated recording: those of its events (and of
    its background, when complete); a recording with secondary labels only keeps the windows
    the builder `chosen` ({start: label}), its secondary labels added to each but background.
    With `mask_secondary`, the secondary labels are no labels but masked in every window
    (background too) where they are not a label."""
    annotated = complete or any(not e.secondary for e in events)  # (before any is refused)
    events, rejected = check_lengths(events, seconds)
    secondary = tuple(dict.fromkeys(label for e in events if e.secondary for label in e.labels))
    if mask_secondary:
        events = [e for e in events if not e.secondary]
    if annotated:
        windows = annotated_windows(events, seconds, sample_rate, snippet_samples, min_overlap,
                                    complete, background_label)  # fmt: skip
    else:
        also = tuple(label for e in events for label in e.labels)
        windows = [
            Window(
                start=start,
                labels=(label,)
                if label == background_label
                else tuple(dict.fromkeys((label, *also))),
            )
            for start, label in sorted(chosen.items())
        ]
    if mask_secondary:
        windows = [
            dataclasses.replace(w, masked=tuple(s for s in secondary if s not in w.labels))
            for w in windows
        ]
    return windows, rejected
