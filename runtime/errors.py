"""Typed errors raised by the runtime (all in one place)."""
from __future__ import annotations


class InvalidInputError(ValueError):
    """An input array breaks the input contract (shape, dtype, range, NaN/Inf)."""


class ModelFileError(ValueError):
    """A model file is corrupt, mis-named, unsupported, or lacks edgeport metadata."""


class BackendUnavailableError(ImportError):
    """The inference engine a model needs is not installed."""


class TaskError(TypeError):
    """A call that the model's task does not support (e.g. predict_proba on a regressor)."""


class InferenceError(RuntimeError):
    """The engine failed to run a batch (e.g. out of memory); the Model stays usable."""
