"""Fetch a corpus from xeno-canto's API v3: `python -m pipeline.fetch --help`."""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import sys
import threading
import time
import urllib.parse

from pipeline import cli
from pipeline.fetching import report
from pipeline.fetching.api import (
    ACCOUNT_URL,
    DEFAULT_API_URL,
    MAX_PER_PAGE,
    QUALITIES,
    Listed,
    fetch_pages,
    length_seconds,
    listed,
)
from pipeline.fetching.client import FetchError, RateLimit, Retrying, redact
from pipeline.fetching.download import Download, Downloader, Outcome, download_all
from pipeline.fetching.outputs import (
    AUDIO_DIR,
    DRY_RUN_FILE,
    FAILURES_FILE,
    LICENSES_FILE,
    METADATA_FILE,
    PAGES_DIR,
    STATE_FILE,
    audio_names,
    read_state,
    remove_pages_after,
    report_line,
    skipped_lines,
    write_attribution,
    write_json_lines,
    write_licenses,
    write_metadata,
    write_page,
    write_state,
)
from pipeline.fetching.selection import ALL_LICENSES, DEFAULT_LICENSES, Filters, Skipped, select
from pipeline.progress import Progress
from schemas.dataset_info import ATTRIBUTION_FILE

KEY_VARIABLE = "XC_API_KEY"
INTERRUPTED = (
    "the fetch stopped; finished files are kept and partial ones wait as .part files: "
    "run the same command again to resume"
)
EXAMPLE = "python -m pipeline.fetch 'grp:birds cnt:\"Puerto Rico\" q:A type:song' --output xc/pr"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    seconds = length_seconds(text)
    if seconds is None:
        raise argparse.ArgumentTypeError(f"give seconds or m:ss, got {text!r}")
    return seconds


def _licenses(text: str) -> tuple[str, ...]:
    codes = tuple(code.strip().lower() for code in text.split(",") if code.strip())
    if not codes:
        raise argparse.ArgumentTypeError("name at least one licence, or 'all'")
    return codes


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, with the key taken from XC_API_KEY when --key is not given."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.fetch",
        description=(
            "Download recordings and their metadata from xeno-canto (API v3) into a folder that "
            "pipeline.build reads. Running the same command again downloads only what is missing."
        ),
        epilog=f"Example: XC_API_KEY=... {EXAMPLE}   (your key: {ACCOUNT_URL})",
    )
    parser.add_argument("query", metavar="QUERY",
                        help="a query in xeno-canto's tag syntax, passed on as written, e.g. "
                             "'grp:birds cnt:\"Puerto Rico\" q:A type:song'")  # fmt: skip
    parser.add_argument("--key", help=f"your xeno-canto API key ({ACCOUNT_URL}); better given "
                        f"in the environment variable {KEY_VARIABLE}, which other users of the "
                        "machine cannot see. It is never written to a file or printed")  # fmt: skip
    parser.add_argument("--output", required=True, metavar="DIR", type=pathlib.Path,
                        help="the folder to fill: audio/, pages/, metadata.csv, ATTRIBUTION.csv, "
                             "LICENSES.md, fetch-failures.jsonl, fetch.json")  # fmt: skip
    parser.add_argument("--api-url", default=DEFAULT_API_URL, metavar="URL",
                        help="a server with the same API (a mirror, a test stand-in); "
                             "default %(default)s")  # fmt: skip
    parser.add_argument("--licenses", type=_licenses, default=DEFAULT_LICENSES, metavar="LIST",
                        help="licences to keep, comma-separated short codes (by, by-sa, by-nc, "
                             f"by-nc-sa, by-nd, by-nc-nd, cc0), or '{ALL_LICENSES}'; default: every licence "
                             f"but the no-derivatives ones ({','.join(DEFAULT_LICENSES)}), as a "
                             "spectrogram dataset is a derivative work")  # fmt: skip
    parser.add_argument("--min-quality", choices=list(QUALITIES), type=str.upper,
                        help="keep recordings rated this or better (A best); leaves out the "
                             "unrated ones")  # fmt: skip
    parser.add_argument(
        "--max-length",
        type=_seconds,
        metavar="SECONDS",
        help="keep recordings at most this long (seconds, or m:ss)",
    )
    parser.add_argument("--max-per-species", type=_positive_int, metavar="N",
                        help="keep the N best recordings of each species: best quality first, "
                             "then the longest (applied after the other selections)")  # fmt: skip
    parser.add_argument("--dry-run", action="store_true",
                        help="list and select, print the recordings per species, minutes and "
                             f"size, write {DRY_RUN_FILE}; download no audio")  # fmt: skip
    parser.add_argument(
        "--jobs",
        type=_positive_int,
        default=4,
        metavar="N",
        help="files downloaded at once (default %(default)s)",
    )
    parser.add_argument(
        "--per-page",
        type=int,
        default=MAX_PER_PAGE,
        metavar="N",
        help=f"recordings per API page, 1 to {MAX_PER_PAGE} (default %(default)s)",
    )
    parser.add_argument(
        "--api-rate",
        type=float,
        default=1.0,
        metavar="PER_SECOND",
        help="API requests a second at most, to be polite (default %(default)s)",
    )
    parser.add_argument("--retries", type=int, default=5, metavar="N",
                        help="retries of a request after a 429, a 5xx or a dropped connection "
                             "(default %(default)s)")  # fmt: skip
    parser.add_argument("--retry-wait", type=float, default=2.0, metavar="SECONDS",
                        help="the first wait before a retry, doubling with each (default "
                             "%(default)s); a Retry-After from the server takes precedence")  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    args = parser.parse_args(argv)
    args.key = args.key or os.environ.get(KEY_VARIABLE, "")
    if not args.key:
        parser.error(f"no API key: pass --key or set {KEY_VARIABLE} (get yours at {ACCOUNT_URL})")
    if urllib.parse.urlsplit(args.api_url).scheme not in ("http", "https"):
        parser.error(f"--api-url: give an http(s) URL, got {args.api_url!r}")
    if not 1 <= args.per_page <= MAX_PER_PAGE:
        parser.error(f"--per-page must be between 1 and {MAX_PER_PAGE}")
    if args.api_rate <= 0 or args.retries < 0 or args.retry_wait < 0:
        parser.error("--api-rate must be above 0, --retries and --retry-wait at least 0")
    return args


class _Bytes:
    """Bytes received so far, counted by the download threads."""

    def __init__(self) -> None:
        self.total = 0
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        with self._lock:
            self.total += count


def _say(args: argparse.Namespace, line: str) -> None:
    if not args.quiet:
        print(line, flush=True)


def _filters(args: argparse.Namespace) -> Filters:
    return Filters(
        licenses=args.licenses,
        min_quality=args.min_quality or "",
        max_seconds=args.max_length,
        max_per_species=args.max_per_species or 0,
    )


def _check_query(output: pathlib.Path, query: str) -> None:
    previous = read_state(output / STATE_FILE).get("query")
    if previous is not None and previous != query:
        raise FetchError(
            f"{output}: holds the fetch of another query ({previous!r}); give another --output"
        )


def _dry_run(
    args: argparse.Namespace,
    kept: list[Listed],
    skipped: list[Skipped],
    present: set[str],
    names: dict[str, str],
) -> int:
    lines = [report_line(r, names[r.recording_id], "selected",
                         "already downloaded" if r.recording_id in present else "to download")
             for r in kept]  # fmt: skip
    lines += skipped_lines(skipped, names)
    write_json_lines(args.output / DRY_RUN_FILE, lines)
    _say(
        args,
        f"Dry run: no audio downloaded; every recording and its fate: {args.output / DRY_RUN_FILE}",
    )
    return cli.DONE


def _download(
    args: argparse.Namespace, kept: list[Listed], present: set[str], names: dict[str, str]
) -> list[Outcome]:
    """Downloads the kept recordings not yet present, printing progress."""
    audio = args.output / AUDIO_DIR
    downloads = [Download(r.recording_id, r.download_url, audio / names[r.recording_id])
                 for r in kept if r.recording_id not in present]  # fmt: skip
    if not downloads:
        return []
    audio.mkdir(exist_ok=True)
    received = _Bytes()
    downloader = Downloader(
        Retrying(args.retries, args.retry_wait, threading.Event()), received.add
    )
    seconds = sum(r.seconds or 0.0 for r in kept if r.recording_id not in present)
    _say(args, f"Downloading {len(downloads):,} recordings into {audio} ({args.jobs} at once) ...")
    progress = Progress(len(downloads), seconds, say=lambda line: _say(args, line),
                        extra=lambda: f"{received.total / 1e6:,.1f} MB")  # fmt: skip
    began = time.monotonic()
    outcomes = download_all(downloader, downloads, args.jobs,
                            lambda _: progress.finished(time.monotonic()))  # fmt: skip
    elapsed = max(time.monotonic() - began, 1e-9)
    failed = sum(1 for o in outcomes if o.reason)
    _say(args, f"Downloaded {len(outcomes) - failed:,} recordings, {received.total / 1e6:,.1f} MB in "
               f"{elapsed:.0f} s ({received.total / 1e6 / elapsed:,.1f} MB/s); {failed:,} failed")  # fmt: skip
    return outcomes


def _write_tables(
    args: argparse.Namespace,
    filters: Filters,
    recordings: list[Listed],
    kept: list[Listed],
    skipped: list[Skipped],
    failed: dict[str, Outcome],
    names: dict[str, str],
) -> None:
    """metadata.csv, ATTRIBUTION.csv and LICENSES.md of the downloaded recordings, a line in
    fetch-failures.jsonl for each of the others, and fetch.json."""
    output: pathlib.Path = args.output
    downloaded = [r for r in kept if r.recording_id not in failed]
    write_metadata(output / METADATA_FILE, downloaded, names)
    write_attribution(output / ATTRIBUTION_FILE, downloaded, names)
    write_licenses(output / LICENSES_FILE, downloaded, skipped)
    by_id = {r.recording_id: r for r in kept}
    lines = skipped_lines(skipped, names)
    lines += [report_line(by_id[i], names[i], o.reason, o.detail) for i, o in failed.items()]
    write_json_lines(output / FAILURES_FILE, lines)
    write_state(output / STATE_FILE, {
        "query": args.query, "api_url": redact(args.api_url),
        "fetched": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "selections": {"licenses": list(filters.licenses), "min_quality": filters.min_quality,
                       "max_length_s": filters.max_seconds, "max_per_species": filters.max_per_species},
        "listed": len(recordings), "downloaded": len(downloaded), "failed": len(failed),
        "left_out": len(skipped),
    })  # fmt: skip
    _say(args, f"Wrote {output / METADATA_FILE} ({len(downloaded):,} recordings), {ATTRIBUTION_FILE}, "
               f"{LICENSES_FILE}; {len(lines):,} recordings not downloaded, each with its reason, "
               f"in {FAILURES_FILE}")  # fmt: skip


def fetch(args: argparse.Namespace) -> int:
    """Lists the query's recordings, selects, downloads what is missing and writes the tables;
    raises FetchError when some downloads failed (after writing what succeeded)."""
    output: pathlib.Path = args.output
    _check_query(output, args.query)
    filters = _filters(args)

    def keep(page: int, pages: int, body: bytes) -> None:
        write_page(output / PAGES_DIR, page, body)
        if pages > 1:
            _say(args, f"  page {page} of {pages}")

    # Ctrl-C stops the listing with KeyboardInterrupt (it runs in this thread): nothing to set.
    retrying = Retrying(args.retries, args.retry_wait, threading.Event())
    records, pages = fetch_pages(args.api_url, args.query, args.key, args.per_page, retrying,
                                 RateLimit(args.api_rate), keep)  # fmt: skip
    remove_pages_after(output / PAGES_DIR, pages)
    recordings = [listed(record, args.api_url) for record in records]
    names = audio_names(recordings)
    kept, skipped = select(recordings, filters)
    present = {
        r.recording_id for r in kept if (output / AUDIO_DIR / names[r.recording_id]).is_file()
    }
    for line in report.selection_lines(recordings, skipped, filters):
        _say(args, line)
    _say(args, report.kept_line(kept, len(present)))
    if args.dry_run:
        for line in report.species_lines(kept) if kept else []:
            _say(args, line)
        return _dry_run(args, kept, skipped, present, names)
    outcomes = _download(args, kept, present, names)
    failed = {o.download.recording_id: o for o in outcomes if o.reason}
    _write_tables(args, filters, recordings, kept, skipped, failed, names)
    if failed:
        raise FetchError(f"{len(failed):,} of {len(kept):,} downloads failed (reasons in "
                         f"{output / FAILURES_FILE}); run the same command again to retry them")  # fmt: skip
    _say(args, f"Next: python -m pipeline.build --input {output / AUDIO_DIR} "
               f"--metadata {output / METADATA_FILE} --output DATASET_DIR")  # fmt: skip
    return cli.DONE


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: the exit status of pipeline.cli (1 when a download failed, 130 when
    interrupted)."""
    args = parse_args(argv)
    cli.quiet_start()
    return cli.run(lambda: fetch(args), (FetchError, OSError), INTERRUPTED)


if __name__ == "__main__":
    sys.exit(main())
