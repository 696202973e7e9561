"""Installs the birdsong dataset builder and trainer (also ships the builder to Dataflow workers).

`pip install .` gives what the Beam job imports (requirements.txt): that is all a Dataflow worker
installs from `--setup_file`. `pip install .[train]` adds the trainer's TensorFlow and Keras.
"""

from pathlib import Path

import setuptools


def requirements(name: str) -> list[str]:
    """The requirement lines of a requirements file, without comments."""
    lines = (Path(__file__).parent / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


setuptools.setup(
    name="birdsong-datasets",
    version="0.2.0",
    description="Bird recordings to TFRecord spectrogram datasets split by recording, and a species classifier trainer.",
    packages=setuptools.find_packages(include=["frontend*", "pipeline*", "trainer*", "schemas*"]),
    # 3.11 for datetime.UTC; < 3.14 as TensorFlow 2.21 has no wheels for 3.14 (tested: 3.11-3.13).
    python_requires=">=3.11,<3.14",
    install_requires=requirements("requirements.txt"),
    extras_require={"train": requirements("requirements-train.txt")},
)
