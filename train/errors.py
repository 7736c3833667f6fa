"""Typed errors raised by training (all in one place); ``exit_code`` is the CLI's exit code."""
from __future__ import annotations

import runtime.errors


class DataError(runtime.errors.DataError):
    """A data file is missing, truncated or not what Fashion-MNIST should be."""


class OutputError(OSError):
    """The output directory cannot be created or written to."""

    exit_code = runtime.errors.EXIT_USAGE


class TrainingDivergedError(RuntimeError):
    """The loss (or the weights) became NaN or infinite; nothing was written."""

    exit_code = runtime.errors.EXIT_FAILED
