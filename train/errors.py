"""Typed errors raised by training (all in one place)."""
from __future__ import annotations


class DataError(ValueError):
    """A data file is missing, truncated or not what Fashion-MNIST should be."""


class OutputError(OSError):
    """The output directory cannot be created or written to."""


class TrainingDivergedError(RuntimeError):
    """The loss (or the weights) became NaN or infinite; nothing was written."""
