"""Tests for the synthetic demo corpus generator."""

import csv
import json
import os
import subprocess

import numpy as np
import pytest

from demo import corpus as demo_corpus
from demo.corpus import SPECIES, generate_corpus, synthesize_song

SMALL = {"species": 3, "recordings_per_species": 4, "min_seconds": 5.0, "max_seconds": 8.0}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return generate_corpus(tmp_path_factory.mktemp("corpus"), seed=0, **SMALL)


def read_rows(out_dir):
    with open(out_dir / "metadata.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def file_bytes(out_dir):
    return {
        path.relative_to(out_dir): path.read_bytes()
        for path in sorted(out_dir.rglob("*"))
        if path.is_file() and path.name != ".lock"
    }


def probe(path):
    """(sample rate, channels, duration in seconds) of an mp3, as ffprobe reads it."""
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=sample_rate,channels:format=duration",
            "-of",
            "csv=p=0",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    rate, channels = out[0].split(",")
    return int(rate), int(channels), float(out[1])


def test_same_seed_is_byte_identical(corpus, tmp_path):
    again = generate_corpus(tmp_path, seed=0, **SMALL)
    assert file_bytes(again) == file_bytes(corpus)


def test_different_seed_differs(tmp_path):
    tiny = {"species": 2, "recordings_per_species": 1, "min_seconds": 2.0, "max_seconds": 3.0}
    first = generate_corpus(tmp_path / "a", seed=0, **tiny)
    second = generate_corpus(tmp_path / "b", seed=1, **tiny)
    assert [r["id"] for r in read_rows(first)] != [r["id"] for r in read_rows(second)]
    audio = {p.read_bytes() for p in (first / "audio").iterdir()}
    assert audio.isdisjoint(p.read_bytes() for p in (second / "audio").iterdir())


def test_metadata_has_xeno_canto_columns_and_a_row_per_mp3(corpus):
    with open(corpus / "metadata.csv", encoding="utf-8") as handle:
        assert handle.readline().strip() == "id,gen,sp,en,type,q,lic,file-name"
    rows = read_rows(corpus)
    assert len(rows) == 3 * (4 + 1)
    assert sorted(r["file-name"] for r in rows) == sorted(os.listdir(corpus / "audio"))
    assert len({int(r["id"]) for r in rows}) == len(rows)
    assert {r["en"] for r in rows} == set(SPECIES[:3])
    assert "Finch's Warbler" in {r["en"] for r in rows}
    assert {r["q"] for r in rows} <= set("ABCDE")
    assert all(r["lic"].startswith("//creativecommons.org/licenses/") for r in rows)
    assert all(r["gen"].istitle() and r["sp"].islower() for r in rows)


def test_calls_are_typed_call_and_songs_contain_song(corpus):
    rows = read_rows(corpus)
    calls = [r for r in rows if r["type"] == "call"]
    assert sorted(r["en"] for r in calls) == sorted(SPECIES[:3])
    assert all("song" in r["type"] for r in rows if r not in calls)


def test_mp3s_decode_with_the_assigned_encoding(corpus):
    for index, row in enumerate(read_rows(corpus)):
        path = corpus / "audio" / row["file-name"]
        expected = demo_corpus.encoding_for(index)
        rate, channels, seconds = probe(path)
        assert (rate, channels) == (expected.sample_rate, expected.channels)
        assert 5.0 <= seconds <= 8.2
        header = path.read_bytes()[:4096]
        assert (b"Xing" if expected.vbr else b"Info") in header
        decoded = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-"],
            capture_output=True,
            check=True,
        ).stdout
        assert len(decoded) >= 2 * channels * rate * 5


def test_encoding_assignment_holds_every_mix():
    mixes = {demo_corpus.encoding_for(i) for i in range(12)}
    assert len(mixes) == 12
    assert {m.sample_rate for m in mixes} == {44100, 48000, 32000}


def test_complete_corpus_is_reused_without_rewriting(corpus):
    before = {p: p.stat().st_mtime_ns for p in corpus.rglob("*") if p.is_file()}
    assert generate_corpus(corpus, seed=0, **SMALL) == corpus
    assert {p: p.stat().st_mtime_ns for p in corpus.rglob("*") if p.is_file()} == before


def test_incomplete_or_different_corpus_is_regenerated(tmp_path):
    args = {"species": 1, "recordings_per_species": 2, "min_seconds": 2.0, "max_seconds": 3.0}
    generate_corpus(tmp_path, seed=0, **args)
    first = read_rows(tmp_path)
    (tmp_path / "audio" / first[0]["file-name"]).unlink()
    generate_corpus(tmp_path, seed=0, **args)
    assert (tmp_path / "audio" / first[0]["file-name"]).is_file()

    generate_corpus(tmp_path, seed=5, **args)
    names = sorted(r["file-name"] for r in read_rows(tmp_path))
    assert names == sorted(os.listdir(tmp_path / "audio"))
    assert json.loads((tmp_path / "manifest.json").read_text())["seed"] == 5


@pytest.mark.parametrize("species_index", range(len(SPECIES)))
def test_songs_are_bouts_over_quiet_background_below_10_khz(species_index):
    sample_rate = 32000
    audio = synthesize_song(species_index, np.random.default_rng(species_index), sample_rate, 12.0)
    assert audio.dtype == np.float32 and audio.shape == (12 * sample_rate,)
    assert np.abs(audio).max() <= 1.0
    power = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(audio.size, 1 / sample_rate)
    assert power[freqs > 10000].sum() < 0.01 * power.sum()
    frames = (audio[: audio.size // 1600 * 1600].reshape(-1, 1600) ** 2).mean(axis=1)
    assert frames.max() > 30 * np.median(frames)  # loud bouts, quiet gaps between them


def test_same_rng_seed_gives_the_same_song():
    first = synthesize_song(2, np.random.default_rng(7), 22050, 6.0)
    second = synthesize_song(2, np.random.default_rng(7), 22050, 6.0)
    np.testing.assert_array_equal(first, second)


def test_default_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert demo_corpus.default_cache_dir() == tmp_path / "birdsong-datasets" / "demo-corpus-v1"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert demo_corpus.default_cache_dir() == tmp_path / ".cache/birdsong-datasets/demo-corpus-v1"


@pytest.mark.parametrize(
    "bad",
    [
        {"species": 0},
        {"species": len(SPECIES) + 1},
        {"min_seconds": 9.0, "max_seconds": 5.0},
        {"seed": -1},
    ],
)
def test_bad_arguments_are_rejected(tmp_path, bad):
    with pytest.raises(ValueError):
        generate_corpus(tmp_path, **bad)


def test_command_line_writes_a_corpus(tmp_path, capsys):
    demo_corpus.main(
        [
            str(tmp_path),
            "--seed",
            "3",
            "--species",
            "1",
            "--recordings-per-species",
            "1",
            "--calls-per-species",
            "0",
            "--min-seconds",
            "2",
            "--max-seconds",
            "2",
        ]
    )
    assert "1 recordings" in capsys.readouterr().out
    assert len(read_rows(tmp_path)) == 1
