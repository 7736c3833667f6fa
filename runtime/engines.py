"""The inference engines behind ``runtime.load``, for tools that look below the ``Model`` API.

Public names for other packages (benchmarks, export): the engine classes, the TFLite metadata
reader and onnxruntime's session options (``runtime.usable_cores`` is public in the package).
The modules they live in (``runtime._onnx``, ``runtime._litert``) stay private.
Importing this module imports neither onnxruntime nor LiteRT: each engine loads on first use.
"""
from __future__ import annotations

from ._litert import LiteRTBackend, read_tflite_metadata
from ._onnx import SPINNING_KEY, OnnxBackend, session_options

__all__ = [
    "SPINNING_KEY",
    "LiteRTBackend",
    "OnnxBackend",
    "read_tflite_metadata",
    "session_options",
]
