"""Every command's exit status and terminal: 0 done, 1 failed in one line, 2 usage, 130 Ctrl-C."""

from __future__ import annotations

import importlib

import pytest

from pipeline import cli

COMMANDS = ["pipeline.build", "pipeline.preview"]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_usage_error_exits_with_status_2(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        importlib.import_module(command).main(["--no-such-flag=zstd", "--compression=zstd"])
    assert exit_info.value.code == cli.USAGE
    assert "usage:" in capsys.readouterr().err


def test_a_build_of_a_missing_folder_fails_in_one_line(tmp_path, capsys):
    from pipeline.build import main

    status = main(["--input", str(tmp_path / "missing"), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == cli.FAILED and err.startswith("error: ") and err.count("\n") == 1, err


def test_ctrl_c_is_one_line_and_status_130(capsys):
    def stopped() -> None:
        raise KeyboardInterrupt

    assert cli.run(stopped, (ValueError,), "the command stopped") == cli.INTERRUPTED
    assert capsys.readouterr().err == "interrupted: the command stopped\n"
