"""Keras trainer on the spectrogram datasets that pipeline.build writes: Inception-v3 fine-tuned
(head first, then all layers) or a compact CNN trained from scratch, evaluation and prediction."""


class TrainerError(Exception):
    """A problem the user can fix (flags, files, downloads), reported in one line."""
