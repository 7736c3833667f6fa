"""The inference engines behind ``runtime.load``, for tools that look below the ``Model`` API.

Public names for other packages (benchmarks, export): the engine classes, the TFLite metadata
reader, onnxruntime's session options and the thread facts the dispatcher uses. The modules
they live in (``runtime._onnx``, ``runtime._litert``, ``runtime._dispatch``) stay private.
Importing this module imports neither onnxruntime nor LiteRT: each engine loads on first use.
"""
from __future__ import annotations

from ._dispatch import PROBE_EVERY, usable_cores
from ._litert import LiteRTBackend, read_tflite_metadata
from ._onnx import SPINNING_KEY, OnnxBackend, session_options

__all__ = [
    "PROBE_EVERY",
    "SPINNING_KEY",
    "LiteRTBackend",
    "OnnxBackend",
    "read_tflite_metadata",
    "session_options",
    "usable_cores",
]
