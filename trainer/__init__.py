"""Keras trainer: fine-tunes Inception-v3 on the spectrogram datasets that pipeline.build writes."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's C++ info and warning spam


class TrainerError(Exception):
    """A problem the user can fix (flags, files, downloads), reported in one line."""
