"""What every command shares (pipeline.build, pipeline.preview, trainer.task, trainer.evaluate,
trainer.predict): a quiet start-up, one-line errors, a one-line Ctrl-C and the exit statuses.

Exit status: 0 done, 1 some work failed (a problem the user can fix), 2 usage error (argparse's
own), 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Callable

DONE, FAILED, USAGE, INTERRUPTED = 0, 1, 2, 130
# google-api-core warns at import, once per Google library, about Python versions it will drop.
_PYTHON_VERSION_WARNING = "You are using a Python version"
_QUIET_LOGGERS = ("apache_beam", "tensorflow", "absl")


def quiet_start(*loggers: str) -> None:
    """Silences the libraries' start-up lines, here and in child processes (call it first in a
    command's main, before TensorFlow is imported); INFO of `loggers` (the command's own)
    reaches the terminal as plain lines."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", message=_PYTHON_VERSION_WARNING, category=FutureWarning)
    ignore = f"ignore:{_PYTHON_VERSION_WARNING}:FutureWarning"
    inherited = os.environ.get("PYTHONWARNINGS")
    if ignore not in (inherited or ""):  # worker processes inherit the environment
        os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [inherited, ignore]))
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    for name in loggers:
        logging.getLogger(name).setLevel(logging.INFO)


def fraction_below_one(value: str) -> float:
    """An argparse type: a number from 0 to below 1 (an overlap, a share, a momentum)."""
    number = float(value)
    if not 0.0 <= number < 1.0:
        raise argparse.ArgumentTypeError("must be at least 0 and less than 1")
    return number


def positive_int(value: str) -> int:
    """An argparse type: a whole number of at least 1."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def one_line(error: BaseException) -> str:
    """The first line of an error's message (TensorFlow's errors keep theirs in .message)."""
    message = getattr(error, "message", None) or str(error)
    return (message.strip().splitlines() or [type(error).__name__])[0]


def run(
    command: Callable[[], object],
    errors: tuple[type[BaseException], ...],
    interrupted: str,
) -> int:
    """Runs a command and returns its exit status: the command's own when it returns an int
    (else 0), 1 with `error: ...` on stderr for one of `errors`, 130 with `interrupted: ...` on
    Ctrl-C (the KeyboardInterrupt's own message, else `interrupted`)."""
    try:
        status = command()
        return status if isinstance(status, int) else DONE
    except errors as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt as stop:
        print(f"interrupted: {str(stop) or interrupted}", file=sys.stderr)
        return INTERRUPTED
