"""Installs the birdsong dataset builder and trainer (also ships them to Dataflow workers)."""

from pathlib import Path

import setuptools

REQUIREMENTS = [
    line.strip()
    for line in (Path(__file__).parent / "requirements.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]

setuptools.setup(
    name="birdsong-datasets",
    version="0.1.0",
    description="Bird recordings to split TFRecord spectrogram datasets, and an Inception-v3 trainer.",
    packages=setuptools.find_packages(include=["pipeline*", "trainer*", "schemas*"]),
    python_requires=">=3.11",
    install_requires=REQUIREMENTS,
)
