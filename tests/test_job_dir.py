"""trainer.job_dir: a job dir holds one run; another run or other files are never mixed in or
deleted; its JSON files."""

from __future__ import annotations

import json

from tests.datasets import BALANCED, trainer_fails_with, write_dataset
from trainer.job_dir import read_json_file, write_json_file


def test_a_job_dir_holding_another_run_is_kept_without_overwrite(tmp_path, capsys):
    data_dir = write_dataset(tmp_path / "data", BALANCED, record_labels=[0, 1, 3])
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    (job_dir / "run.json").write_text("{}")
    assert "holds another run" in trainer_fails_with(capsys, data_dir, job_dir)
    assert (job_dir / "run.json").read_text() == "{}"
    # With --overwrite the old run goes, and the trainer goes on (to this dataset's bad label).
    assert "label index" in trainer_fails_with(capsys, data_dir, job_dir, "--overwrite")
    assert json.loads((job_dir / "run.json").read_text())["data_dir"] == data_dir


def test_a_job_dir_holding_other_files_is_never_deleted(tmp_path, capsys):
    data_dir = write_dataset(tmp_path / "data", BALANCED)
    error = trainer_fails_with(
        capsys, data_dir, tmp_path, "--overwrite"
    )  # tmp_path holds the dataset
    assert "holds files but no trainer run" in error
    assert (tmp_path / "data" / "dataset.json").is_file()


def test_json_files_read_back_what_was_written_and_none_when_missing(tmp_path):
    path = str(tmp_path / "state.json")
    assert read_json_file(path) is None
    write_json_file(path, {"phases_done": 1})
    assert read_json_file(path) == {"phases_done": 1}
