"""Reading a built dataset back, as a user would, to check what the builder wrote; and small
datasets written by hand, as the builder would, for the trainer's tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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
    make_example,
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
        input=InputInfo(input=None, metadata=None, layout="folders"),
        spectrogram=SpectrogramParams(frequency_rows=height),
        image=ImageShape(height=height, width=width),
        snippets={},
        selections=SelectionInfo(types=[], min_recordings=0, top_species=0, kept_types={}),
        labels=LabelsInfo(file=LABELS_FILE, count=len(labels), order="as written"),
        split=SplitInfo(
            fractions={"train": 0.7, "validation": 0.15, "test": 0.15}, seed=0, rule="by hand"
        ),
        compression=compression,
        shards={s: 1 for s in SPLITS},
        workers=1,
        counts=Counts(
            input_files=totals["train"] + totals["validation"] + totals["test"],
            recordings=totals,
            examples=totals,
            per_species=per_species,
            failures={},
            failed_files=0,
            metadata_rows_without_file=0,
            recovered_with_ffmpeg=0,
            decoders={},
        ),
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / LABELS_FILE).write_text("".join(f"{name}\n" for name in labels))
    (data_dir / DATASET_INFO_FILE).write_text(json.dumps(info.to_dict(), indent=2))
    return info


# The hand-written datasets of the trainer's tests (write_dataset).
HEIGHT, WIDTH = 16, 24
SPECIES = ["Azure Whistler", "Dusky Trillbird", "Finch's Warbler"]


def write_dataset(
    path: Path,
    per_species: dict[str, list[int]],
    *,
    compression: str = "GZIP",
    labels: list[str] = SPECIES,
    record_labels: list[int] | None = None,
) -> str:
    """Writes a dataset as pipeline.build would: per split, examples of each species in order.

    Species i shows a bright band at row 4 * i, so that it can be told apart.
    `record_labels` overrides the label stored in the records of species i.
    """
    path.mkdir(parents=True, exist_ok=True)
    record_labels = record_labels or list(range(len(per_species["train"])))
    rng = np.random.default_rng(0)
    suffix = ".gz" if compression == "GZIP" else ""
    options = tf.io.TFRecordOptions(compression_type=compression if suffix else None)
    for split, counts in per_species.items():
        with tf.io.TFRecordWriter(
            str(path / f"{split}-00000-of-00001.tfrecord{suffix}"), options
        ) as writer:
            for label, count in enumerate(counts):
                for index in range(count):
                    pixels = rng.integers(0, 60, (HEIGHT, WIDTH), dtype=np.uint8)
                    pixels[4 * label : 4 * label + 2] = 250
                    example = make_example(
                        pixels,
                        label=record_labels[label],
                        species=SPECIES[label],
                        recording_id=f"{split}-{label}-{index // 2}",
                        snippet_index=index % 2,
                        start_seconds=4.0 * (index % 2),
                        source_file=f"{label}/{index // 2}.mp3",
                    )
                    writer.write(example.SerializeToString())
    write_info(path, labels, per_species, height=HEIGHT, width=WIDTH, compression=compression)
    return str(path)


BALANCED = {"train": [4, 4, 4], "validation": [2, 2, 2], "test": [1, 1, 1]}
RARE_THIRD = {"train": [40, 20, 4], "validation": [2, 2, 2], "test": [1, 1, 1]}


def trainer_fails_with(capsys, data_dir: str, job_dir: Path, *extra: str) -> str:
    """Runs trainer.task in-process, expecting it to stop with a one-line error; returns the line."""
    from trainer import task

    argv = ["--data-dir", data_dir, "--job-dir", str(job_dir), "--weights", "none"]
    argv += [*extra, "--image-size", "75"]
    assert task.main(argv) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: "), error
    return error[0]
