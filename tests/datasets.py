"""Reading a built dataset back, as a user would, to check what the builder wrote."""

from __future__ import annotations

import json
from pathlib import Path

import tensorflow as tf

from schemas import SPLITS, parse_examples, read_dataset_info, shard_pattern


def read_split(data_dir: str, split: str) -> list[dict]:
    """Every Example of a split, parsed with the schema, as dicts of numpy values."""
    info = read_dataset_info(data_dir)
    files = sorted(tf.io.gfile.glob(shard_pattern(data_dir, split)))
    compression = "GZIP" if info["compression"] == "GZIP" else ""
    height, width = info["image"]["height"], info["image"]["width"]
    records = tf.data.TFRecordDataset(files, compression_type=compression).batch(64)
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
