"""DEQUANTIZE int8 / uint8 -> float32 (the float output of an int8 model), as TFLite Micro."""
from __future__ import annotations

from ..errors import UnsupportedOpError
from ..ir import SUFFIX
from .base import OpDef, no_attrs


def check(graph, op, quantized: bool) -> None:
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    if x.dtype not in ("int8", "uint8") or not x.quantized or y.dtype != "float32":
        raise UnsupportedOpError(op.kind, f"{x.dtype} -> {y.dtype}; expected quantized int8 or uint8 -> float32")
    if len(x.scale) != 1:
        raise UnsupportedOpError(op.kind, "per-channel quantized input")


def lower_int8(ctx, op):
    x = ctx.t(op.inputs[0])
    kernel = f"dequantize_{SUFFIX[ctx.view(op.inputs[0]).dtype]}"
    scale = float(x.scale[0])
    body = [f"enum {{ SIZE = {x.size}, ZERO_POINT = {x.qzero} }};",
            f"{kernel}(in, out, SIZE, ZERO_POINT, {scale!r}); /* scale {scale!r} in double */"]
    return ctx.step(op, f"DEQUANTIZE {x.dtype} -> float32, {x.size} values", body, [kernel])


OP = OpDef(("DEQUANTIZE",), no_attrs, check, lower_int8, None, ("dequantize.c",))
