"""RESHAPE (and SQUEEZE-like reshapes): no data moves; the output aliases the input's storage."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnsupportedOpError
from ..program import Alias
from .base import OpDef


@dataclass(frozen=True)
class Attrs:
    new_shape: tuple[int, ...] | None


def parse(options) -> Attrs:
    shape = getattr(options, "newShape", None) if options is not None else None
    return Attrs(tuple(int(d) for d in shape) if shape is not None else None)


def check(graph, op, quantized: bool) -> None:
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    if x.size != y.size or x.dtype != y.dtype:
        raise UnsupportedOpError(op.kind, f"{x.dtype} {x.shape} -> {y.dtype} {y.shape}")
    if x.quantized and (x.qscale, x.qzero) != (y.qscale, y.qzero):
        raise UnsupportedOpError(op.kind, "input and output quantization differ")


def lower(ctx, op):
    return Alias(op.inputs[0])


OP = OpDef(("RESHAPE",), parse, check, lower, lower, ())
