"""Typed errors raised by the exporter (all in one place); ``exit_code`` is the CLI's exit code.

Errors named as the runtime's (``DataError``, ``UsageError``, ``TaskError``) are kinds of them.
"""
from __future__ import annotations

import runtime.errors
from runtime.errors import EXIT_FAILED, EXIT_USAGE, first_line  # noqa: F401  (export's name for it)


class ExportError(ValueError):
    """Base class of every export error."""

    exit_code = EXIT_USAGE


class UnsupportedFormatError(ExportError):
    """An unknown format, or a quantization mode the format does not support."""


class ModelLoadError(ExportError):
    """The source Keras model is missing or cannot be loaded."""


class ConversionError(ExportError):
    """A converter failed, or produced an artifact that breaks a requirement (e.g. Flex ops)."""


class ReportedError(ExportError):
    """The run failed on what it built; ``reports`` holds every artifact's report (exit code 1)."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, reports: list | None = None) -> None:
        super().__init__(message)
        self.reports = reports or []


class ValidationError(ReportedError):
    """One or more artifacts failed validation against Keras; ``reports`` holds the details."""


class DataError(ExportError, runtime.errors.DataError):
    """Validation or calibration data is missing, unreadable, or does not fit the model."""


class UsageError(ExportError, runtime.errors.UsageError):
    """An argument of run_export (or a CLI flag) is of the wrong type or out of range."""


class TaskError(ExportError, runtime.errors.TaskError):
    """The model's task cannot be read from its output without ``--task``, or contradicts it."""


class UnknownLayerError(ExportError):
    """A layer name (e.g. in ``--keep-float``) that the Keras model does not have."""


class TargetNotReachedError(ReportedError):
    """``--target-agreement`` was not met; the best variant found was still installed."""
