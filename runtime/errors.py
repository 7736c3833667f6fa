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


class UntrustedModelError(ModelFileError):
    """Trusted keys were given, and the model is unsigned or not signed by one of them."""


class InferenceError(RuntimeError):
    """The engine failed on a verified model and valid input (e.g. out of memory); holds the
    engine's message. The Model stays usable."""
