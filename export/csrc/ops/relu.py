"""Standalone RELU and RELU6: int8 as TFLite Micro (RELU rescales; RELU6 clamps the raw values), float32."""
from __future__ import annotations

import math

import numpy as np

from ..errors import UnsupportedOpError
from ..quant import quantize_multiplier
from .base import OpDef, expect_unary, no_attrs


def check(graph, op, quantized: bool) -> None:
    x, y = expect_unary(graph, op, quantized)
    if x.size != y.size:
        raise UnsupportedOpError(op.kind, f"{x.shape} -> {y.shape}")


def _round_half_away(v: float) -> int:
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def lower_int8(ctx, op):
    x, y = ctx.t(op.inputs[0]), ctx.t(op.outputs[0])
    if op.kind == "RELU6":
        # TFLite Micro's Relu6 clamps raw input values to [zero point, quantized 6.0] in the input's scale
        six = _round_half_away(float(np.float32(6.0) / np.float32(x.qscale))) + x.qzero
        lo, hi = x.qzero, max(-128, min(127, six))
        body = [f"enum {{ SIZE = {x.size}, LO = {lo}, HI = {hi} }};", "clamp_s8(in, out, SIZE, LO, HI);"]
        return ctx.step(op, f"RELU6 over {x.size} values", body, ["clamp_s8"])
    mult, shift = quantize_multiplier(float(np.float32(x.qscale) / np.float32(y.qscale)))
    lo = max(-128, y.qzero)
    body = [f"enum {{ SIZE = {x.size}, IN_ZERO_POINT = {x.qzero}, OUT_ZERO_POINT = {y.qzero}, SHIFT = {shift}, "
            f"ACT_MIN = {lo}, ACT_MAX = 127 }};",
            f"const int32_t multiplier = {mult};",
            "relu_s8(in, out, SIZE, IN_ZERO_POINT, multiplier, SHIFT, OUT_ZERO_POINT, ACT_MIN, ACT_MAX);"]
    return ctx.step(op, f"RELU over {x.size} values", body, ["relu_s8"])


def lower_fp32(ctx, op):
    x = ctx.t(op.inputs[0])
    hi = "6.0f" if op.kind == "RELU6" else "3.402823466e+38f"
    body = [f"enum {{ SIZE = {x.size} }};", f"clamp_f32(in, out, SIZE, 0.0f, {hi});"]
    return ctx.step(op, f"{op.kind} over {x.size} values", body, ["clamp_f32"])


OP = OpDef(("RELU", "RELU6"), no_attrs, check, lower_int8, lower_fp32, ("activations.c",))
