"""Typed errors raised by the runtime (all in one place), and the bases every package's errors share.

Each error class carries the exit code a command-line tool gives for it (``exit_code``: 2 for
usage and input errors, 1 for a run that failed); ``runtime.cli`` reports them.
"""
from __future__ import annotations

EXIT_FAILED, EXIT_USAGE = 1, 2


def first_line(e: BaseException) -> str:
    """The first line of an exception's message ("" if it has none): engines, converters and
    Keras write pages."""
    text = str(e).strip()
    return text.splitlines()[0] if text else ""


class UsageError(ValueError):
    """An argument or flag of the wrong type or out of range, or a missing input: the user must act."""

    exit_code = EXIT_USAGE


class DataError(ValueError):
    """Data given to a tool (a dataset, validation or calibration data) is missing, unreadable,
    or does not fit the model."""

    exit_code = EXIT_USAGE


class InvalidInputError(ValueError):
    """An input array breaks the input contract (shape, dtype, range, NaN/Inf)."""

    exit_code = EXIT_USAGE


class ModelFileError(ValueError):
    """A model file is corrupt, mis-named, unsupported, or lacks edgeport metadata."""

    exit_code = EXIT_USAGE


class BackendUnavailableError(ImportError):
    """The inference engine (or the signature library) a model needs is not installed."""

    exit_code = EXIT_USAGE


class TaskError(TypeError):
    """The model's task does not allow this: a call the task does not support (e.g. predict_proba
    on a regressor), or a task that cannot be read from the model or contradicts it."""

    exit_code = EXIT_USAGE


class UntrustedModelError(ModelFileError):
    """Trusted keys were given, and the model is unsigned or not signed by one of them."""


class InferenceError(RuntimeError):
    """The engine failed on a verified model and valid input (e.g. out of memory); holds the
    engine's message. The Model stays usable."""

    exit_code = EXIT_FAILED
