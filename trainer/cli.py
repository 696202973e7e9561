"""What the command-line entry points share: quiet TensorFlow logs and one-line errors."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

import tensorflow as tf

from schemas import DatasetFormatError
from trainer import TrainerError


def run(command: Callable[[], object]) -> int:
    """Runs a command; returns its exit status, reporting a problem the user can fix in one line."""
    logging.basicConfig(format="%(message)s")
    logging.getLogger("trainer").setLevel(logging.INFO)
    tf.get_logger().setLevel("ERROR")
    try:
        command()
    except (TrainerError, DatasetFormatError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
