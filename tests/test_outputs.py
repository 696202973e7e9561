"""The dataset's files as the job writes them: shards, the Parquet index, no leftovers."""

from __future__ import annotations

import collections
from pathlib import Path

import pyarrow.parquet as pq
import tensorflow as tf

from schemas import SPLITS, parse_examples, read_dataset_info


def test_index_has_one_row_per_example_naming_its_shard(small_dataset):
    rows = pq.read_table(sorted(Path(small_dataset).glob("index-*.parquet"))).to_pylist()
    info = read_dataset_info(small_dataset)
    per = collections.Counter((r["split"], r["species"]) for r in rows)
    assert per == collections.Counter({
        (split, species): counts.examples[split]
        for species, counts in info.counts.per_species.items() for split in SPLITS
        if counts.examples[split]
    })  # fmt: skip
    height, width = info.image.height, info.image.width
    for shard in {r["shard"] for r in rows}:
        records = tf.data.TFRecordDataset(f"{small_dataset}/{shard}").batch(64)
        in_shard = {
            (rid.decode(), int(i))
            for batch in records.map(lambda s: parse_examples(s, height, width))
            for rid, i in zip(batch["recording_id"].numpy(), batch["snippet_index"].numpy(), strict=True)
        }  # fmt: skip
        assert {
            (r["recording_id"], r["snippet_index"]) for r in rows if r["shard"] == shard
        } == in_shard
    assert all(r["license"].startswith("//creativecommons.org") for r in rows)
    leftovers = [
        p.name for p in Path(small_dataset).iterdir() if p.name.startswith((".", "beam-temp"))
    ]
    assert leftovers == []
