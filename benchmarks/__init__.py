"""edgeport benchmarks: ``python -m benchmarks`` measures every exported artifact
through ``runtime`` against Keras, bare-backend and NumPy baselines.

``run_benchmarks(...)`` (in ``benchmarks.runner``) is the plain-function entry
point; it returns the report dict. Importing this package imports nothing heavy
(``run_benchmarks`` is resolved lazily), so the measuring subprocesses that run
``-m benchmarks._keras_worker`` start clean.
"""
from __future__ import annotations

from typing import Any

__all__ = ["run_benchmarks"]


def __getattr__(name: str) -> Any:
    if name == "run_benchmarks":
        from .runner import run_benchmarks

        return run_benchmarks
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
