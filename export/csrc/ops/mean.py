"""MEAN over the spatial dimensions of an NHWC tensor (global average pooling): int8 and float32."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnsupportedOpError
from ..quant import quantize_multiplier
from .base import OpDef, expect_const, expect_unary


@dataclass(frozen=True)
class Attrs:
    keep_dims: bool


def parse(options) -> Attrs:
    return Attrs(bool(getattr(options, "keepDims", False)))


def _axes(graph, op) -> set[int]:
    x, axis = graph.t(op.inputs[0]), graph.t(op.inputs[1])
    expect_const(op, axis, "axis")
    return {int(a) % len(x.shape) for a in axis.data.reshape(-1)} if x.shape else set()


def check(graph, op, quantized: bool) -> None:
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    if len(x.shape) != 4 or x.shape[0] != 1 or _axes(graph, op) != {1, 2}:
        raise UnsupportedOpError(op.kind, f"over axes {sorted(_axes(graph, op))} of {x.shape}; only the spatial "
                                          "axes 1 and 2 of an NHWC input with batch 1 (global average pooling)")
    if y.size != x.shape[3]:
        raise UnsupportedOpError(op.kind, f"output {y.shape} for {x.shape[3]} channels")
    expect_unary(graph, op, quantized)


def mean_params(in_scale: float, out_scale: float, count: int) -> tuple[int, int]:
    """TFLite Micro's (multiplier, shift) for a mean of ``count`` values: 1/count folded in."""
    mult, shift = quantize_multiplier(float(in_scale) / float(out_scale))
    extra = min(count.bit_length() - 1, 32, 31 + shift)
    return int((mult << extra) // count), shift - extra


def lower_int8(ctx, op):
    x, y = ctx.t(op.inputs[0]), ctx.t(op.outputs[0])
    hw, c = x.shape[1] * x.shape[2], x.shape[3]
    mult, shift = mean_params(x.qscale, y.qscale, hw)
    body = [f"enum {{ HW = {hw}, C = {c}, IN_ZERO_POINT = {x.qzero}, OUT_ZERO_POINT = {y.qzero}, SHIFT = {shift} }};",
            f"const int32_t multiplier = {mult};",
            "mean_hw_s8(in, out, HW, C, IN_ZERO_POINT, multiplier, SHIFT, OUT_ZERO_POINT);"]
    return ctx.step(op, f"MEAN over {x.shape[1]}x{x.shape[2]} pixels of {c} channels", body, ["mean_hw_s8"])


def lower_fp32(ctx, op):
    x = ctx.t(op.inputs[0])
    hw, c = x.shape[1] * x.shape[2], x.shape[3]
    body = [f"enum {{ HW = {hw}, C = {c} }};", "mean_hw_f32(in, out, HW, C);"]
    return ctx.step(op, f"MEAN over {x.shape[1]}x{x.shape[2]} pixels of {c} channels", body, ["mean_hw_f32"])


OP = OpDef(("MEAN",), parse, check, lower_int8, lower_fp32, ("mean.c",))
