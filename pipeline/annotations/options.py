"""The builder's flags for annotated recordings and grouped splits."""

from __future__ import annotations

import argparse
import dataclasses

from pipeline.annotations.raven import LABEL_COLUMNS
from pipeline.annotations.recordings import COMPLETE_CHOICES
from pipeline.annotations.windows import DEFAULT_MIN_OVERLAP, MinOverlap
from pipeline.catalog import Recording

SECONDARY_CHOICES = ("label", "ignore", "exclude-as-negative")
GROUPS = ("recording", "site", "recordist", "recordist-date")  # or any metadata column


@dataclasses.dataclass(frozen=True, kw_only=True)
class AnnotationOptions:
    """Where the annotations are and how they become windows and labels; its defaults are the
    flags' defaults."""

    path: str | None = None
    label_column: str | None = None
    complete: str = "auto"
    min_overlap: MinOverlap = DEFAULT_MIN_OVERLAP
    secondary_labels: str = "ignore"
    species: str | None = None


def to_dict(options: AnnotationOptions, group_by: str) -> dict:
    """The annotation options as dataset.json records them (empty without --annotations)."""
    if not options.path:
        return {"group_by": group_by} if group_by != "recording" else {}
    return {"annotations": {**dataclasses.asdict(options), "min_overlap": str(options.min_overlap)},
            "group_by": group_by}  # fmt: skip


def _min_overlap(text: str) -> MinOverlap:
    try:
        return MinOverlap.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_arguments(p: argparse.ArgumentParser, group_by: str) -> None:
    """Adds the annotation and --group-by flags (default `group_by`) to the builder's parser."""
    p.add_argument(
        "--annotations",
        help="annotation tables, a file or glob: Raven selection tables (.txt), Audacity label "
        "tracks (.txt), CSVs (file, start, end, label[s], optional low/high frequency; Perch's "
        "column names too) or xeno-canto API JSON pages (their annotation-set); each event "
        "gives the windows that cover it. Without --metadata/--layout, the recordings are "
        "the files under --input the tables name",
    )
    p.add_argument(
        "--label-column",
        help="the label column of Raven tables and CSVs (default: the first of "
        f"{', '.join(LABEL_COLUMNS)}; in a CSV also labels, ebird_codes, Species eBird Code)",
    )
    p.add_argument(
        "--annotations-complete",
        choices=COMPLETE_CHOICES,
        default=AnnotationOptions.complete,
        help="whether a table names every sound of its recordings, so that windows touching "
        "no event are background ('(background)', last in labels.txt); auto: yes for Raven "
        "and Audacity tables, no for CSVs and xeno-canto (default: %(default)s)",
    )
    p.add_argument(
        "--min-overlap",
        type=_min_overlap,
        default=AnnotationOptions.min_overlap,
        help="how much of an event a window must hold to carry its label: a fraction of the "
        "event (of the window, for a longer event) or seconds, such as 0.25s; an event shorter "
        "than that counts whole (default: %(default)s)",
    )
    p.add_argument(
        "--secondary-labels",
        choices=SECONDARY_CHOICES,
        default=AnnotationOptions.secondary_labels,
        help="xeno-canto's 'also' species (heard in the background) of the --annotations "
        "pages: label adds them to every window of their recording; ignore leaves them out; "
        "exclude-as-negative masks them in every window of their recording (its "
        "masked_labels: neither positive nor negative, skipped by the multi-label loss and "
        "metrics) (default: %(default)s)",
    )
    p.add_argument(
        "--species",
        help="a file of the species to keep, one a line; annotations of others fail as "
        "annotation_unknown_label (default: every label of the annotations)",
    )
    p.add_argument(
        "--group-by",
        default=group_by,
        help="keep every window of a group in one split: recording, site (xeno-canto's loc, "
        "or a site column), recordist, recordist-date, or any --metadata column; a recording "
        "with the group left blank is a group of its own (default: %(default)s)",
    )


def from_args(args: argparse.Namespace) -> AnnotationOptions:
    """The AnnotationOptions of parsed flags."""
    return AnnotationOptions(
        path=args.annotations,
        label_column=args.label_column,
        complete=args.annotations_complete,
        min_overlap=args.min_overlap,
        secondary_labels=args.secondary_labels,
        species=args.species,
    )


def group_of(recording: Recording, group_by: str) -> str:
    """A recording's group under --group-by; blank values make a group of the recording alone."""
    value = {
        "recording": "",
        "site": recording.site,
        "recordist": recording.recordist,
        "recordist-date": f"{recording.recordist}\0{recording.date}"
        if recording.recordist and recording.date
        else "",
    }.get(group_by, recording.group)
    return f"{group_by}:{value}" if value else f"recording:{recording.recording_id}"
