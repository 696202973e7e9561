"""What pip learns about the installed package, and what each environment asks pip for."""

import importlib.metadata
import pathlib
import re


def test_requires_a_python_the_code_and_its_wheels_run_on():
    # datetime.UTC needs 3.11; TensorFlow 2.21 has no wheels for 3.14.
    assert importlib.metadata.metadata("birdsong-datasets")["Requires-Python"] == ">=3.11,<3.14"


def _package_names(requirements: str) -> set[str]:
    """The package names a requirements file lists (no versions, extras or markers)."""
    text = pathlib.Path(requirements).read_text(encoding="utf-8")
    lines = (line.split("#")[0].strip() for line in text.splitlines())
    return {re.split(r"[\[<>=!~;\s]", line)[0].lower() for line in lines if line}


def test_the_tensorflow_io_environment_has_every_package_the_job_imports():
    # It runs the builder too (--decoder tensorflow-io), on older pins of the same packages.
    job = _package_names("requirements.txt") - {"protobuf", "audioop-lts"}  # pinned by TF 2.17
    missing = job - _package_names("requirements-tensorflow-io.txt")
    assert not missing, f"requirements-tensorflow-io.txt lacks {sorted(missing)}"
