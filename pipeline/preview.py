"""A PNG grid of a built dataset's spectrograms, one row per species: `python -m pipeline.preview -h`."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import schemas
from frontend.spectrogram import row_frequencies
from pipeline import cli

DPI = 100
CELL_INCHES = (2.4, 1.6)  # width, height of one spectrogram panel with its ticks
MARGIN_INCHES = (1.6, 0.9)  # left (species names), top and bottom (title, time axis)


def figure_size(rows: int, columns: int) -> tuple[float, float]:
    """Figure (width, height) in inches of a grid of rows x columns spectrograms."""
    return MARGIN_INCHES[0] + columns * CELL_INCHES[0], MARGIN_INCHES[1] + rows * CELL_INCHES[1]


def _frequency_ticks(params: schemas.SpectrogramParams) -> list[float]:
    """kHz to mark on the frequency axis: octaves on a mel scale, every 2 kHz on a linear one."""
    low, high = params.fmin / 1000, params.top_frequency / 1000
    if params.frequency_scale == "mel":
        candidates = [0.25 * 2**octave for octave in range(8)]
    else:
        candidates = [2.0 * step for step in range(int(high // 2) + 1)]
    return [tick for tick in candidates if low <= tick <= high]


def _collect(
    data_dir: str, info: schemas.DatasetInfo, split: str, species: list[str], per_species: int
) -> dict:
    """Up to per_species examples of each species, from different recordings where it can."""
    import tensorflow as tf  # once the command has quieted its start-up

    files = tf.io.gfile.glob(schemas.shard_pattern(data_dir, split))
    if not files:
        raise schemas.DatasetFormatError(f"{data_dir}: no {split} shards")
    counts = info.counts.per_species

    def present(name: str, kind: str) -> int:  # of per_species, how many this split can give
        return (
            min(per_species, getattr(counts[name], kind)[split]) if name in counts else per_species
        )

    distinct: dict[str, list] = {name: [] for name in species}
    spare: dict[str, list] = {name: [] for name in species}
    height, width = info.image.height, info.image.width
    dataset = tf.data.TFRecordDataset(files, compression_type=info.tfrecord_compression).batch(64)
    keys = ("species", "recording_id", "start_seconds", "spectrogram")
    for batch in dataset.map(lambda s: schemas.parse_examples(s, height, width)):
        batch = {key: batch[key].numpy() for key in keys}
        for i, name in enumerate(n.decode() for n in batch["species"]):
            if name not in distinct:
                continue
            example = {key: value[i] for key, value in batch.items()}
            new = all(e["recording_id"] != example["recording_id"] for e in distinct[name])
            if new and len(distinct[name]) < per_species:
                distinct[name].append(example)
            elif len(spare[name]) < per_species:
                spare[name].append(example)
        if all(
            len(distinct[n]) >= present(n, "recordings")
            and len(distinct[n]) + len(spare[n]) >= present(n, "examples")
            for n in species
        ):
            break
    return {name: (distinct[name] + spare[name])[:per_species] for name in species}


def write_preview(
    data_dir: str,
    output: str | None = None,
    split: str = "train",
    per_species: int = 4,
    max_species: int = 0,
) -> str:
    """Draws per_species spectrograms of each species (the first max_species; 0: all) to a PNG."""
    info = schemas.read_dataset_info(data_dir)
    species = schemas.read_labels(data_dir)[: max_species or None]
    picks = _collect(data_dir, info, split, species, per_species)
    params = info.spectrogram
    seconds = info.image.width * params.hop / params.sample_rate
    extent = (0.0, seconds, -0.5, info.image.height - 0.5)  # y in rows; ticks name their kHz
    rows_khz = row_frequencies(params) / 1000
    ticks_khz = _frequency_ticks(params)
    columns = max(1, *map(len, picks.values()))
    figure = Figure(figsize=figure_size(len(species), columns), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(species), columns, sharex=True, sharey=True, squeeze=False)
    name = os.path.basename(os.path.abspath(data_dir))
    figure.suptitle(f"{name}: {split} split, {len(species)} species", fontweight="bold")
    for row, (label, examples) in zip(axes, picks.items(), strict=True):
        row[0].set_ylabel("kHz" if examples else "")
        row[0].set_yticks(np.interp(ticks_khz, rows_khz, np.arange(len(rows_khz))))
        row[0].set_yticklabels([f"{tick:g}" for tick in ticks_khz])
        row[0].annotate(
            textwrap.fill(label, 14), (0, 0.5), xycoords=row[0].yaxis.label, xytext=(-8, 0),
            textcoords="offset points", ha="right", va="center", fontweight="bold",
        )  # fmt: skip
        if not examples:
            row[0].text(0.5, 0.5, f"no {split} examples", ha="center", transform=row[0].transAxes)
            row[0].tick_params(left=False, labelleft=False, bottom=False, labelbottom=False)
            row[0].spines[:].set_visible(False)
        for ax, example in zip(row, examples, strict=False):
            ax.imshow(example["spectrogram"], origin="lower", aspect="auto", extent=extent, cmap="magma", vmin=0, vmax=255)  # fmt: skip
            recording, start = example["recording_id"].decode(), example["start_seconds"]
            ax.set_title(f"{recording} @ {start:.1f} s", fontsize=8)
        for ax in row[max(1, len(examples)) :]:
            ax.axis("off")
    for column in axes.T:  # time ticks and label under the lowest drawn panel of each column
        if drawn := [ax for ax in column if ax.images]:
            drawn[-1].tick_params(labelbottom=True)
            drawn[-1].set_xlabel("time (s)")
    output = output or f"{data_dir.rstrip('/')}/preview.png"
    figure.savefig(output)
    return output


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: the exit status of pipeline.cli (1 when the dataset is unusable)."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.preview",
        description="Writes a PNG grid of a dataset's spectrograms, one row per species.",
    )
    parser.add_argument("data_dir", metavar="DATASET_DIR", help="dataset built by pipeline.build")
    parser.add_argument("--output", metavar="PNG", help="file to write (default: DATASET_DIR/preview.png)")  # fmt: skip
    parser.add_argument("--split", default="train", choices=schemas.SPLITS, help="split to draw from (default: train)")  # fmt: skip
    parser.add_argument("--per-species", type=int, default=4, metavar="N", help="examples per species row (default: 4)")  # fmt: skip
    parser.add_argument("--max-species", type=int, default=0, metavar="N", help="only the first N species of labels.txt (default 0: all)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.per_species < 1 or args.max_species < 0:
        parser.error("--per-species must be at least 1 and --max-species at least 0")
    cli.quiet_start()
    import tensorflow as tf

    def preview() -> None:
        path = write_preview(args.data_dir, args.output, args.split, args.per_species, args.max_species)  # fmt: skip
        print(f"Preview written to {path}")

    errors = (schemas.DatasetFormatError, tf.errors.OpError, OSError)
    return cli.run(preview, errors, "the preview was not written")


if __name__ == "__main__":
    sys.exit(main())
