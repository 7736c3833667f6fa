"""Errors of the benchmark; the CLI turns them into one-line messages."""
from __future__ import annotations

CREATE_HINT = "create them with `python -m train && python -m export --format all --quantize all`"


class BenchmarkError(RuntimeError):
    """A benchmark step failed (exit code 1)."""


class UsageError(BenchmarkError, ValueError):
    """Bad arguments or missing inputs: the user must act (exit code 2)."""


class ArtifactsNotFoundError(UsageError):
    """``--model-dir`` is missing or holds no .onnx/.tflite artifacts."""
