"""CONCATENATION of several inputs along one axis: a copy (TFLite Micro requires one quantization)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedOpError
from ..ir import ITEMSIZE
from .base import OpDef, activation, check_activation


@dataclass(frozen=True)
class Attrs:
    axis: int
    activation: str


def parse(options) -> Attrs:
    return Attrs(int(options.axis), activation(options))


def check(graph, op, quantized: bool) -> None:
    check_activation(op, op.attrs.activation)
    if op.attrs.activation != "NONE":
        raise UnsupportedOpError(op.kind, f"fused activation {op.attrs.activation}")
    y = graph.t(op.outputs[0])
    axis = op.attrs.axis % len(y.shape) if y.shape else 0
    for i in op.inputs:
        x = graph.t(i)
        if x.dtype != y.dtype or x.dtype not in ("int8", "float32"):
            raise UnsupportedOpError(op.kind, f"input {x.name!r} is {x.dtype}, output {y.dtype}; "
                                              "expected int8 or float32")
        if len(x.shape) != len(y.shape) or any(a != b for d, (a, b) in enumerate(zip(x.shape, y.shape)) if d != axis):
            raise UnsupportedOpError(op.kind, f"input shape {x.shape} does not match output {y.shape} off axis {axis}")
        if y.dtype == "int8" and (x.qscale, x.qzero) != (y.qscale, y.qzero):
            raise UnsupportedOpError(op.kind, "inputs and output must share one quantization (as in TFLite Micro)")
    if sum(graph.t(i).shape[axis] for i in op.inputs) != y.shape[axis]:
        raise UnsupportedOpError(op.kind, f"inputs do not add up to {y.shape} along axis {axis}")


def lower(ctx, op):
    y = ctx.t(op.outputs[0])
    axis = op.attrs.axis % len(y.shape)
    outer = int(np.prod(y.shape[:axis], dtype=np.int64))
    inner = int(np.prod(y.shape[axis + 1:], dtype=np.int64))
    size = ITEMSIZE[y.dtype]
    body, offset = [f"enum {{ OUTER = {outer}, STRIDE = {y.shape[axis] * inner * size} }};"], 0
    for k, i in enumerate(op.inputs):
        block = ctx.t(i).shape[axis] * inner
        src = "in" if len(op.inputs) == 1 else f"in{k}"
        body.append(f"concat_copy({src}, out + {offset}, OUTER, {block * size}, STRIDE);")
        offset += block
    comment = f"CONCATENATION of {len(op.inputs)} inputs along axis {axis} -> {'x'.join(map(str, y.shape))}"
    return ctx.step(op, comment, body, ["concat_copy"], inputs=list(op.inputs))


OP = OpDef(("CONCATENATION",), parse, check, lower, lower, ("copy.c",))
