"""edgeport runtime: run exported models with onnxruntime or LiteRT, without TensorFlow.

    >>> import runtime
    >>> model = runtime.load("artifacts/model.tflite")
    >>> model.predict(images)          # uint8 (N, 28, 28) raw pixels
"""
from .errors import (
    BackendUnavailableError,
    InferenceError,
    InvalidInputError,
    ModelFileError,
    TaskError,
    UntrustedModelError,
)
from .metadata import METADATA_KEY, ModelMetadata, Quantization
from .images import load_images
from .model import BACKENDS, SUFFIX_BACKENDS, Model, load

__all__ = [
    "BACKENDS",
    "SUFFIX_BACKENDS",
    "METADATA_KEY",
    "BackendUnavailableError",
    "InferenceError",
    "InvalidInputError",
    "Model",
    "ModelFileError",
    "ModelMetadata",
    "Quantization",
    "TaskError",
    "UntrustedModelError",
    "load",
    "load_images",
]
