"""Reading annotation files of any format from a path or glob, on any Beam filesystem."""

from __future__ import annotations

from apache_beam.io.filesystems import FileSystems

from pipeline.annotations.audacity import is_audacity, read_audacity
from pipeline.annotations.csv_table import read_csv
from pipeline.annotations.events import AnnotationError, Table
from pipeline.annotations.raven import is_raven, read_raven
from pipeline.annotations.xeno_canto import read_xeno_canto


def table_format(path: str, text: str) -> str:
    """The format of one annotation file, from its name and first line."""
    lower = path.lower()
    if lower.endswith(".json"):
        return "xeno-canto"
    if lower.endswith(".csv"):
        return "csv"
    if is_raven(text):
        return "raven"
    if is_audacity(text) or not text.strip():
        return "audacity"
    raise AnnotationError(
        f"{path}: not an annotation table (a Raven selection table, an Audacity label track, "
        "a .csv or xeno-canto .json)"
    )


def read_table(path: str, text: str, label_column: str | None = None,
               secondary_labels: bool = False) -> Table:  # fmt: skip
    """One annotation file's Table."""
    kind = table_format(path, text)
    if kind == "raven":
        return read_raven(path, text, label_column)
    if kind == "csv":
        return read_csv(path, text, label_column)
    if kind == "xeno-canto":
        return read_xeno_canto(path, text, secondary_labels)
    return read_audacity(path, text)


def read_annotations(pattern: str, label_column: str | None = None,
                     secondary_labels: bool = False) -> list[Table]:  # fmt: skip
    """The Tables of every annotation file a path or glob matches (local or gs://), in path
    order. AnnotationError, in one line naming the file, for one that cannot be read."""
    matches = FileSystems.match([pattern])[0].metadata_list
    if not matches:
        raise AnnotationError(f"{pattern}: no annotation files found")
    tables = []
    for match in sorted(matches, key=lambda m: m.path):
        with FileSystems.open(match.path, compression_type="uncompressed") as f:
            data = f.read()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise AnnotationError(f"{match.path}: not UTF-8 text") from None
        tables.append(read_table(match.path, text, label_column, secondary_labels))
    return tables
