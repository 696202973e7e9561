"""What pip learns about the installed package."""

import importlib.metadata


def test_requires_a_python_the_code_and_its_wheels_run_on():
    # datetime.UTC needs 3.11; TensorFlow 2.21 has no wheels for 3.14.
    assert importlib.metadata.metadata("birdsong-datasets")["Requires-Python"] == ">=3.11,<3.14"
