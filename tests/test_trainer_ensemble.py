"""--ensemble: members trained with consecutive seeds, exported as the mean of their probabilities."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.datasets import BALANCED, write_dataset
from trainer import task, train
from trainer.export import load_exported_model

pytestmark = pytest.mark.slow


def test_the_ensemble_export_gives_the_mean_of_its_members_probabilities(tmp_path, capsys):
    data_dir = write_dataset(tmp_path / "data", BALANCED)
    job_dir = tmp_path / "job"
    argv = [
        "--data-dir", data_dir, "--job-dir", str(job_dir), "--architecture", "compact",
        "--weights", "none", "--full-resolution", "--batch-size", "4", "--steps-per-epoch", "1",
        "--head-epochs", "0", "--base-epochs", "1", "--seed", "4", "--ensemble", "2",
    ]  # fmt: skip
    metrics = train.train(task.parse_args(argv))
    assert "the mean of 2 members (seeds 4 to 5)" in capsys.readouterr().out
    seeds = [json.loads((job_dir / "members" / k / "run.json").read_text())["seed"] for k in "01"]
    assert seeds == [4, 5]
    assert json.loads((job_dir / "metrics-test.json").read_text()) == json.loads(
        json.dumps(metrics)
    )
    model, _, info = load_exported_model(str(job_dir))
    members = [load_exported_model(str(job_dir / "members" / k))[0] for k in "01"]
    rng = np.random.default_rng(0)
    spectrograms = rng.integers(0, 256, (5, info.image.height, info.image.width), dtype=np.uint8)
    each = [member.predict(spectrograms, verbose=0) for member in members]
    assert not np.allclose(each[0], each[1])
    np.testing.assert_allclose(
        model.predict(spectrograms, verbose=0), np.mean(each, axis=0), atol=1e-6
    )
