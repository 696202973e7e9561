"""pipeline.preview: a PNG grid of a built dataset's spectrograms, one row per species."""

from __future__ import annotations

import shutil

import matplotlib.image

from pipeline import preview
from schemas import read_dataset_info, read_labels


def _pixels(rows: int, columns: int) -> tuple[int, int]:
    width, height = preview.figure_size(rows, columns)
    return round(height * preview.DPI), round(width * preview.DPI)


def _columns(data_dir: str, species: list[str], split: str, per_species: int) -> int:
    """Columns of the grid: per_species, or fewer when no species has that many examples."""
    counts = read_dataset_info(data_dir).counts.per_species
    return min(per_species, max(counts[name].examples[split] for name in species))


def test_write_preview_draws_one_row_per_species(small_dataset, tmp_path):
    species = read_labels(small_dataset)
    assert len(species) == 3

    path = preview.write_preview(small_dataset, str(tmp_path / "all.png"), per_species=2)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.image.imread(path).shape[:2] == _pixels(len(species), 2)

    path = preview.write_preview(small_dataset, str(tmp_path / "two.png"), max_species=2)
    columns = _columns(small_dataset, species[:2], "train", 4)
    assert matplotlib.image.imread(path).shape[:2] == _pixels(2, columns)


def test_default_output_is_in_the_dataset(small_dataset, tmp_path):
    dataset = shutil.copytree(small_dataset, tmp_path / "dataset")  # the fixture stays untouched
    path = preview.write_preview(str(dataset), split="validation", per_species=1)
    assert path == f"{dataset}/preview.png"
    assert matplotlib.image.imread(path).shape[:2] == _pixels(3, 1)


def test_main_on_a_folder_that_is_not_a_dataset(tmp_path, capsys):
    assert preview.main([str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "dataset.json" in err
    assert err.count("\n") == 1 and "Traceback" not in err
