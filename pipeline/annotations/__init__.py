"""Annotation tables (Raven, Audacity, CSV, xeno-canto JSON) read into events, Beam-free."""

from pipeline.annotations.events import (
    AnnotationError,
    Event,
    Table,
)
from pipeline.annotations.reading import read_annotations

__all__ = [
    "AnnotationError",
    "Event",
    "Table",
    "read_annotations",
]
