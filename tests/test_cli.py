"""Every command's exit status and terminal: 0 done, 1 failed in one line, 2 usage, 130 Ctrl-C."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys

import pytest

from pipeline import cli
from tests.conftest import ctrl_c_as_in_a_terminal

COMMANDS = [
    "pipeline.fetch",
    "pipeline.build",
    "pipeline.preview",
    "trainer.task",
    "trainer.evaluate",
    "trainer.predict",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_usage_error_exits_with_status_2(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        importlib.import_module(command).main(["--no-such-flag=zstd", "--compression=zstd"])
    assert exit_info.value.code == cli.USAGE
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        ("pipeline.build", ["--input", "{missing}", "--output", "{tmp}/out"]),
        ("pipeline.preview", ["{missing}"]),
        (
            "trainer.task",
            ["--data-dir", "{missing}", "--job-dir", "{tmp}/job", "--weights", "none"],
        ),
        ("trainer.evaluate", ["--job-dir", "{missing}"]),
        ("trainer.predict", ["--model", "{missing}", "{missing}/a.wav"]),
    ],
)
def test_a_missing_input_fails_in_one_line_with_status_1(command, flags, tmp_path, capsys):
    argv = [flag.format(missing=tmp_path / "missing", tmp=tmp_path) for flag in flags]
    status = importlib.import_module(command).main(argv)
    err = capsys.readouterr().err
    assert status == cli.FAILED
    assert err.startswith(f"error: {tmp_path}/missing") and err.count("\n") == 1, err


def test_ctrl_c_is_one_line_and_status_130(capsys):
    def stopped() -> None:
        raise KeyboardInterrupt

    assert cli.run(stopped, (ValueError,), "the command stopped") == cli.INTERRUPTED
    assert capsys.readouterr().err == "interrupted: the command stopped\n"


def test_ctrl_c_stops_training_in_one_line(tmp_path):
    from tests.datasets import BALANCED, write_dataset
    from trainer.task import INTERRUPTED

    data_dir = write_dataset(tmp_path / "data", BALANCED)
    task = subprocess.Popen(
        [sys.executable, "-m", "trainer.task", "--data-dir", data_dir, "--job-dir",
         str(tmp_path / "job"), "--weights", "none", "--image-size", "75", "--head-epochs", "50",
         "--base-epochs", "0", "--batch-size", "4"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=ctrl_c_as_in_a_terminal,
    )  # fmt: skip
    while not task.stderr.readline().startswith("phase 1"):  # training has begun
        assert task.poll() is None
    os.killpg(task.pid, signal.SIGINT)  # as Ctrl-C in a terminal
    _, err = task.communicate(timeout=60)
    assert task.returncode == cli.INTERRUPTED
    assert err == f"interrupted: {INTERRUPTED}\n"


def test_a_training_log_holds_one_plain_line_per_epoch(tmp_path):
    from tests.datasets import BALANCED, write_dataset

    data_dir = write_dataset(tmp_path / "data", BALANCED)
    log = tmp_path / "train.log"
    with open(log, "w") as out:  # as `python -m trainer.task ... > train.log 2>&1`
        subprocess.run(
            [sys.executable, "-m", "trainer.task", "--data-dir", data_dir, "--job-dir",
             str(tmp_path / "job"), "--weights", "none", "--image-size", "75", "--head-epochs",
             "2", "--base-epochs", "1", "--batch-size", "4", "--steps-per-epoch", "2"],
            stdout=out, stderr=subprocess.STDOUT, check=True,
        )  # fmt: skip
    text = log.read_text()
    assert not {"\x1b", "\r", "\b"} & set(text), "a progress bar's control characters"
    epochs = [line for line in text.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in epochs] == ["1/2", "2/2", "3/3"]
    assert all("loss" in line and "val_recording_accuracy" in line for line in epochs)
