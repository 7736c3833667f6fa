"""Errors of the benchmark; the CLI turns them into one-line messages and their ``exit_code``."""
from __future__ import annotations

import runtime.errors

CREATE_HINT = "create them with `python -m train && python -m export --format all --quantize all`"


class BenchmarkError(RuntimeError):
    """A benchmark step failed (exit code 1)."""

    exit_code = runtime.errors.EXIT_FAILED


class UsageError(BenchmarkError, runtime.errors.UsageError):
    """Bad arguments or missing inputs: the user must act (exit code 2)."""

    exit_code = runtime.errors.EXIT_USAGE


class ArtifactsNotFoundError(UsageError):
    """``--model-dir`` is missing or holds no .onnx/.tflite artifacts."""
