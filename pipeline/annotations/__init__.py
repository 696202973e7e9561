"""Annotation tables (Raven, Audacity, CSV, xeno-canto JSON) read into events, Beam-free."""

from pipeline.annotations.events import (
    ANNOTATION_REASONS,
    AnnotationError,
    Event,
    Rejected,
    Table,
)
from pipeline.annotations.reading import read_annotations

__all__ = [
    "ANNOTATION_REASONS",
    "AnnotationError",
    "Event",
    "Rejected",
    "Table",
    "read_annotations",
]
