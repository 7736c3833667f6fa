"""LOGISTIC: int8 as TFLite Micro's fixed-point kernel, and float32."""
from __future__ import annotations

from ..errors import UnsupportedOpError
from ..quant import logistic_params
from .base import OpDef, expect, no_attrs
from .common import check_prob_output


def check(graph, op, quantized: bool) -> None:
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    dtype = "int8" if quantized else "float32"
    expect(op, x, dtype)
    expect(op, y, dtype)
    if quantized:
        check_prob_output(op, y)
        try:
            logistic_params(x.qscale)
        except ValueError as e:
            raise UnsupportedOpError(op.kind, str(e)) from e


def lower_int8(ctx, op):
    x = ctx.t(op.inputs[0])
    mult, shift, radius = logistic_params(x.qscale)
    body = [f"enum {{ SIZE = {x.size}, IN_ZERO_POINT = {x.qzero}, SHIFT = {shift} }};",
            f"const int32_t multiplier = {mult}, radius = {radius};",
            "logistic_s8(in, out, SIZE, IN_ZERO_POINT, radius, multiplier, SHIFT);"]
    return ctx.step(op, f"LOGISTIC over {x.size} values", body, ["logistic_s8"])


def lower_fp32(ctx, op):
    x = ctx.t(op.inputs[0])
    body = [f"enum {{ SIZE = {x.size} }};", "logistic_f32(in, out, SIZE);"]
    return ctx.step(op, f"LOGISTIC over {x.size} values", body, ["logistic_f32"])


OP = OpDef(("LOGISTIC",), no_attrs, check, lower_int8, lower_fp32, ("logistic.c",))
