"""What pip learns about the installed package."""

import importlib.metadata


def test_requires_the_python_the_code_needs():
    # The code uses Python 3.11 features (datetime.UTC): pip must refuse older interpreters.
    assert importlib.metadata.metadata("birdsong-datasets")["Requires-Python"] == ">=3.11"
