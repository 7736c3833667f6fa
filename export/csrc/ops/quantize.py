"""QUANTIZE between int8 and uint8, and float32 -> int8 (an int8 model's float input). The uint8 -> int8
QUANTIZE of the graph's input is folded into the weighted ops that read it (they read the caller's
uint8 buffer and fold the offset in)."""
from __future__ import annotations

from ..errors import UnsupportedOpError
from ..ir import SUFFIX
from ..program import Alias
from ..quant import quantize_multiplier
from .base import OpDef, no_attrs

# ops whose int8 lowering also takes a uint8 view of their first input
TAKES_UINT8 = ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D")


def check(graph, op, quantized: bool) -> None:
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    if (x.dtype, y.dtype) == ("float32", "int8") and y.quantized and len(y.scale) == 1:
        return
    if x.dtype not in ("int8", "uint8") or y.dtype not in ("int8", "uint8") or not x.quantized or not y.quantized:
        raise UnsupportedOpError(op.kind, f"{x.dtype} -> {y.dtype}; expected int8/uint8 requantization or "
                                          "float32 -> int8")


def foldable(graph, op) -> bool:
    """uint8 graph input -> int8 with the same scale and zero point - 128, read only by ops that take
    uint8 (through RESHAPEs)."""
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    if op.inputs[0] not in graph.inputs or (x.dtype, y.dtype) != ("uint8", "int8"):
        return False
    if quantize_multiplier(x.qscale / y.qscale) != (1 << 30, 1) or y.qzero != x.qzero - 128:
        return False
    readers, frontier = [], [op.outputs[0]]
    while frontier:
        t = frontier.pop()
        if t in graph.outputs:
            return False
        for c in graph.consumers(t):
            if c.kind == "RESHAPE":
                frontier.append(c.outputs[0])
            else:
                readers.append((c, t))
    return bool(readers) and all(c.kind in TAKES_UINT8 and c.inputs[0] == t and t not in c.inputs[1:]
                                 for c, t in readers)


def lower_int8(ctx, op):
    x, y = ctx.t(op.inputs[0]), ctx.t(op.outputs[0])
    if foldable(ctx.graph, op):
        return Alias(op.inputs[0], "uint8", -128)
    if x.dtype == "float32":
        body = [f"enum {{ SIZE = {x.size}, ZERO_POINT = {y.qzero} }};",
                f"quantize_f32_s8(in, out, SIZE, {y.qscale!r}f, ZERO_POINT);"]
        return ctx.step(op, f"QUANTIZE float32 -> int8, {x.size} values", body, ["quantize_f32_s8"])
    mult, shift = quantize_multiplier(x.qscale / y.qscale)
    kernel = f"requantize_{SUFFIX[x.dtype]}_{SUFFIX[y.dtype]}"
    body = [f"enum {{ SIZE = {x.size}, IN_ZERO_POINT = {x.qzero}, OUT_ZERO_POINT = {y.qzero}, SHIFT = {shift} }};",
            f"const int32_t multiplier = {mult};",
            f"{kernel}(in, out, SIZE, IN_ZERO_POINT, OUT_ZERO_POINT, multiplier, SHIFT);"]
    return ctx.step(op, f"QUANTIZE {x.dtype} -> {y.dtype}", body, [kernel])


OP = OpDef(("QUANTIZE",), no_attrs, check, lower_int8, None, ("quantize.c",))
