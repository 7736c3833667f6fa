"""SOFTMAX over the last dimension: int8 as TFLite Micro's fixed-point kernel, and float32."""
from __future__ import annotations

from dataclasses import dataclass

from .base import OpDef, expect_unary
from .common import check_fixed_output
from ..quant import softmax_params


@dataclass(frozen=True)
class Attrs:
    beta: float


def parse(options) -> Attrs:
    return Attrs(float(options.beta))


def check(graph, op, quantized: bool) -> None:
    _, y = expect_unary(graph, op, quantized)
    if quantized:
        check_fixed_output(op, y, 1.0 / 256, -128)


def lower_int8(ctx, op):
    x = ctx.t(op.inputs[0])
    mult, shift, diff_min = softmax_params(op.attrs.beta, x.qscale)
    depth = x.shape[-1]
    body = [f"enum {{ ROWS = {x.size // depth}, DEPTH = {depth}, LEFT_SHIFT = {shift} }};",
            f"const int32_t multiplier = {mult}, diff_min = {diff_min};",
            "softmax_s8(in, out, ROWS, DEPTH, multiplier, LEFT_SHIFT, diff_min);"]
    return ctx.step(op, f"SOFTMAX over {depth} values, beta {op.attrs.beta:g}", body, ["softmax_s8"])


def lower_fp32(ctx, op):
    x = ctx.t(op.inputs[0])
    depth = x.shape[-1]
    body = [f"enum {{ ROWS = {x.size // depth}, DEPTH = {depth} }};",
            f"softmax_f32(in, out, ROWS, DEPTH, {op.attrs.beta!r}f);"]
    return ctx.step(op, f"SOFTMAX over {depth} values", body, ["softmax_f32"])


OP = OpDef(("SOFTMAX",), parse, check, lower_int8, lower_fp32, ("softmax.c",))
