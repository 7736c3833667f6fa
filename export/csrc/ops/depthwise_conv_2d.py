"""DEPTHWISE_CONV_2D: int8 (3x3 on the fast kernel, kernels/fast/depthwise.c; other shapes and folded
uint8 input on the general one) and float32."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ConversionError
from ..errors import UnsupportedOpError
from ..fast import depthwise_call, depthwise_in_place_ok, depthwise_supported
from ..program import Table
from ..quant import activation_range, conv_multipliers
from .base import (PADDING, OpDef, Window, activation, check_activation, check_int32, conv_geometry, expect,
                   expect_const, geometry_text, struct_init)
from .common import F32_RANGE, bias_values, quant_tables


@dataclass(frozen=True)
class Attrs:
    window: Window
    depth_multiplier: int
    activation: str


def parse(options) -> Attrs:
    o = options
    return Attrs(Window(PADDING.get(o.padding, "?"), o.strideH, o.strideW, o.dilationHFactor or 1,
                        o.dilationWFactor or 1), int(o.depthMultiplier or 1), activation(o))


def _geometry(op, x, w, y) -> dict:
    geo = conv_geometry(op, op.attrs.window, x, y, w.shape[1], w.shape[2])
    if geo["out_c"] != geo["in_c"] * op.attrs.depth_multiplier or w.shape[3] != geo["out_c"]:
        raise ConversionError(f"{op.kind}: {geo['out_c']} output channels for {geo['in_c']} x "
                              f"{op.attrs.depth_multiplier}")
    return geo


def check(graph, op, quantized: bool) -> None:
    check_activation(op, op.attrs.activation)
    x, w, y = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
    expect_const(op, w, "filter")
    if len(w.shape) != 4 or w.shape[0] != 1:
        raise UnsupportedOpError(op.kind, f"filter of shape {w.shape}; expected [1][k_h][k_w][out_c]")
    _geometry(op, x, w, y)
    dtype = "int8" if quantized else "float32"
    for t in (x, w, y):
        expect(op, t, dtype)
    if quantized and np.any(w.zero_point != 0):
        raise UnsupportedOpError(op.kind, "filter must be int8 with zero point 0")


def _comment(op, geo, w) -> str:
    return (f"{op.kind} {w.shape[1]}x{w.shape[2]}, stride {geo['stride_h']}x{geo['stride_w']}, "
            f"{geometry_text(geo)}, activation {op.attrs.activation}")


def lower_int8(ctx, op):
    tag = ctx.tag(op)
    x, w, y = ctx.t(op.inputs[0]), ctx.t(op.inputs[1]), ctx.t(op.outputs[0])
    src = ctx.view(op.inputs[0])
    geo = _geometry(op, x, w, y)
    lo, hi = activation_range(op.attrs.activation, y.qscale, y.qzero)
    in_offset = -x.qzero + src.offset_adjust
    if src.dtype == "int8" and depthwise_supported(
            (w.shape[1], w.shape[2]), (geo["stride_h"], geo["stride_w"]), (geo["dilation_h"], geo["dilation_w"]),
            op.attrs.depth_multiplier, (geo["pad_h"], geo["pad_w"]), (geo["in_h"], geo["in_w"]),
            (geo["out_h"], geo["out_w"])):
        mult, shift = conv_multipliers(x.qscale, w.scale, y.qscale, geo["out_c"])
        shapes = (geo["in_h"], geo["in_w"], geo["in_c"]), (geo["out_h"], geo["out_w"], geo["out_c"])
        stride, pad = (geo["stride_h"], geo["stride_w"]), (geo["pad_h"], geo["pad_w"])
        in_place = ctx.can_overwrite(op) and depthwise_in_place_ok(*shapes, stride, pad)
        call = depthwise_call(tag, *shapes, w.data, bias_values(ctx, op, geo["out_c"]), mult, shift,
                              in_offset=in_offset, in_u8=False, out_zero_point=y.qzero, act_min=lo, act_max=hi,
                              stride=stride, pad=pad, in_place=in_place)
        return ctx.step(op, f"{_comment(op, geo, w)}, {call.comment}", call.body, call.kernels, tables=call.tables,
                        work_bytes=call.work_bytes, in_place=0 if in_place else None, in_place_costs=True)
    tables = [Table(f"{tag}_weights", "int8_t", w.data.reshape(-1), f"[k_h][k_w][out_c] = {list(w.shape)}"),
              Table(f"{tag}_bias", "int32_t", check_int32(bias_values(ctx, op, geo["out_c"]), "bias"), "bias"),
              *quant_tables(tag, x, w, y, geo["out_c"])]
    kernel = "dwconv_u8" if src.dtype == "uint8" else "dwconv_s8"
    fields = {**geo, "depth_multiplier": op.attrs.depth_multiplier, "in_offset": in_offset,
              "out_zero_point": y.qzero, "act_min": lo, "act_max": hi}
    body = struct_init("conv_params", fields) + [
        f"{kernel}(in, out, {tag}_weights, {tag}_bias, {tag}_multiplier, {tag}_shift, &params);"]
    return ctx.step(op, _comment(op, geo, w), body, [kernel], tables=tables)


def lower_fp32(ctx, op):
    tag = ctx.tag(op)
    x, w, y = ctx.t(op.inputs[0]), ctx.t(op.inputs[1]), ctx.t(op.outputs[0])
    geo = _geometry(op, x, w, y)
    lo, hi = F32_RANGE[op.attrs.activation]
    tables = [Table(f"{tag}_weights", "float", w.data.reshape(-1), f"{list(w.shape)}"),
              Table(f"{tag}_bias", "float", bias_values(ctx, op, geo["out_c"], np.float32), "bias")]
    fields = {**geo, "depth_multiplier": op.attrs.depth_multiplier, "act_min_f": lo, "act_max_f": hi}
    body = struct_init("fconv_params", fields) + [f"dwconv_f32(in, out, {tag}_weights, {tag}_bias, &params);"]
    return ctx.step(op, _comment(op, geo, w), body, ["dwconv_f32"], tables=tables)


def macs(graph, op) -> int:
    """k_h * k_w per output element."""
    w, y = graph.t(op.inputs[1]).shape, graph.t(op.outputs[0]).shape
    return int(w[1]) * int(w[2]) * int(np.prod(y[1:], dtype=np.int64)) if len(w) == 4 and len(y) == 4 else 0


OP = OpDef(("DEPTHWISE_CONV_2D",), parse, check, lower_int8, lower_fp32, ("depthwise_conv_2d.c", "fast/depthwise.c"),
           macs)
