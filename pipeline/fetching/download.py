"""Downloading audio files with a pool of threads: each into `<name>.part`, resumed with a Range
request after a dropped connection or an interrupted run, checked against the size the server
announced, and renamed to its final name only when complete."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import http.client
import os
import pathlib
import re
from collections.abc import Callable
from typing import BinaryIO

from pipeline.fetching.client import RequestFailed, Retrying, Stopped, Transient, open_url
from pipeline.fetching.outputs import PART_SUFFIX

CHUNK_BYTES = 1 << 18
_CONTENT_RANGE = re.compile(r"bytes (\d+)-")


@dataclasses.dataclass(frozen=True)
class Download:
    """One file to fetch: the recording's id, its URL and its final path."""

    recording_id: str
    url: str
    path: pathlib.Path


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of a Download: under its final name (no reason), or a failure's reason
    (http_error, connection_error, size_mismatch) and detail."""

    download: Download
    reason: str = ""
    detail: str = ""


class Downloader:
    """Fetches Downloads; setting `retrying.stop` ends them between chunks (Ctrl-C);
    `received(n)` counts the bytes as they arrive."""

    def __init__(self, retrying: Retrying, received: Callable[[int], None]) -> None:
        self._retrying, self._received = retrying, received
        self.stop = retrying.stop

    def fetch(self, download: Download) -> Outcome:
        """Downloads one file (retrying as `retrying` says); never leaves a partial file under
        the final name."""
        part = download.path.with_name(download.path.name + PART_SUFFIX)
        try:
            self._retrying(lambda: self._attempt(download.url, part))
        except RequestFailed as failure:
            if failure.reason == "http_error":  # nothing worth resuming
                part.unlink(missing_ok=True)
            return Outcome(download, reason=failure.reason, detail=failure.detail)
        os.replace(part, download.path)
        return Outcome(download)

    def _attempt(self, url: str, part: pathlib.Path) -> None:
        """One request: appends to `part` from where it ends, or starts it again."""
        offset = part.stat().st_size if part.exists() else 0
        try:
            response = open_url(url, {"Range": f"bytes={offset}-"} if offset else None)
        except RequestFailed as failure:
            if failure.status == 416:  # the part file does not fit the server's file: start again
                part.unlink()
                raise Transient("http_error", failure.detail, 416, 0.0) from None
            raise
        with response, open(part, "r+b" if part.exists() else "wb") as out:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range") or "")
            if response.status != 206 or not match or int(match[1]) != offset:
                offset = 0  # the server sent the whole file
            out.seek(offset)
            out.truncate()
            length = response.headers.get("Content-Length")
            expected = offset + int(length) if length and length.isdigit() else None
            self._copy(response, out, expected)
            got = out.tell()
        if expected is not None and got != expected:
            raise Transient("size_mismatch", f"received {got:,} of {expected:,} bytes")

    def _copy(
        self, response: http.client.HTTPResponse, out: BinaryIO, expected: int | None
    ) -> None:
        """Copies the body to `out` until it ends (a body cut short ends early: the caller checks
        its size)."""
        while True:
            if self.stop.is_set():
                raise Stopped
            try:
                chunk = response.read1(CHUNK_BYTES)  # what has arrived: Ctrl-C is heard soon
            except (OSError, http.client.HTTPException) as error:
                of = f" of {expected:,}" if expected is not None else ""
                raise Transient("connection_error", f"connection dropped after {out.tell():,}"
                                f"{of} bytes ({error})") from None  # fmt: skip
            if not chunk:
                return
            out.write(chunk)
            self._received(len(chunk))


def download_all(
    downloader: Downloader,
    downloads: list[Download],
    jobs: int,
    done: Callable[[Outcome], None],
) -> list[Outcome]:
    """Runs the downloads on `jobs` threads, calling done() (in this thread) as each finishes.
    On Ctrl-C or an error, stops the downloader (the running downloads end between chunks) and
    re-raises."""
    outcomes = []
    with concurrent.futures.ThreadPoolExecutor(jobs, thread_name_prefix="download") as pool:
        futures = [pool.submit(downloader.fetch, d) for d in downloads]
        try:
            for future in concurrent.futures.as_completed(futures):
                outcomes.append(future.result())
                done(outcomes[-1])
        except BaseException:
            downloader.stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return outcomes
