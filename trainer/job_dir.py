"""The job dir: every path trainer.task, evaluate, export and predict use in it, its JSON files,
and starting (or resuming) a run in it.

    JOB_DIR/
      run.json                  the run's options (for evaluate: the data dir trained on)
      state.json                {"phases_done": n}: which phases finished
      history.csv               one row per epoch
      checkpoints/              last, best and phaseN weights, best.json (the best epoch), and
                                with --init-from the base's initial weights
      backup-phaseN/            the phase's backup for --resume, removed as the phase ends
      logs/                     TensorBoard
      metrics-SPLIT.json, confusion-SPLIT.png
      export/                   the exported model (trainer.export)
      members/K/                with --ensemble, the job dir of member K (a run of its own)

Local or gs:// alike: paths are joined with "/".
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import tensorflow as tf

from trainer import TrainerError
from trainer.options import TrainOptions

RUN_FILE = "run.json"
STATE_FILE = "state.json"
HISTORY_FILE = "history.csv"
LOG_DIR = "logs"
CHECKPOINT_DIR = "checkpoints"
EXPORT_DIR = "export"
LAST_WEIGHTS = "last.weights.h5"
BEST_WEIGHTS = "best.weights.h5"
BEST_STATE = "best.json"
INIT_WEIGHTS = "init-base.weights.h5"  # the base of --init-from's export
BACKUP_WEIGHTS = "backup.weights.h5"  # in a backup-phaseN folder
BACKUP_STATE = "backup.json"

logger = logging.getLogger(__name__)


def read_json_file(path: str) -> Any:
    """A JSON file's value, or None when it does not exist."""
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def write_json_file(path: str, data: Any) -> None:
    """Writes `data` to the JSON file at `path` (indented), replacing it."""
    with tf.io.gfile.GFile(path, "w") as f:
        json.dump(data, f, indent=2)


@dataclasses.dataclass(frozen=True)
class JobDir:
    """Paths of one job dir."""

    path: str

    def join(self, *names: str) -> str:
        return "/".join([self.path.rstrip("/"), *names])

    @property
    def run(self) -> str:
        return self.join(RUN_FILE)

    @property
    def state(self) -> str:
        return self.join(STATE_FILE)

    @property
    def history(self) -> str:
        return self.join(HISTORY_FILE)

    @property
    def logs(self) -> str:
        return self.join(LOG_DIR)

    @property
    def checkpoints(self) -> str:
        return self.join(CHECKPOINT_DIR)

    @property
    def export(self) -> str:
        return self.join(EXPORT_DIR)

    def checkpoint(self, name: str) -> str:
        """A file of checkpoints/: LAST_WEIGHTS, BEST_WEIGHTS, BEST_STATE or INIT_WEIGHTS."""
        return self.join(CHECKPOINT_DIR, name)

    def phase_weights(self, phase: int) -> str:
        """The weights at the end of a phase (1: head only, 2: base and head)."""
        return self.checkpoint(f"phase{phase}.weights.h5")

    def backup(self, phase: int) -> str:
        """The folder of a phase's backups for --resume."""
        return self.join(f"backup-phase{phase}")

    def member(self, index: int) -> str:
        """The job dir of an ensemble's member `index`."""
        return self.join("members", str(index))

    def metrics(self, split: str) -> str:
        return self.join(f"metrics-{split}.json")

    def confusion(self, split: str) -> str:
        return self.join(f"confusion-{split}.png")

    def phases_done(self) -> int:
        """How many of the run's phases finished (state.json)."""
        state = read_json_file(self.state)
        return state["phases_done"] if state else 0

    def start_run(self, options: TrainOptions) -> None:
        """Refuses to mix two runs in one job dir, or to delete what is not a run; with
        --overwrite deletes the run there, with --resume keeps it; a new run's options go to
        run.json."""
        entries = tf.io.gfile.listdir(self.path) if tf.io.gfile.exists(self.path) else []
        holds_run = RUN_FILE in entries
        if entries and not holds_run:
            raise TrainerError(
                f"{self.path} holds files but no trainer run; pick another --job-dir"
            )
        if holds_run and options.overwrite:
            tf.io.gfile.rmtree(self.path)
        elif holds_run and not options.resume:
            raise TrainerError(
                f"{self.path} holds another run; pass --resume to continue it or --overwrite to "
                "replace it"
            )
        if holds_run and options.resume:
            logger.info("resuming the run in %s after phase %d", self.path, self.phases_done())
            return
        if options.resume:
            logger.info("nothing to resume in %s; starting a new run", self.path)
        tf.io.gfile.makedirs(self.checkpoints)  # also for --head-epochs 0
        write_json_file(self.run, options.to_dict())
