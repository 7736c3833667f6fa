"""HARD_SWISH: int8 as TFLite Micro's reference kernel (16-bit multipliers), and float32."""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOpError
from ..quant import quantize_multiplier
from .base import OpDef, expect_unary, no_attrs
from .common import lower_per_value_f32


def _int16_multiplier(m: int) -> int:
    """DownScaleInt32ToInt16Multiplier."""
    return 32767 if m >= 2**31 - 1 - (1 << 15) else (m + (1 << 15)) >> 16


def hard_swish_params(in_scale: float, out_scale: float) -> tuple[int, int, int, int]:
    """(output multiplier, output exponent, reluish multiplier, reluish exponent), all float math as TFLM."""
    hires = np.float32(1.0 / 128.0) * np.float32(in_scale)
    out_m, out_e = quantize_multiplier(float(hires / np.float32(out_scale)))
    relu_m, relu_e = quantize_multiplier(float(hires / np.float32(3.0 / 32768.0)))
    return _int16_multiplier(out_m), out_e, _int16_multiplier(relu_m), relu_e


def check(graph, op, quantized: bool) -> None:
    x, y = expect_unary(graph, op, quantized)
    if quantized and hard_swish_params(x.qscale, y.qscale)[1] > 0:
        raise UnsupportedOpError(op.kind, "output scale below input scale / 128 (TFLite Micro refuses it)")


def lower_int8(ctx, op):
    x, y = ctx.t(op.inputs[0]), ctx.t(op.outputs[0])
    out_m, out_e, relu_m, relu_e = hard_swish_params(x.qscale, y.qscale)
    body = [f"enum {{ SIZE = {x.size}, IN_ZERO_POINT = {x.qzero}, OUT_ZERO_POINT = {y.qzero}, "
            f"OUT_EXPONENT = {out_e}, RELU_EXPONENT = {relu_e} }};",
            f"const int16_t out_multiplier = {out_m}, relu_multiplier = {relu_m};",
            "hard_swish_s8(in, out, SIZE, IN_ZERO_POINT, OUT_ZERO_POINT, out_multiplier, OUT_EXPONENT,",
            "              relu_multiplier, RELU_EXPONENT);"]
    return ctx.step(op, f"HARD_SWISH over {x.size} values", body, ["hard_swish_s8"])


def lower_fp32(ctx, op):
    return lower_per_value_f32(ctx, op, "hard_swish_f32")


OP = OpDef(("HARD_SWISH",), no_attrs, check, lower_int8, lower_fp32, ("hard_swish.c",))
