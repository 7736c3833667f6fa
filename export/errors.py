"""Typed errors raised by the exporter (all in one place)."""
from __future__ import annotations


class ExportError(ValueError):
    """Base class of every export error."""


class UnsupportedFormatError(ExportError):
    """An unknown format, or a quantization mode the format does not support."""


class ModelLoadError(ExportError):
    """The source Keras model is missing or cannot be loaded."""


class ConversionError(ExportError):
    """A converter failed, or produced an artifact that breaks a requirement (e.g. Flex ops)."""


class ValidationError(ExportError):
    """One or more artifacts failed validation against Keras; ``reports`` holds the details."""

    def __init__(self, message: str, reports: list | None = None) -> None:
        super().__init__(message)
        self.reports = reports or []


class DataError(ExportError):
    """Validation or calibration data is missing, unreadable, or does not fit the model."""


class UsageError(ExportError):
    """An argument of run_export (or a CLI flag) is of the wrong type or out of range."""


class TaskError(ExportError):
    """The model's task cannot be read from its output without ``--task``, or contradicts it."""


class UnknownLayerError(ExportError):
    """A layer name (e.g. in ``--keep-float``) that the Keras model does not have."""


class TargetNotReachedError(ExportError):
    """``--target-agreement`` was not met; the best variant found was still installed."""

    def __init__(self, message: str, reports: list | None = None) -> None:
        super().__init__(message)
        self.reports = reports or []


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (converters and Keras write pages)."""
    text = str(e).strip()
    return text.splitlines()[0] if text else ""
