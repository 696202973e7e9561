"""Training-step throughput (images/s) of both phases of trainer/model.py on this CPU.

    python -m benchmarks.training        (about 4 minutes; writes results/training.json)

Small images (75 and 150 pixels), no pretrained weights, random uint8 spectrograms of the
builder's default shape, the trainer's optimizer and loss; each configuration in a fresh
interpreter. The real run (299x299, mixed precision) needs a GPU; none was available here.
"""

from __future__ import annotations

import os
import time

from benchmarks.common import in_fresh_process, machine, save

HEIGHT, WIDTH, CLASSES = 224, 343, 8
BATCH = 16
WARM_UP_STEPS = 2
STEPS = 6


def step_rate(image_size: int, phase: int) -> dict:
    """Images per second of model.fit steps after compilation and warm-up."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf

    from trainer.model import build_model, set_phase

    model = build_model(HEIGHT, WIDTH, CLASSES, image_size=image_size, weights=None, seed=0)
    set_phase(model, phase)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.CategoricalCrossentropy(),
        metrics=[keras.metrics.CategoricalAccuracy()],
    )
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (BATCH, HEIGHT, WIDTH), dtype=np.uint8)
    labels = np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, BATCH)]
    data = tf.data.Dataset.from_tensors((images, labels)).repeat()
    model.fit(data, steps_per_epoch=WARM_UP_STEPS, epochs=1, verbose=0, shuffle=False)
    start = time.perf_counter()
    model.fit(data, steps_per_epoch=STEPS, epochs=1, verbose=0, shuffle=False)
    wall = time.perf_counter() - start
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return {
        "image_size": image_size,
        "phase": phase,
        "trainable_parameters": trainable,
        "images_per_s": round(STEPS * BATCH / wall, 1),
        "wall_s": round(wall, 2),
        "load_avg_1min_after": round(os.getloadavg()[0], 2),
    }


def main() -> dict:
    runs = {}
    for image_size in (75, 150):
        for phase in (1, 2):
            print(f"image size {image_size}, phase {phase} ...")
            runs[f"size{image_size}_phase{phase}"] = in_fresh_process(step_rate, image_size, phase)
    results = {
        "machine": machine(),
        "batch_size": BATCH,
        "runs": runs,
        "ratios": {
            f"phase1_vs_phase2_size{s}": round(
                runs[f"size{s}_phase1"]["images_per_s"] / runs[f"size{s}_phase2"]["images_per_s"], 2
            )
            for s in (75, 150)
        },
        "gpu": "not measured: 299x299 mixed-precision training needs a GPU, none was available",
    }
    print(f"\n{'configuration':<18}{'images/s':>10}{'trainable':>12}")
    for name, figures in runs.items():
        print(f"{name:<18}{figures['images_per_s']:>10}{figures['trainable_parameters']:>12}")
    save("training", results)
    return results


if __name__ == "__main__":
    main()
