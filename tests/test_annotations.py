"""Annotated recordings: the four table formats, their windows and labels, bad annotations as
failure lines, and a real build of generated recordings annotated in every format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from demo.corpus import synthesize_song
from pipeline.annotations import AnnotationError, read_annotations
from pipeline.annotations.reading import read_table
from pipeline.annotations.windows import (
    MinOverlap,
    annotated_windows,
    check_lengths,
    drop_duplicates,
)
from schemas import BACKGROUND_LABEL, read_dataset_info
from tests.datasets import failures, read_all

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "annotations"
RATE = 22050
WINDOW = 4 * RATE  # samples of the default 4-second snippet

RAVEN_HEADER = (
    "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)"
)


def _raven(rows: list[tuple], extra: str = "Species", file_column: bool = False) -> str:
    header = RAVEN_HEADER + f"\t{extra}" + ("\tBegin File" if file_column else "")
    lines = [header] + [
        "\t".join([str(i), "Spectrogram 1", "1", *map(str, row)]) for i, row in enumerate(rows, 1)
    ]
    return "\n".join(lines) + "\n"


# --- the formats ------------------------------------------------------------------------------


def test_raven_table_names_its_recording_by_its_own_name_or_begin_file():
    own = read_table("x/rec1.Table.1.selections.txt", _raven([(1.0, 2.0, 500, 4000, "A")]))
    assert own.files == ["rec1"] and own.complete
    (event,) = own.events
    assert (event.file, event.start, event.end, event.labels) == ("rec1", 1.0, 2.0, ("A",))
    assert (event.low_hz, event.high_hz) == (500.0, 4000.0)
    spanning = read_table(
        "t.txt",
        _raven([(1, 2, 0, 0, "A", "d/rec2.wav"), (3, 4, 0, 0, "B", "rec3.wav")], file_column=True),
    )
    assert spanning.files == ["rec2.wav", "rec3.wav"]
    assert [e.file for e in spanning.events] == ["rec2.wav", "rec3.wav"]


def test_raven_label_column_is_the_first_known_one_or_the_chosen_one():
    text = _raven([(1, 2, 0, 0, "CSWA\tsong")], extra="Annotation\ttype")
    assert read_table("a.txt", text).events[0].labels == ("CSWA",)
    assert read_table("a.txt", text, label_column="type").events[0].labels == ("song",)
    with pytest.raises(AnnotationError, match=r"^a.txt: no label column \(--label-column 'kind'\)"):
        read_table("a.txt", text, label_column="kind")


def test_audacity_label_track_with_and_without_frequency_lines():
    text = "0.5\t1.5\tA\n\\\t1000\t5000\n2.0\t3.0\tB\n"
    table = read_table("tracks/rec4.txt", text)
    assert table.files == ["rec4"] and table.complete
    assert [(e.start, e.end, e.labels, e.low_hz, e.high_hz) for e in table.events] == [
        (0.5, 1.5, ("A",), 1000.0, 5000.0),
        (2.0, 3.0, ("B",), 0.0, 0.0),
    ]


def test_csv_with_perch_column_names_and_several_labels():
    text = "fid,start_time_s,end_time_s,ebird_codes\nrec5,1.0,2.5,amero;norcar\n"
    table = read_table("a.csv", text)
    assert table.files == ["rec5"] and not table.complete
    assert table.events[0].labels == ("amero", "norcar")
    banded = read_table("b.csv", "file,start,end,label,high,low\nr.wav,1,2,A,5000,900\n")
    assert (banded.events[0].low_hz, banded.events[0].high_hz) == (900.0, 5000.0)


def test_xeno_canto_annotation_set_and_also_species():
    page = {"recordings": [
        {"id": "1", "gen": "Turdus", "sp": "merula", "en": "Blackbird", "file-name": "XC1.mp3",
         "also": ["Erithacus rubecula"],
         "annotation-set": [{"start_time": "0.5", "end_time": "2", "scientific_name": "Turdus merula",
                             "frequency_low": "1000", "frequency_high": "4000"}]},
        {"id": "2", "gen": "Erithacus", "sp": "rubecula", "en": "Robin", "file-name": "XC2.mp3",
         "annotation-set": []},
    ]}  # fmt: skip
    table = read_table("page1.json", json.dumps(page))
    assert table.files == ["XC1.mp3"] and not table.complete
    assert [(e.start, e.end, e.labels) for e in table.events] == [(0.5, 2.0, ("Blackbird",))]
    secondary = read_table("page1.json", json.dumps(page), secondary_labels=True)
    assert [e.labels for e in secondary.events if e.secondary] == [("Robin",)]


def test_an_unreadable_table_is_one_line_naming_it(tmp_path):
    (tmp_path / "notes.txt").write_text("these are my notes\n")
    with pytest.raises(AnnotationError, match=r"notes.txt: not an annotation table"):
        read_annotations(str(tmp_path / "notes.txt"))
    (tmp_path / "bad.csv").write_text("when,what\n1,2\n")
    with pytest.raises(AnnotationError, match=r"bad.csv: no file or start or end or label column"):
        read_annotations(str(tmp_path / "*.csv"))


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/annotations is not here")
def test_the_shared_examples_read():
    patterns = ("audacity/spinetail.txt", "raven/*selections.txt", "raven/raven_*.txt", "csv/*.csv")
    tables = {Path(t.path).name: t for p in patterns for t in read_annotations(str(SHARED / p))}
    spinetail = tables["spinetail.txt"]
    assert len(spinetail.events) == 18 and {e.labels for e in spinetail.events} == {
        ("SP",),
        ("CRER",),
    }
    assert all(0 < e.low_hz < e.high_hz for e in spinetail.events)
    assert tables["EmptyExample.Table.1.selections.txt"].files == ["EmptyExample"]
    assert not tables["EmptyExample.Table.1.selections.txt"].events
    msd = tables["MSD-0003_20180427_2minstart00.Table.1.selections.txt"]
    assert len(msd.events) == 9 and [r.reason for r in msd.rejected] == ["annotation_unreadable"]
    assert tables["raven_with_Annotation_col.txt"].events[0].labels == ("CSWA",)
    assert [len(t.events) for n, t in sorted(tables.items()) if n.endswith(".csv")] == [6, 5, 5]
    powdermill = tables["powdermill.csv"].events[0]  # its High and Low columns swapped
    assert (powdermill.low_hz, powdermill.high_hz) == (1389.4, 4322.5)


# --- windows and labels -----------------------------------------------------------------------


def _windows(events, seconds, complete=False, min_overlap="0.5"):
    return [
        (w.start / RATE, w.labels)
        for w in annotated_windows(
            events, seconds, RATE, WINDOW, MinOverlap.parse(min_overlap), complete, BACKGROUND_LABEL
        )  # fmt: skip
    ]


def _event(start, end, *labels, file="r"):
    return read_table(
        "t.csv", f"file,start,end,label\n{file},{start},{end},{';'.join(labels)}\n"
    ).events[0]


def test_a_short_event_is_centred_and_a_long_one_spans_two_windows():
    assert _windows([_event(5.0, 6.0, "A")], 20.0) == [(3.5, ("A",))]
    assert _windows([_event(2.0, 8.0, "A")], 20.0) == [(2.0, ("A",)), (4.0, ("A",))]
    assert _windows([_event(0.1, 0.5, "A")], 20.0) == [(0.0, ("A",))]  # kept inside the audio


def test_every_label_overlapping_enough_is_carried():
    events = [_event(5.0, 6.0, "A"), _event(5.5, 7.0, "B"), _event(7.0, 9.0, "C")]
    # A's window (3.5-7.5) holds all of A and B, and 0.5 s of C: under half of C's 2 s.
    assert _windows(events, 20.0)[0] == (3.5, ("A", "B"))
    assert _windows(events, 20.0, min_overlap="0.5s")[0] == (3.5, ("A", "B", "C"))


def test_background_only_in_complete_annotations():
    events = [_event(1.0, 2.0, "A")]
    assert _windows(events, 13.0) == [(0.0, ("A",))]
    assert _windows(events, 13.0, complete=True) == [
        (0.0, ("A",)), (4.0, (BACKGROUND_LABEL,)), (8.0, (BACKGROUND_LABEL,))
    ]  # fmt: skip
    assert _windows([], 9.0, complete=True) == [
        (0.0, (BACKGROUND_LABEL,)),
        (4.0, (BACKGROUND_LABEL,)),
    ]


def test_events_beyond_the_end_and_duplicates_are_refused():
    kept, beyond = check_lengths(
        [_event(1, 2, "A"), _event(9.0, 10.2, "A"), _event(11, 12, "A")], 10.0
    )
    assert [(e.start, e.end) for e in kept] == [(1.0, 2.0), (9.0, 10.0)]
    assert [r.reason for r in beyond] == ["annotation_beyond_end"]
    kept, twins = drop_duplicates([_event(1, 2, "A"), _event(1.2, 2.1, "A"), _event(1.2, 2.1, "B")])
    assert [e.labels for e in kept] == [("A",), ("B",)]
    assert [r.reason for r in twins] == ["annotation_duplicate"]


# --- a real build -----------------------------------------------------------------------------


def _recording(path: Path, seconds: float, events: list[tuple[float, float, int]]) -> None:
    """A wav of faint noise with a song of demo species `index` at each (start, end, index)."""
    rng = np.random.default_rng(len(path.name))
    audio = 0.003 * rng.standard_normal(round(seconds * RATE)).astype(np.float32)
    for start, end, index in events:
        song = synthesize_song(index, rng, RATE, end - start)
        first = round(start * RATE)
        audio[first : first + len(song)] += song[: len(audio) - first]
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.clip(audio, -1, 1), RATE)


@pytest.fixture(scope="module")
def annotated(tmp_path_factory) -> tuple[Path, str]:
    """Eight recordings annotated in all four formats (with bad lines), built in-process."""
    from pipeline.build import run

    root = tmp_path_factory.mktemp("annotated")
    audio, tables = root / "audio", root / "tables"
    tables.mkdir()
    _recording(audio / "rec1.wav", 16.0, [(1.0, 2.0, 0), (1.5, 2.5, 1), (5.0, 11.0, 0)])
    (tables / "rec1.Table.1.selections.txt").write_text(
        _raven(
            [(1.0, 2.0, 900, 5000, "A"), (1.5, 2.5, 900, 6000, "B"), (5.0, 11.0, 800, 4000, "A")]
        )
    )
    for name in ("rec2", "rec3"):
        _recording(audio / f"{name}.wav", 6.0, [(1.0, 3.0, 1)])
    (tables / "both.selections.txt").write_text(_raven(
        [(1.0, 3.0, 0, 0, "B", "rec2.wav"), (1.0, 3.0, 0, 0, "B", "rec3.wav"),
         (30.0, 31.0, 0, 0, "B", "rec3.wav")], file_column=True))  # fmt: skip
    _recording(audio / "rec4.wav", 6.0, [(2.0, 3.0, 2)])
    (tables / "rec4.txt").write_text("2.0\t3.0\tC\n\\\t2000\t7000\n")
    _recording(audio / "rec5.wav", 14.0, [(1.0, 2.0, 0), (1.2, 2.2, 2)])
    (tables / "more.csv").write_text(
        "fid,start_time_s,end_time_s,ebird_codes\n"
        "rec5,1.0,2.0,A\nrec5,1.2,2.2,C\nrec5,1.1,2.0,A\nrec5,6.0,5.0,A\nnosuch,1,2,A\nrec5,3,4,ZZZ\n"
        "rec8,1,2,ZZZ\n"
    )
    _recording(audio / "rec6.wav", 6.0, [(0.5, 1.5, 1)])
    (tables / "page1.json").write_text(json.dumps({"recordings": [
        {"id": "6", "file-name": "rec6.wav", "annotation-set": [{"start": "0.5", "end": "1.5", "label": "B"}]}
    ]}))  # fmt: skip
    _recording(audio / "rec7.wav", 9.0, [])
    (tables / "rec7.Table.1.selections.txt").write_text(_raven([]))
    _recording(audio / "rec8.wav", 5.0, [(1.0, 2.0, 0)])
    (root / "species.txt").write_text("A\nB\nC\n")
    output = str(root / "dataset")
    run(["--input", str(audio), "--annotations", str(tables / "*"), "--output", output,
         "--species", str(root / "species.txt"), "--direct_running_mode", "in_memory",
         "--split", "1,0,0", "--max-failure-fraction", "0.2", "--quiet"])  # fmt: skip
    return root, output


def _index(output: str) -> dict[str, list[tuple[float, str, float, float]]]:
    """{file: its windows' (start, label names ";"-joined, low_hz, high_hz)} of the index."""
    import pyarrow.parquet as pq

    names = Path(output, "labels.txt").read_text().split("\n")[:-1]
    rows: list[dict] = []
    for path in sorted(Path(output).glob("index-*.parquet")):
        rows += pq.read_table(path).to_pylist()
    by_file: dict[str, list] = {}
    for row in sorted(rows, key=lambda r: (r["source_file"], r["start_seconds"])):
        by_file.setdefault(row["source_file"], []).append(
            (
                round(row["start_seconds"], 2),
                ";".join(names[i] for i in row["labels"]),
                row["low_hz"],
                row["high_hz"],
            )  # fmt: skip
        )
    return by_file


def test_windows_labels_and_times_of_every_format(annotated):
    _, output = annotated
    index = _index(output)
    assert index["rec1.wav"] == [  # Raven: A and B together, A over two windows, background
        (0.0, "A;B", 900.0, 6000.0), (5.0, "A", 800.0, 4000.0), (7.0, "A", 800.0, 4000.0),
        (12.0, BACKGROUND_LABEL, 0.0, 0.0),
    ]  # fmt: skip
    assert index["rec2.wav"] == [(0.0, "B", 0.0, 0.0)]  # its one background window holds B
    assert index["rec3.wav"] == index["rec2.wav"]  # one table, Begin File for each
    assert index["rec4.wav"] == [(0.5, "C", 2000.0, 7000.0)]  # Audacity
    assert index["rec5.wav"] == [(0.0, "A;C", 0.0, 0.0)]  # a CSV is incomplete: no background
    assert index["rec6.wav"] == [(0.0, "B", 0.0, 0.0)]  # xeno-canto
    assert index["rec7.wav"] == [
        (0.0, BACKGROUND_LABEL, 0.0, 0.0),
        (4.0, BACKGROUND_LABEL, 0.0, 0.0),
    ]
    assert "rec8.wav" not in index


def test_every_bad_annotation_is_a_failure_line(annotated):
    _, output = annotated
    found = sorted((f["reason"], f["file"]) for f in failures(output))
    assert found == [
        ("annotation_beyond_end", "rec3.wav"),
        ("annotation_duplicate", "rec5.wav"),
        ("annotation_end_before_start", "rec5.wav"),
        ("annotation_unknown_file", "nosuch"),
        ("annotation_unknown_label", "rec5.wav"),
        ("annotation_unknown_label", "rec8.wav"),
        ("not_annotated", "rec8.wav"),  # its one annotation refused: no event left
    ]
    info = read_dataset_info(output)
    assert info.counts.failed_files == 1 and info.counts.input_files == 8
    assert info.counts.events["train"] == 9
    per_label = {label: c["train"] for label, c in info.counts.windows_per_label.items()}
    assert per_label == {"A": 4, "B": 4, "C": 2, BACKGROUND_LABEL: 3}


def test_multi_hot_records_parse_back_through_schemas(annotated):
    _, output = annotated
    labels = Path(output, "labels.txt").read_text().split("\n")[:-1]
    assert labels == ["B", "A", "C", BACKGROUND_LABEL]  # most recordings first
    import tensorflow as tf

    from schemas import parse_examples, shard_pattern

    info = read_dataset_info(output)
    files = tf.io.gfile.glob(shard_pattern(output, "train"))
    batch = next(iter(tf.data.TFRecordDataset(files).batch(100).map(
        lambda s: parse_examples(s, info.image.height, info.image.width, len(labels)))))  # fmt: skip
    hot = {(f.decode(), round(float(t), 2)): tuple(np.flatnonzero(h)) for f, t, h in zip(
        batch["source_file"].numpy(), batch["start_seconds"].numpy(), batch["labels"].numpy(),
        strict=True)}  # fmt: skip
    assert hot[("rec1.wav", 0.0)] == (0, 1) and hot[("rec5.wav", 0.0)] == (1, 2)
    assert hot[("rec7.wav", 4.0)] == (3,)
    assert len(read_all(output)["train"]) == len(hot) == 11


def test_records_and_dataset_json_of_format_1_still_read(annotated, tmp_path):
    import shutil

    import tensorflow as tf

    from schemas import FIELDS, parse_examples

    _, output = annotated
    values = json.loads(Path(output, "dataset.json").read_text())
    Path(tmp_path, "dataset.json").write_text(json.dumps({**values, "format_version": 1}))
    shutil.copy(Path(output, "labels.txt"), tmp_path)
    assert read_dataset_info(str(tmp_path)).format_version == 1
    old = {"spectrogram": b"\0" * 6, "height": 2, "width": 3, "label": 2, "species": "C",
           "recording_id": "r", "snippet_index": 0, "start_seconds": 0.0, "source_file": "r.wav"}  # fmt: skip
    feature = {}
    for key, value in old.items():
        kind = {field.name: field.dtype for field in FIELDS}[key]
        if kind == "string":
            data = value if isinstance(value, bytes) else value.encode()
            feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[data]))
        elif kind == "int64":
            feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
        else:
            feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
    record = tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
    parsed = parse_examples(tf.constant([record]), 2, 3, num_labels=4)
    np.testing.assert_array_equal(parsed["labels"].numpy(), [[0, 0, 1, 0]])  # its one label
    np.testing.assert_array_equal(parsed["masked_labels"].numpy(), [[0, 0, 0, 0]])  # none


# --- splits that keep groups together (assign_group_splits itself: test_split.py) -------------


def test_group_by_a_metadata_column_on_two_workers_with_annotations(small_corpus, tmp_path):
    """Grouped by a metadata column, on two workers; one recording of the metadata layout is
    annotated too (its windows are its events'), the others keep their loudest windows."""
    import csv

    from pipeline.build import run
    from pipeline.split import assign_group_splits
    from tests.conftest import build_args
    from tests.datasets import split_of_recordings

    with open(Path(small_corpus, "metadata.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["site"] = f"site{int(row['id']) % 4}"
    metadata = tmp_path / "metadata.csv"
    with open(metadata, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    first = next(r for r in rows if r["type"] == "song")
    (tmp_path / "notes.csv").write_text(
        f"file,start,end,label\n{first['file-name']},1.0,2.0,{first['en']}\n"
        f"{first['file-name']},2.0,3.0,Unknown Bird\n"
    )
    args = build_args(small_corpus, str(tmp_path / "ds"), "--group-by", "site", "--quiet",
                      "--annotations", str(tmp_path / "notes.csv"))  # fmt: skip
    args[args.index("--metadata") + 1] = str(metadata)
    args[args.index("in_memory")] = "multi_processing"
    info = run([*args, "--direct_num_workers", "2", "--max-snippets", "1"])
    assert "site" in info.split.rule
    assignment = split_of_recordings(str(tmp_path / "ds"))
    site = {r["id"]: r["site"] for r in rows}
    of_site: dict[str, set[str]] = {}
    for recording_id, split in assignment.items():
        of_site.setdefault(site[recording_id], set()).add(split)
    assert all(len(splits) == 1 for splits in of_site.values()) and len(of_site) == 4
    songs = [(r["id"], r["en"], f"site:{r['site']}") for r in rows if r["id"] in assignment]
    expected = assign_group_splits(songs, info.split.fractions, info.split.seed)
    assert assignment == expected  # as the launcher computes it, whatever the workers
    index = _index(str(tmp_path / "ds"))
    assert index[first["file-name"]] == [(0.0, first["en"], 0.0, 0.0)]
    assert all(len(rows) == 1 for rows in index.values()) and len(index) == len(assignment)
    assert [(f["reason"], f["file"]) for f in failures(str(tmp_path / "ds"))
            if f["reason"].startswith("annotation")] == [("annotation_unknown_label", first["file-name"])]  # fmt: skip


# --- several labels in the trainer ------------------------------------------------------------


@pytest.fixture(scope="module")
def multi_label_job(annotated, tmp_path_factory) -> tuple[str, str]:
    """The annotated recordings built with a validation split, rec2 and rec6 with xeno-canto
    `also` species (A; C and an unknown one) masked by --secondary-labels exclude-as-negative,
    and a multi-label model trained on them for a few steps (the mode chosen by itself: the
    dataset has annotated windows)."""
    import shutil

    from pipeline.build import run
    from trainer import task

    root, _ = annotated
    tables = tmp_path_factory.mktemp("secondary-tables")
    for table in (root / "tables").iterdir():
        shutil.copy(table, tables)
    (tables / "also.json").write_text(json.dumps({"recordings": [
        {"id": "6", "file-name": "rec6.wav", "also": ["A", "B"]},  # B: rec6's own label
        {"id": "2", "file-name": "rec2.wav", "also": ["C", "Unknown bird"]},
    ]}))  # fmt: skip
    data = str(tmp_path_factory.mktemp("split-dataset"))
    run(["--input", str(root / "audio"), "--annotations", str(tables / "*"),
         "--output", data, "--species", str(root / "species.txt"), "--split", "0.6,0.4,0",
         "--secondary-labels", "exclude-as-negative",
         "--direct_running_mode", "in_memory", "--max-failure-fraction", "0.3", "--quiet"])  # fmt: skip
    job = str(tmp_path_factory.mktemp("multi-label-job"))
    status = task.main([
        "--data-dir", data, "--job-dir", job, "--architecture", "compact", "--image-size", "75",
        "--weights", "none", "--head-epochs", "0", "--base-epochs", "1", "--steps-per-epoch", "2",
        "--batch-size", "4", "--seed", "0",
    ])  # fmt: skip
    assert status == 0
    return data, job


def test_secondary_species_excluded_as_negative_are_masked_labels(multi_label_job):
    """The `also` species are masked labels, not labels, of their recordings' windows (its own
    label never masked, an unknown one a failure line), in the index and through tf.data."""
    import pyarrow.parquet as pq

    from trainer import inputs
    from trainer.multilabel import targets as masked_targets

    data, _ = multi_label_job
    info, labels = inputs.read_info_and_labels(data)
    assert info.format_version == 5 and labels == ["B", "A", "C", BACKGROUND_LABEL]
    options = json.loads(Path(data, "dataset.json").read_text())["snippets"]["annotations"]
    assert options["secondary_labels"] == "exclude-as-negative"
    rows = [r for p in Path(data).glob("index-*.parquet") for r in pq.read_table(p).to_pylist()]
    masked = {(r["source_file"], round(r["start_seconds"], 2)): (r["labels"], r["masked_labels"])
              for r in rows if r["masked_labels"]}  # fmt: skip
    assert masked == {("rec6.wav", 0.0): ([0], [1]), ("rec2.wav", 0.0): ([0], [2])}
    refused = {(f["reason"], f["file"]) for f in failures(data)}
    assert ("annotation_unknown_label", "rec2.wav") in refused  # "Unknown bird"
    targets = {}
    for split in ("train", "validation"):
        for batch in inputs.eval_dataset(data, split, info, labels, 4):
            truth = masked_targets(batch["labels"], batch["masked_labels"])
            keys = zip(batch["source_file"].numpy(), batch["start_seconds"].numpy(), strict=True)
            for (file, start), row in zip(keys, truth.numpy(), strict=True):
                targets[(file.decode(), round(float(start), 2))] = row.tolist()
    assert targets[("rec6.wav", 0.0)] == [1, -1, 0, 0]
    assert targets[("rec2.wav", 0.0)] == [1, 0, -1, 0]
    assert sum(-1 in row for row in targets.values()) == 2


def test_a_multi_label_model_trains_and_exports_its_thresholds(multi_label_job):
    import keras

    from trainer.evaluation import evaluate
    from trainer.multilabel import THRESHOLDS_FILE, read_thresholds

    data, job = multi_label_job
    export = Path(job, "export")
    labels = Path(data, "labels.txt").read_text().split("\n")[:-1]
    model = keras.saving.load_model(export / "model.keras")
    assert model.layers[-1].get_config()["activation"] == "sigmoid"
    thresholds = json.loads((export / THRESHOLDS_FILE).read_text())
    assert list(thresholds) == labels and all(0 <= t <= 1 for t in thresholds.values())
    chosen = read_thresholds(str(export), labels)
    metrics = evaluate(model, data, "validation", job, batch_size=4, thresholds=chosen)
    assert metrics["multi_label"] and 0 <= metrics["macro_average_precision"] <= 1
    assert {"average_precision", "roc_auc", "f1", "threshold"} <= set(metrics["per_species"]["B"])
    history = Path(job, "history.csv").read_text().splitlines()
    assert "val_mean_ap" in history[0] and len(history) == 2


def test_predict_writes_every_species_above_its_threshold(multi_label_job, annotated, tmp_path):
    import csv

    from trainer.predict import main
    from trainer.prediction.classifier import Classifier
    from trainer.prediction.reading import predict_files

    data, job = multi_label_job
    root, _ = annotated
    recording = str(root / "audio" / "rec1.wav")
    output = tmp_path / "detections.csv"
    assert main(["--model", job, recording, "--timeline", "--quiet", "--output", str(output)]) == 0
    with open(output, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    classifier = Classifier(job, batch_size=8)
    (item,) = predict_files([recording], classifier, overlap=0.5, workers=1, decoder="auto")
    expected = []
    for start, scores in zip(item.starts, item.probabilities, strict=True):
        above = [(-s, classifier.labels[i]) for i, s in enumerate(scores[:-1])
                 if s >= classifier.thresholds[i]]  # fmt: skip
        bird = scores[-1] < classifier.thresholds[-1]
        found = [name for _, name in sorted(above)] if bird and above else [None]
        expected += [(round(start / RATE, 3), name) for name in found]
    written = [(float(r["start_s"]), r["species_1"] or None) for r in rows if r["kind"] != "file"]
    assert written == expected and len(set(written)) == len(written)


def test_the_masked_loss_is_binary_cross_entropy_of_the_unmasked_entries():
    import keras

    from trainer.losses import MaskedAUC, MaskedBinaryCrossentropy
    from trainer.multilabel import best_thresholds, multi_label_metrics

    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, (5, 4)).astype(np.float32)
    y_pred = rng.uniform(0.05, 0.95, (5, 4)).astype(np.float32)
    for smoothing in (0.0, 0.1):  # nothing masked: Keras' own binary cross-entropy
        plain = keras.losses.BinaryCrossentropy(label_smoothing=smoothing)(y_true, y_pred)
        masked = MaskedBinaryCrossentropy(label_smoothing=smoothing)(y_true, y_pred)
        np.testing.assert_allclose(float(masked), float(plain), rtol=1e-6)
    # row 1: (-ln 0.8 - ln 0.6) / 2, the masked 0.9 skipped; row 2: ln 2; their mean
    y_true = np.array([[1, 0, -1], [0, 1, 1]], np.float32)
    y_pred = np.array([[0.8, 0.4, 0.9], [0.5, 0.5, 0.5]], np.float32)
    expected = ((-np.log(0.8) - np.log(0.6)) / 2 + np.log(2)) / 2
    np.testing.assert_allclose(float(MaskedBinaryCrossentropy()(y_true, y_pred)), expected, 1e-5)
    config = MaskedBinaryCrossentropy(label_smoothing=0.1).get_config()
    assert keras.losses.deserialize(keras.losses.serialize(
        MaskedBinaryCrossentropy(**config))).label_smoothing == 0.1  # fmt: skip
    # metrics and thresholds: a masked entry is no negative (a high score there costs nothing)
    y_true = np.array([[1, 0], [0, -1], [0, 1]], np.float32)
    y_pred = np.array([[0.9, 0.2], [0.1, 0.95], [0.2, 0.6]], np.float32)
    auc = MaskedAUC(curve="PR", multi_label=True)
    auc.update_state(y_true, y_pred)
    assert float(auc.result()) > 0.99
    np.testing.assert_allclose(best_thresholds(y_true, y_pred), [0.55, 0.4])
    metrics = multi_label_metrics(
        y_true, y_pred, ["r1", "r2", "r3"], ["X", "Y"], np.array([0.5, 0.5])
    )
    assert metrics["per_species"]["Y"]["average_precision"] == 1.0
    assert metrics["per_species"]["Y"]["precision"] == 1.0  # unmasked, 0.95 would make it 0.5
