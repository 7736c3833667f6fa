"""LEAKY_RELU: int8 as TFLite Micro (one multiplier per sign), and float32."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedOpError
from ..quant import quantize_multiplier
from .base import OpDef, expect_unary


@dataclass(frozen=True)
class Attrs:
    alpha: float


def parse(options) -> Attrs:
    return Attrs(float(np.float32(options.alpha)))


def check(graph, op, quantized: bool) -> None:
    x, y = expect_unary(graph, op, quantized)
    if quantized and op.attrs.alpha < 0:
        raise UnsupportedOpError(op.kind, f"alpha {op.attrs.alpha} < 0")


def lower_int8(ctx, op):
    x, y = ctx.t(op.inputs[0]), ctx.t(op.outputs[0])
    sx, sy, alpha = np.float32(x.qscale), np.float32(y.qscale), np.float32(op.attrs.alpha)
    id_mult, id_shift = quantize_multiplier(float(sx / sy))   # TFLite Micro divides in float
    a_mult, a_shift = quantize_multiplier(float(sx * alpha / sy))
    body = [f"enum {{ SIZE = {x.size}, IN_ZERO_POINT = {x.qzero}, OUT_ZERO_POINT = {y.qzero}, "
            f"IDENTITY_SHIFT = {id_shift}, ALPHA_SHIFT = {a_shift} }};",
            f"const int32_t identity_multiplier = {id_mult}, alpha_multiplier = {a_mult};",
            "leaky_relu_s8(in, out, SIZE, IN_ZERO_POINT, OUT_ZERO_POINT, identity_multiplier, IDENTITY_SHIFT,",
            "              alpha_multiplier, ALPHA_SHIFT);"]
    return ctx.step(op, f"LEAKY_RELU over {x.size} values, alpha {op.attrs.alpha:g}", body, ["leaky_relu_s8"])


def lower_fp32(ctx, op):
    x = ctx.t(op.inputs[0])
    body = [f"enum {{ SIZE = {x.size} }};", f"leaky_relu_f32(in, out, SIZE, {op.attrs.alpha!r}f);"]
    return ctx.step(op, f"LEAKY_RELU over {x.size} values, alpha {op.attrs.alpha:g}", body, ["leaky_relu_f32"])


OP = OpDef(("LEAKY_RELU",), parse, check, lower_int8, lower_fp32, ("activations.c",))
