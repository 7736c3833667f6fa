"""TANH: int8 as TFLite Micro's fixed-point kernel, and float32."""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOpError
from ..quant import logistic_params
from .base import OpDef, expect, no_attrs


def check(graph, op, quantized: bool) -> None:
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    for t in (x, y):
        expect(op, t, "int8" if quantized else "float32")
    if quantized:
        if y.qzero != 0 or y.qscale != np.float32(1.0 / 128):
            raise UnsupportedOpError(op.kind, f"output scale {y.qscale}, zero point {y.qzero}; "
                                              "TFLite Micro needs 1/128, 0")
        try:
            logistic_params(x.qscale)  # the same Q4.27 input scaling as LOGISTIC
        except ValueError as e:
            raise UnsupportedOpError(op.kind, str(e)) from e


def lower_int8(ctx, op):
    x = ctx.t(op.inputs[0])
    mult, shift, radius = logistic_params(x.qscale)
    body = [f"enum {{ SIZE = {x.size}, IN_ZERO_POINT = {x.qzero}, SHIFT = {shift} }};",
            f"const int32_t multiplier = {mult}, radius = {radius};",
            "tanh_s8(in, out, SIZE, IN_ZERO_POINT, radius, multiplier, SHIFT);"]
    return ctx.step(op, f"TANH over {x.size} values", body, ["tanh_s8"])


def lower_fp32(ctx, op):
    x = ctx.t(op.inputs[0])
    body = [f"enum {{ SIZE = {x.size} }};", "tanh_f32(in, out, SIZE);"]
    return ctx.step(op, f"TANH over {x.size} values", body, ["tanh_f32"])


OP = OpDef(("TANH",), no_attrs, check, lower_int8, lower_fp32, ("tanh.c",))
