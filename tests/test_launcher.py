"""The launcher's plan, without audio: shard counts, the catalog file, the Dataflow job offline."""

from __future__ import annotations

from pipeline import options as build_options
from pipeline.build import shard_counts
from pipeline.catalog import Recording


def test_shard_counts_follow_the_container_not_an_mp3_bitrate():
    opts, _ = build_options.parse(["--input", "x", "--shard-mb", "10"])
    hour = 3600
    mp3 = [
        Recording(str(i), f"{i}.mp3", f"{i}.mp3", "A", size_bytes=hour * 16_000) for i in range(4)
    ]
    wav = [
        Recording(str(i), f"{i}.WAV", f"{i}.WAV", "A", size_bytes=hour * 96_000) for i in range(4)
    ]
    assert shard_counts(opts, wav) == shard_counts(opts, mp3)
    assert shard_counts(opts, mp3)["train"] > 1
