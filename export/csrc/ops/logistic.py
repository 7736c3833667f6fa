"""LOGISTIC: int8 as TFLite Micro's fixed-point kernel, and float32."""
from __future__ import annotations

from .base import OpDef, expect_unary, no_attrs
from .common import check_fixed_output, check_q4_input, lower_per_value_f32, lower_q4_map


def check(graph, op, quantized: bool) -> None:
    x, y = expect_unary(graph, op, quantized)
    if quantized:
        check_fixed_output(op, y, 1.0 / 256, -128)
        check_q4_input(op, x)


def lower_int8(ctx, op):
    return lower_q4_map(ctx, op, "logistic_s8")


def lower_fp32(ctx, op):
    return lower_per_value_f32(ctx, op, "logistic_f32")


OP = OpDef(("LOGISTIC",), no_attrs, check, lower_int8, lower_fp32, ("logistic.c",))
