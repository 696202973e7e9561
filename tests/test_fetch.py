"""pipeline.fetch against a local stand-in of xeno-canto's API v3 (tests/xeno_canto_server.py),
with faults injected: retries, resumption, accounting of every recording, the key kept secret,
and the fetched folder built by pipeline.build and trained on by trainer.task."""

from __future__ import annotations

import collections
import csv
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline import cli, fetch
from pipeline.fetching.api import listed
from pipeline.fetching.selection import Filters, select
from tests.conftest import build_args, ctrl_c_as_in_a_terminal
from tests.xeno_canto_server import LICENSE_URL, StandIn, corpus_recordings

KEY = "xc-test-key-5f9c2e81"
QUERY = 'grp:birds cnt:"Puerto Rico" type:song'
ND, RESTRICTED, SHARED_NAME = 2, 3, (4, 5)  # records of the listing changed by the fixture


@pytest.fixture(scope="module")
def listing(small_corpus) -> tuple[list[dict], dict[str, bytes]]:
    """The small corpus as API records: one under an ND licence, one restricted (no file), two
    sharing one file name."""
    records, audio = corpus_recordings(Path(small_corpus))
    for number, record in enumerate(records):
        record["lic"] = LICENSE_URL.format(
            "by-nc-nd" if number == ND else ("by", "by-nc-sa")[number % 2]
        )
    records[RESTRICTED].update({"file": "", "file-name": ""})
    records[SHARED_NAME[1]]["file-name"] = records[SHARED_NAME[0]]["file-name"]
    return records, audio


def flags(stand_in: StandIn, output: Path, *extra: str) -> list[str]:
    """A quick fetch: 5 records a page, short retry waits, the key on the command line."""
    return [QUERY, "--key", KEY, "--output", str(output), "--api-url", stand_in.api_url,
            "--per-page", "5", "--api-rate", "10", "--retry-wait", "0.05", "--retries", "2",
            *extra]  # fmt: skip


def ids(records: list[dict], *indexes: int) -> list[str]:
    return [records[i]["id"] for i in indexes]


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_no_partial_file_under_a_final_name(output: Path, audio: dict[str, bytes]) -> None:
    for row in read_csv(output / "metadata.csv") if (output / "metadata.csv").exists() else []:
        assert (output / "audio" / row["file-name"]).read_bytes() == audio[row["id"]]
    served = set(audio.values())
    for path in (output / "audio").iterdir():
        assert path.suffix == ".part" or path.read_bytes() in served, path


@pytest.fixture(scope="module")
def fetched(listing, tmp_path_factory):
    """One fetch through faults: a 503 on page 1, a 429 with Retry-After on page 2 and on one
    file, a connection dropped mid-file on two (one of them then a 503)."""
    records, audio = listing
    output = tmp_path_factory.mktemp("fetched")
    with StandIn(records, audio, KEY) as stand_in:
        a, b, c = ids(records, 0, 1, 6)
        stand_in.faults = {"page:1": ["503"], "page:2": ["429"], f"audio:{a}": ["429"],
                           f"audio:{b}": ["drop"], f"audio:{c}": ["drop", "503"]}  # fmt: skip
        status = fetch.main(flags(stand_in, output))
    return {"status": status, "output": output, "stand_in": stand_in, "records": records,
            "audio": audio, "faulty": (a, b, c)}  # fmt: skip


def test_the_fetch_succeeds_through_retried_faults(fetched):
    assert fetched["status"] == cli.DONE
    requested = fetched["stand_in"].requested
    assert requested("page") == ["1", "1", "2", "2", "3", "4"]
    a, b, c = fetched["faulty"]
    assert requested("audio").count(a) == 2 and requested("audio").count(b) == 2
    assert requested("audio").count(c) == 3


def test_a_429_waits_as_long_as_retry_after_says(fetched):
    a = fetched["faulty"][0]
    times = [t for kind, what, _, t in fetched["stand_in"].requests if what == a]
    assert times[1] - times[0] >= 0.95  # Retry-After: 1, against a --retry-wait of 0.05


def test_api_requests_keep_the_polite_rate(fetched):
    times = [t for kind, _, _, t in fetched["stand_in"].requests if kind == "page"]
    # --api-rate 10: on average 0.1 s apart, and never a burst (arrival times jitter under load)
    assert (times[-1] - times[0]) / (len(times) - 1) >= 0.095
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.05


def test_the_query_goes_as_written(fetched):
    assert set(fetched["stand_in"].queries) == {QUERY}


def test_every_kept_recording_is_downloaded_whole_under_its_xeno_canto_name(fetched):
    output, records = fetched["output"], fetched["records"]
    rows = read_csv(output / "metadata.csv")
    left_out = set(ids(records, ND, RESTRICTED))
    assert [r["id"] for r in rows] == [r["id"] for r in records if r["id"] not in left_out]
    names = {r["id"]: r["file-name"] for r in rows}
    shared = records[SHARED_NAME[0]]["file-name"]
    told_apart = ids(records, *SHARED_NAME)
    assert [names[i] for i in told_apart] == [f"XC{i}-{shared}" for i in told_apart]
    assert all(names[r["id"]] == r["file-name"] for r in records
               if r["id"] in names and r["id"] not in told_apart)  # fmt: skip
    assert_no_partial_file_under_a_final_name(output, fetched["audio"])
    assert not list((output / "audio").glob("*.part"))
    assert sorted(p.name for p in (output / "audio").iterdir()) == sorted(names.values())


def test_pages_are_kept_as_they_came(fetched):
    pages = sorted((fetched["output"] / "pages").iterdir())
    assert [p.name for p in pages] == [f"page-000{n}.json" for n in range(1, 5)]
    first = json.loads(pages[0].read_text())
    assert first["numRecordings"] == str(len(fetched["records"])) and first["numPages"] == 4
    assert first == fetched["stand_in"].page(1, 5)
    assert {"grp", "lon", "file", "file-name", "lic", "q", "length", "also",
            "annotation-set"} <= set(first["recordings"][0])  # fmt: skip


def test_metadata_keeps_every_field_with_annotations_and_background_species(fetched):
    rows = {r["id"]: r for r in read_csv(fetched["output"] / "metadata.csv")}
    record = fetched["records"][0]
    row = rows[record["id"]]
    assert list(row)[:10] == [
        "id",
        "gen",
        "sp",
        "en",
        "type",
        "q",
        "lic",
        "rec",
        "url",
        "file-name",
    ]
    assert json.loads(row["also"]) == record["also"] == ["Coereba flaveola"]
    assert json.loads(row["annotation-set"]) == record["annotation-set"]
    assert row["length"] == record["length"] and row["lon"] == record["lon"]


def test_attribution_and_licences_name_every_downloaded_recording(fetched):
    output = fetched["output"]
    attribution = read_csv(output / "ATTRIBUTION.csv")
    rows = read_csv(output / "metadata.csv")
    assert [(a["recording_id"], a["recordist"], a["license"], a["url"], a["source_file"])
            for a in attribution] == [(r["id"], r["rec"], r["lic"], r["url"], r["file-name"])
                                      for r in rows]  # fmt: skip
    licences = (output / "LICENSES.md").read_text()
    assert "by-nc-nd: 1 recordings" in licences and "no derivatives" in licences


def test_every_listed_recording_is_accounted_for(fetched):
    output, records = fetched["output"], fetched["records"]
    downloaded = {r["id"] for r in read_csv(output / "metadata.csv")}
    failures = {line["id"]: line["reason"] for line in read_lines(output / "fetch-failures.jsonl")}
    assert failures == dict(
        zip(ids(records, ND, RESTRICTED), ["filtered_license", "restricted"], strict=True)
    )
    assert downloaded | set(failures) == {r["id"] for r in records}
    assert not downloaded & set(failures)
    state = json.loads((output / "fetch.json").read_text())
    assert (state["listed"], state["downloaded"], state["left_out"]) == (
        len(records),
        len(downloaded),
        2,
    )


def test_the_key_is_in_no_file_written(fetched):
    for path in fetched["output"].rglob("*"):
        assert path.is_dir() or KEY.encode() not in path.read_bytes(), path


def test_the_fetched_folder_builds_with_the_metadata_or_the_pages(fetched):
    from pipeline.catalog import Selections, build_catalog

    output = fetched["output"]
    catalog = build_catalog(
        str(output / "audio"), "csv", str(output / "metadata.csv"), Selections((), 1, 0)
    )
    rows = read_csv(output / "metadata.csv")
    assert [(r.recording_id, r.license, r.quality, r.recordist) for r in catalog.recordings] == [
        (r["id"], r["lic"], r["q"], r["rec"]) for r in rows]  # fmt: skip
    assert catalog.failures == []
    pages = build_catalog(
        str(output / "audio"), "csv", str(output / "pages/*.json"), Selections((), 1, 0)
    )
    told_apart = set(ids(fetched["records"], *SHARED_NAME))  # the pages name their shared file
    assert {r.recording_id for r in pages.recordings} == {r["id"] for r in rows} - told_apart
    assert all(Path(r.path).name == Path(r.source_file).name for r in pages.recordings)


def test_a_short_file_and_a_404_fail_with_their_reasons_then_a_rerun_fetches_only_them(
    listing, tmp_path, capsys
):
    records, audio = listing
    short, gone = ids(records, 0, 1)
    with StandIn(records, audio, KEY) as stand_in:
        stand_in.faults = {f"audio:{short}": ["short"], f"audio:{gone}": ["404"]}
        assert fetch.main(flags(stand_in, tmp_path, "--quiet")) == cli.FAILED
        err = capsys.readouterr().err
        assert err == (f"error: 2 of {len(records) - 2} downloads failed (reasons in "
                       f"{tmp_path}/fetch-failures.jsonl); run the same command again to retry them\n")  # fmt: skip
        lines = {line["id"]: line for line in read_lines(tmp_path / "fetch-failures.jsonl")}
        assert lines[short]["reason"] == "size_mismatch"
        assert lines[short]["detail"] == (f"received {len(audio[short]) - 1000:,} of "
                                          f"{len(audio[short]):,} bytes (after 3 attempts)")  # fmt: skip
        assert (
            lines[gone]["reason"] == "http_error" and lines[gone]["detail"] == "HTTP 404 Not Found"
        )
        assert not {short, gone} & {r["id"] for r in read_csv(tmp_path / "metadata.csv")}
        assert_no_partial_file_under_a_final_name(tmp_path, audio)
        assert (tmp_path / "audio" / f"{records[0]['file-name']}.part").stat().st_size == len(
            audio[short]
        ) - 1000

        stand_in.faults, stand_in.requests[:] = {}, []
        assert fetch.main(flags(stand_in, tmp_path, "--quiet")) == cli.DONE
        assert sorted(stand_in.requested("audio")) == sorted([short, gone])
        resumed = [r for kind, what, r, _ in stand_in.requests if what == short]
        assert resumed == [f"bytes={len(audio[short]) - 1000}-"]
    assert_no_partial_file_under_a_final_name(tmp_path, audio)
    assert len(read_csv(tmp_path / "metadata.csv")) == len(records) - 2
    assert [line["reason"] for line in read_lines(tmp_path / "fetch-failures.jsonl")] == [
        "filtered_license", "restricted"]  # fmt: skip


def test_ctrl_c_leaves_no_partial_file_and_a_rerun_downloads_only_what_was_missing(
    listing, tmp_path
):
    records, audio = listing
    with StandIn(records, audio, KEY, bytes_per_second=150_000) as stand_in:
        command = [
            sys.executable,
            "-m",
            "pipeline.fetch",
            *flags(stand_in, tmp_path, "--jobs", "2"),
        ]
        command.remove("--key")  # and the key: it comes from the environment instead
        command.remove(KEY)
        fetching = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "XC_API_KEY": KEY}, start_new_session=True,
            preexec_fn=ctrl_c_as_in_a_terminal,
        )  # fmt: skip
        audio_dir = tmp_path / "audio"
        deadline = time.monotonic() + 60
        while not (
            audio_dir.is_dir()
            and any(p.suffix != ".part" for p in audio_dir.iterdir())
            and any(p.suffix == ".part" and p.stat().st_size for p in audio_dir.iterdir())
        ):
            assert fetching.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        os.killpg(fetching.pid, signal.SIGINT)  # as Ctrl-C in a terminal
        _, err = fetching.communicate(timeout=60)
        assert fetching.returncode == cli.INTERRUPTED
        assert err == f"interrupted: {fetch.INTERRUPTED}\n"
        assert_no_partial_file_under_a_final_name(tmp_path, audio)
        complete = {p.name for p in audio_dir.iterdir() if p.suffix != ".part"}
        partial = {p.name.removesuffix(".part"): p.stat().st_size for p in audio_dir.glob("*.part")}
        assert complete and partial

        stand_in.bytes_per_second, stand_in.requests[:] = None, []
        assert fetch.main(flags(stand_in, tmp_path, "--quiet")) == cli.DONE
    by_name = {r["file-name"]: r["id"] for r in read_csv(tmp_path / "metadata.csv")}
    requested = stand_in.requested("audio")
    assert sorted(requested) == sorted(i for name, i in by_name.items() if name not in complete)
    ranges = {what: r for kind, what, r, _ in stand_in.requests if kind == "audio"}
    assert all(ranges[by_name[name]] == f"bytes={size}-" for name, size in partial.items() if size)
    assert_no_partial_file_under_a_final_name(tmp_path, audio)
    assert not list(audio_dir.glob("*.part"))


def test_a_bad_key_is_one_line_naming_where_to_get_one(listing, tmp_path, capsys):
    with StandIn(*listing, key="another-key") as stand_in:
        assert fetch.main(flags(stand_in, tmp_path)) == cli.FAILED
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith(f"error: {stand_in.api_url}?query=")
    assert "key=***" in err and "HTTP 401" in err and "missing or invalid" in err
    assert "https://xeno-canto.org/account" in err and KEY not in out + err


def test_a_page_that_is_not_json_is_one_line_naming_it(listing, tmp_path, capsys):
    with StandIn(*listing, key=KEY) as stand_in:
        stand_in.faults = {"page:2": ["not-json"]}
        assert fetch.main(flags(stand_in, tmp_path, "--quiet")) == cli.FAILED
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "page=2" in err and "key=***" in err and KEY not in err
    assert "the answer is not JSON" in err and "<html>" in err


def test_no_key_is_a_usage_error_naming_where_to_get_one(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("XC_API_KEY", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        fetch.main([QUERY, "--output", str(tmp_path)])
    assert exit_info.value.code == cli.USAGE
    assert "XC_API_KEY" in capsys.readouterr().err


def test_another_query_into_the_same_folder_is_refused(fetched, capsys):
    with StandIn(fetched["records"], fetched["audio"], KEY) as other:
        argv = flags(other, fetched["output"])
        argv[0] = "grp:birds cnt:Cuba"
        assert fetch.main(argv) == cli.FAILED
    assert "holds the fetch of another query" in capsys.readouterr().err
    assert other.requests == []  # refused before asking the API


def test_a_dry_run_reports_each_selection_and_downloads_no_audio(listing, tmp_path, capsys):
    records, audio = listing
    with StandIn(records, audio, KEY) as stand_in:
        argv = flags(stand_in, tmp_path, "--dry-run", "--min-quality", "C", "--max-length", "0:10",
                     "--max-per-species", "2")  # fmt: skip
        assert fetch.main(argv) == cli.DONE
        assert stand_in.requested("audio") == []
    out = capsys.readouterr().out
    assert not (tmp_path / "audio").exists()
    lines = read_lines(tmp_path / "dry-run.jsonl")
    assert sorted(line["id"] for line in lines) == sorted(r["id"] for r in records)
    reasons = [line["reason"] for line in lines]
    kept = [line["id"] for line in lines if line["reason"] == "selected"]
    by_id = {r["id"]: r for r in records}
    assert all(by_id[i]["q"] in "ABC" and by_id[i]["length"] <= "0:10" for i in kept)
    per_species = collections.Counter(by_id[i]["en"] for i in kept)
    capped = {line["species"] for line in lines if line["reason"] == "filtered_per_species"}
    assert capped and max(per_species.values()) == 2 and all(per_species[s] == 2 for s in capped)
    for reason, flag in [("filtered_quality", "--min-quality C"), ("filtered_length", "--max-length 10 s"),
                         ("filtered_per_species", "--max-per-species 2"),
                         ("filtered_license", "--licenses by,by-sa,by-nc,by-nc-sa,cc0")]:  # fmt: skip
        assert f"  left out {reasons.count(reason)}: by {flag}" in out
    assert f"Selected {len(kept)} recordings of {len(per_species)} species" in out
    assert "recordings  minutes" in out


def test_max_per_species_keeps_the_best_quality_then_the_longest():
    records = [{"id": str(i), "en": "Wren", "q": q, "length": length, "lic": LICENSE_URL.format("by"),
                "file": f"/{i}/download"}
               for i, (q, length) in enumerate([("B", "0:30"), ("A", "0:10"), ("A", "0:20"),
                                                ("no score", "5:00"), ("B", "1:00")])]  # fmt: skip
    kept, skipped = select([listed(r, "http://x/") for r in records], Filters(max_per_species=3))
    assert [r.recording_id for r in kept] == ["1", "2", "4"]  # listing order kept
    assert {s.recording.recording_id: s.reason for s in skipped} == {
        "0": "filtered_per_species", "3": "filtered_per_species"}  # fmt: skip


@pytest.mark.slow
def test_fetch_then_build_then_train(listing, tmp_path):
    from pipeline.build import run
    from trainer import task

    with StandIn(*listing, key=KEY) as stand_in:
        assert fetch.main(flags(stand_in, tmp_path / "xc", "--quiet")) == cli.DONE
    info = run(build_args(str(tmp_path / "xc"), str(tmp_path / "dataset"), "--quiet"))
    rows = read_csv(tmp_path / "xc" / "metadata.csv")
    assert info.counts.input_files == len(rows)
    assert set(info.counts.failures) <= {"filtered_type"}
    job = tmp_path / "job"
    assert task.main([
        "--data-dir", str(tmp_path / "dataset"), "--job-dir", str(job), "--architecture", "compact",
        "--weights", "none", "--image-size", "75", "--batch-size", "4", "--steps-per-epoch", "1",
        "--head-epochs", "0", "--base-epochs", "1",
    ]) == 0  # fmt: skip
    assert (job / "metrics-test.json").is_file()
