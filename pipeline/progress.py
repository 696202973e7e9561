"""The terminal of a local build: progress (the workers log one line per finished recording
through Beam's logging service, the launcher prints a line every few seconds), and the worker
processes' own stderr kept out of it."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

LOGGER = "pipeline.progress"
# Where the local runner hands on what its worker processes log.
WORKER_LOGS = "apache_beam.runners.portability.local_job_service"
_MARK = "birdsong-recording-done"


def report_done(outcome: dict[str, Any]) -> None:
    """Logs that one recording is finished (a Beam step after decoding, on the workers)."""
    logging.getLogger(LOGGER).info(_MARK)


def _print_now(line: str) -> None:
    print(line, flush=True)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


class Progress(logging.Filter):
    """Counts finished recordings (or other units: predict's files) and prints at most one line
    every `every` seconds: done of total, audio hours (estimated from file sizes, when given),
    rate, time left, and what `extra` says (fetch's megabytes).

    As a filter on the worker-log logger it counts the build's recordings from log records and
    drops the workers' other records below ERROR.
    """

    def __init__(
        self,
        total: int,
        audio_seconds: float | None,
        every: float = 5.0,
        say: Callable = _print_now,
        unit: str = "recordings",
        extra: Callable[[], str] | None = None,
    ) -> None:
        super().__init__()
        self._total, self._audio, self._every, self._say = total, audio_seconds, every, say
        self._unit, self._extra = unit, extra
        self._done = 0
        self._first = self._last = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if _MARK not in record.getMessage():
            return record.levelno >= logging.ERROR
        self.finished(time.monotonic())
        return False

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

    def attach(self) -> None:
        """Listens to the worker processes (multi_processing) and to in-process workers."""
        workers = logging.getLogger(WORKER_LOGS)
        workers.setLevel(logging.INFO)
        workers.addFilter(self)
        local = logging.getLogger(LOGGER)
        local.setLevel(logging.INFO)
        local.propagate = False
        local.addFilter(self)
        local.addHandler(logging.NullHandler())

    def detach(self) -> None:
        logging.getLogger(WORKER_LOGS).removeFilter(self)
        logging.getLogger(LOGGER).removeFilter(self)


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
