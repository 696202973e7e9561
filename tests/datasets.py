"""Reading a built dataset back, as a user would, to check what the builder wrote."""

from __future__ import annotations

import json
from pathlib import Path

import tensorflow as tf

from schemas import (
    DATASET_INFO_FILE,
    LABELS_FILE,
    SPLITS,
    Counts,
    DatasetInfo,
    ImageShape,
    InputInfo,
    LabelsInfo,
    SelectionInfo,
    SpeciesCounts,
    SpectrogramParams,
    SplitInfo,
    parse_examples,
    read_dataset_info,
    shard_pattern,
)


def read_split(data_dir: str, split: str) -> list[dict]:
    """Every Example of a split, parsed with the schema, as dicts of numpy values."""
    info = read_dataset_info(data_dir)
    files = sorted(tf.io.gfile.glob(shard_pattern(data_dir, split)))
    height, width = info.image.height, info.image.width
    records = tf.data.TFRecordDataset(files, compression_type=info.tfrecord_compression)
    records = records.batch(64)
    examples = []
    for batch in records.map(lambda s: parse_examples(s, height, width)):
        for i in range(len(batch["label"])):
            examples.append({k: v[i].numpy() for k, v in batch.items()})
    return examples


def read_all(data_dir: str) -> dict[str, list[dict]]:
    return {split: read_split(data_dir, split) for split in SPLITS}


def split_of_recordings(data_dir: str) -> dict[str, str]:
    """recording id -> split, from the records themselves; fails if one is in two splits."""
    assignment: dict[str, str] = {}
    for split, examples in read_all(data_dir).items():
        for example in examples:
            recording = example["recording_id"].decode()
            assert assignment.setdefault(recording, split) == split, f"{recording} in two splits"
    return assignment


def failures(data_dir: str) -> list[dict]:
    text = (Path(data_dir) / "failures.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def write_info(
    data_dir: Path,
    labels: list[str],
    examples: dict[str, list[int]],
    *,
    height: int,
    width: int,
    compression: str = "NONE",
) -> DatasetInfo:
    """Writes the labels.txt and dataset.json of a hand-written dataset whose species i has
    examples[split][i] examples (one recording each) in each split."""
    per_species = {
        name: SpeciesCounts(
            recordings={s: examples[s][i] for s in SPLITS},
            examples={s: examples[s][i] for s in SPLITS},
        )
        for i, name in enumerate(labels)
    }
    totals = {s: sum(examples[s]) for s in SPLITS}
    info = DatasetInfo(
        complete=True,
        created="2026-01-01T00:00:00+00:00",
        command=["written by a test"],
        input=InputInfo(None, None, "folders"),
        spectrogram=SpectrogramParams(frequency_rows=height),
        image=ImageShape(height, width),
        snippets={},
        selections=SelectionInfo([], 0, 0, {}),
        labels=LabelsInfo(LABELS_FILE, len(labels), "as written"),
        split=SplitInfo({"train": 0.7, "validation": 0.15, "test": 0.15}, 0, "by hand"),
        compression=compression,
        shards={s: 1 for s in SPLITS},
        workers=1,
        counts=Counts(
            totals["train"] + totals["validation"] + totals["test"],
            totals,
            totals,
            per_species,
            {},
            0,
            0,
            0,
            {},
        ),  # fmt: skip
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / LABELS_FILE).write_text("".join(f"{name}\n" for name in labels))
    (data_dir / DATASET_INFO_FILE).write_text(json.dumps(info.to_dict(), indent=2))
    return info
