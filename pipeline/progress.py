"""The terminal of a local build: progress (the workers note each finished recording in a file
of their own, the launcher prints a line every few seconds), and the worker processes' own
stderr kept out of it."""

from __future__ import annotations

import contextlib
import glob
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator

# Where the local runner hands on what its worker processes log.
WORKER_LOGS = "apache_beam.runners.portability.local_job_service"
_NOTES = "finished-{pid}.txt"


def note_finished(file: str, folder: str) -> None:
    """Notes in `folder` (local, the launcher's) that the recording `file` is finished: a line
    in this worker process's own file (a Beam step after decoding, on the workers)."""
    with open(os.path.join(folder, _NOTES.format(pid=os.getpid())), "a", encoding="utf-8") as f:
        f.write(file.replace("\n", " ") + "\n")


def _print_now(line: str) -> None:
    print(line, flush=True)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


class Progress:
    """Counts finished recordings (or other units: predict's files) and prints at most one line
    every `every` seconds: done of total, audio hours (estimated from file sizes, when given),
    rate, time left, and what `extra` says (fetch's megabytes)."""

    def __init__(
        self,
        total: int,
        audio_seconds: float | None,
        every: float = 5.0,
        say: Callable = _print_now,
        unit: str = "recordings",
        extra: Callable[[], str] | None = None,
    ) -> None:
        self._total, self._audio, self._every, self._say = total, audio_seconds, every, say
        self._unit, self._extra = unit, extra
        self._done = 0
        self._first = self._last = 0.0

    def finished(self, now: float) -> None:
        """One more recording done at time `now`; prints when a line is due."""
        self._done += 1
        if self._done == 1:
            self._first = self._last = now
        elif now - self._last >= self._every or self._done == self._total:
            self._last = now
            self._say(self.line(now - self._first))

    def line(self, elapsed: float) -> str:
        """The progress line, `elapsed` seconds after the first recording finished."""
        fraction = self._done / max(1, self._total)
        rate = (self._done - 1) / elapsed if elapsed > 0 else 0.0
        left = f"about {_duration((self._total - self._done) / rate)} left" if rate else ""
        audio = self._audio
        return (
            f"  {self._done:,} of {self._total:,} {self._unit}, "
            + (f"{_duration(fraction * audio)} of {_duration(audio)} of audio, " if audio else "")
            + (f"{self._extra()}, " if self._extra else "")
            + f"{rate * 60:.1f} {self._unit}/min"
            + (f", {left}" if left and self._done < self._total else "")
        )


@contextlib.contextmanager
def watching(tracker: Progress, folder: str, every: float = 0.5) -> Iterator[None]:
    """Counts the recordings the workers note in `folder` (note_finished) into `tracker` while
    the block runs, looking every `every` seconds, and once more at its end."""
    stop = threading.Event()
    seen = 0

    def look() -> None:
        nonlocal seen
        done = 0
        for path in glob.glob(os.path.join(glob.escape(folder), _NOTES.format(pid="*"))):
            with open(path, encoding="utf-8") as f:
                done += sum(1 for _ in f)
        for _ in range(done - seen):
            tracker.finished(time.monotonic())
        seen = done

    def loop() -> None:
        while not stop.wait(every):
            look()

    thread = threading.Thread(target=loop, name="build-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        look()


@contextlib.contextmanager
def stderr_to(path: str) -> Iterator[None]:
    """Sends file descriptor 2 to `path` while the job runs: what the worker processes (which
    inherit it) and Beam's threads write there, tracebacks on Ctrl-C included, is not for the
    terminal; progress goes to stdout, and a failed job is reported in one line after."""
    sys.stderr.flush()
    terminal = os.dup(2)
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 2)
    os.close(log)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(terminal, 2)
        os.close(terminal)
