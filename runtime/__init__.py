"""edgeport runtime: run exported models with onnxruntime or LiteRT, without TensorFlow.

    >>> import runtime
    >>> model = runtime.load("artifacts/model.tflite")
    >>> model.predict(images)          # uint8 (N, 28, 28) raw pixels
"""
from .errors import (
    BackendUnavailableError,
    DataError,
    InferenceError,
    InvalidInputError,
    ModelFileError,
    TaskError,
    UntrustedModelError,
    UsageError,
)
from .metadata import METADATA_KEY, ModelMetadata, Quantization
from .images import load_images
from ._onnx import SPINNING_KEY as ORT_SPINNING_KEY
from ._onnx import session_options as onnx_session_options
from .model import BACKENDS, SUFFIX_BACKENDS, Model, load, takes_raw_uint8
from ._dispatch import usable_cores

__all__ = [
    "BACKENDS",
    "SUFFIX_BACKENDS",
    "METADATA_KEY",
    "BackendUnavailableError",
    "DataError",
    "InferenceError",
    "InvalidInputError",
    "Model",
    "ModelFileError",
    "ModelMetadata",
    "Quantization",
    "TaskError",
    "UntrustedModelError",
    "UsageError",
    "ORT_SPINNING_KEY",
    "load",
    "onnx_session_options",
    "takes_raw_uint8",
    "load_images",
    "usable_cores",
]
