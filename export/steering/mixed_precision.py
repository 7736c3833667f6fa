"""Mixed precision: keep named Keras layers in float, by hand or until an agreement target.

Where a float island is possible:

| variant | how | search |
|---|---|---|
| ONNX ``dynamic``, ``int8`` | onnxruntime ``nodes_to_exclude`` | yes |
| TFLite ``int8`` with ``--io-dtype float32`` | converter's quantization-debugger denylist | yes |
| TFLite ``int8`` with integer I/O, the C target | no: microcontroller variants stay integer-only | no |
| ``int16x8``, ``float16``, TFLite ``dynamic`` | no (the converters offer no per-op exclusion there) | no |

``--target-agreement`` ranks the layers by the per-layer report (largest share of error
first) and keeps them in float one more at a time until the target is met or every
layer has been tried; the best variant wins either way and its recipe (layers kept, size,
accuracy, agreement, p50 latency) goes into the artifact's metadata and the report.
"""
from __future__ import annotations

import gc
import logging
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import ConversionError, UnknownLayerError, UsageError
from .layer_map import KerasLayout, assign_layers, onnx_ops, tflite_ops

logger = logging.getLogger(__name__)

RECIPE_KEY = "quantization_recipe"
LATENCY_RUNS = 300


@dataclass(frozen=True)
class Steering:
    """What ``--keep-float``, ``--layer-report`` and ``--target-agreement`` asked for."""

    keep_float: tuple[str, ...] = ()
    layer_report: bool = False
    target_agreement: float | None = None
    # size limit (x fp32) for variants with float layers; None: their size is only reported
    max_size_ratio: float | None = None

    def __post_init__(self) -> None:
        t = self.target_agreement
        if t is not None and not 0.0 < t <= 1.0:
            raise UsageError(f"target agreement must be in (0, 1], got {t}")
        if self.max_size_ratio is not None and not self.max_size_ratio > 0:
            raise UsageError(f"max size ratio must be > 0, got {self.max_size_ratio}")

    def thresholds_for(self, thresholds, kept: tuple[str, ...]):
        """Float layers cost size on purpose: their variants get ``max_size_ratio`` instead."""
        return replace(thresholds, max_size_ratio=self.max_size_ratio) if kept else thresholds

    @property
    def active(self) -> bool:
        return bool(self.keep_float or self.layer_report or self.target_agreement is not None)

    @classmethod
    def parse(
        cls, keep_float: str | None = None, layer_report: bool = False, target: float | None = None,
        max_size_ratio: float | None = None,
    ) -> "Steering":
        """From the CLI's comma-separated ``--keep-float`` list."""
        names = tuple(dict.fromkeys(n.strip() for n in (keep_float or "").split(",") if n.strip()))
        return cls(names, layer_report, target, max_size_ratio)


def supports_float_island(fmt: str, mode: str, io_dtype: str) -> bool:
    """True where a variant may keep layers in float (and the target search may run)."""
    return (fmt, mode) in (("onnx", "dynamic"), ("onnx", "int8")) or (fmt, mode, io_dtype) == ("tflite", "int8", "float32")


def check_layer_names(names: tuple[str, ...], layout: KerasLayout) -> None:
    """Raise UnknownLayerError for names the model lacks, listing the valid ones."""
    unknown = [n for n in names if n not in layout.layer_names]
    if unknown:
        raise UnknownLayerError(
            f"unknown layer name(s) {unknown} for --keep-float; the model's layers are {list(layout.layer_names)}"
        )


def onnx_exclusions(fp32_path: str | Path, layout: KerasLayout, layers: tuple[str, ...]) -> list[str]:
    """Node names of ``layers`` in the graph ``quantize_onnx`` quantizes (after its pre-processing)."""
    if not layers:
        return []
    import onnx
    from onnxruntime.quantization import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        prepped = Path(tmp) / "prepped.onnx"
        quant_pre_process(str(fp32_path), str(prepped), skip_symbolic_shape=True)
        ops, outputs = onnx_ops(onnx.load(str(prepped)))
    owners = assign_layers(ops, outputs, layout)
    nodes = []
    for op, layer in zip(ops, owners):
        if layer in layers:
            nodes.append(op.name)
            if op.op_type == "Gemm":  # quantize_dynamic first splits Gemm into <name>_MatMul + <name>_Add
                nodes += [f"{op.name}_MatMul", f"{op.name}_Add"]
    _require_nodes(layers, {l for l in owners if l in layers})
    return nodes


def convert_with_float_layers(converter, model, images: np.ndarray, layers: tuple[str, ...]) -> bytes:
    """Full-int8 conversion (float I/O) with ``layers`` denylisted, through the quantization debugger.

    The denylist names ops by their output tensor in the *calibrated* model, which the
    debugger builds first; those names are mapped to Keras layers like any artifact's.
    """
    import tensorflow as tf

    layout = KerasLayout.from_model(model)
    check_layer_names(layers, layout)
    dataset = lambda: ([images[i : i + 1]] for i in range(min(len(images), 8)))  # noqa: E731
    try:
        debugger = tf.lite.experimental.QuantizationDebugger(converter=converter, debug_dataset=dataset)
        ops, outputs, _ = tflite_ops(debugger.calibrated_model)
        owners = assign_layers(ops, outputs, layout)
        _require_nodes(layers, {l for l in owners if l in layers})
        nodes = [op.name for op, layer in zip(ops, owners) if layer in layers]
        debugger.options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=nodes)
        return debugger.get_nondebug_quantized_model()
    except (UnknownLayerError, ConversionError):
        raise
    except Exception as e:  # the converter raises assorted types
        raise ConversionError(f"TFLite conversion with float layers {list(layers)} failed: {type(e).__name__}: {e}") from e


def _require_nodes(layers: tuple[str, ...], found: set[str]) -> None:
    missing = [l for l in layers if l not in found]
    if missing:
        raise UnknownLayerError(f"layer(s) {missing} have no ops in the converted graph (nothing to keep in float)")


@dataclass
class SearchStep:
    """One candidate of the target search."""

    kept_float: list[str]
    agreement: float
    accuracy: float
    size_bytes: int
    p50_us: float
    ok: bool


@dataclass
class SearchResult:
    target: float
    steps: list[SearchStep] = field(default_factory=list)

    @property
    def best(self) -> SearchStep:
        valid = [s for s in self.steps if s.ok] or self.steps
        # highest agreement; among equals, fewer float layers (smaller, faster)
        return max(valid, key=lambda s: (s.agreement, -len(s.kept_float)))

    @property
    def reached(self) -> bool:
        return self.best.agreement >= self.target

    def recipe(self) -> dict:
        b = self.best
        return {
            "target_agreement": self.target,
            "reached": self.reached,
            "kept_float": b.kept_float,
            "agreement": b.agreement,
            "accuracy": b.accuracy,
            "size_bytes": b.size_bytes,
            "p50_us_batch1": b.p50_us,
            "steps": [s.__dict__ for s in self.steps],
        }


def search_target(
    target: float,
    ranked_layers: list[str],
    start: tuple[str, ...],
    trial: Callable[[tuple[str, ...]], SearchStep],
) -> SearchResult:
    """Keep the worst layers in float one more at a time until ``target`` is met."""
    result = SearchResult(target)
    kept = tuple(start)
    result.steps.append(trial(kept))
    for layer in (l for l in ranked_layers if l not in start):
        if result.steps[-1].agreement >= target and result.steps[-1].ok:
            break
        kept = (*kept, layer)
        logger.info("target search: keeping %s in float", list(kept))
        result.steps.append(trial(kept))
    return result


def p50_latency_us(path: Path, image: np.ndarray, runs: int = LATENCY_RUNS) -> float:
    """Median batch-1 latency through ``runtime`` (one thread), in microseconds."""
    import runtime

    model = runtime.load(path, num_threads=1)
    x = image[np.newaxis]
    for _ in range(50):
        model.predict_proba(x)
    gc.disable()
    try:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter_ns()
            model.predict_proba(x)
            times.append(time.perf_counter_ns() - t0)
    finally:
        gc.enable()
    return float(np.median(times)) / 1000.0
