"""CONV_2D: int8 on the fast matrix kernel (kernels/fast/conv.c; im2col + the packed fully connected
kernel with dilation), and float32."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import UnsupportedOpError
from ..fast import conv_call, conv_supported
from ..fast.fc import pack_rows4
from ..program import Table
from ..quant import activation_range, conv_multipliers
from .base import (PADDING, OpDef, Window, activation, check_activation, check_int32, conv_geometry, expect,
                   expect_const, geometry_text, struct_init)
from .common import F32_RANGE, bias_values, quant_tables


@dataclass(frozen=True)
class MaxPool:
    """A MAX_POOL_2D folded into the conv (``simplify.fuse_conv_maxpool``): its window (also its
    stride, no padding), activation, and the conv output it pooled."""

    filter_h: int
    filter_w: int
    activation: str
    conv_shape: tuple[int, ...]


@dataclass(frozen=True)
class Attrs:
    window: Window
    activation: str
    pool: MaxPool | None = None


def parse(options) -> Attrs:
    o = options
    return Attrs(Window(PADDING.get(o.padding, "?"), o.strideH, o.strideW, o.dilationHFactor or 1,
                        o.dilationWFactor or 1), activation(o))


def _conv_output(graph, op):
    """The conv's own output tensor (before a folded max pooling)."""
    y = graph.t(op.outputs[0])
    return y if op.attrs.pool is None else replace(y, shape=op.attrs.pool.conv_shape)


def check(graph, op, quantized: bool) -> None:
    check_activation(op, op.attrs.activation)
    x, w, y = graph.t(op.inputs[0]), graph.t(op.inputs[1]), _conv_output(graph, op)
    expect_const(op, w, "filter")
    if len(w.shape) != 4:
        raise UnsupportedOpError(op.kind, f"filter of shape {w.shape}; expected [out_c][k_h][k_w][in_c]")
    geo = conv_geometry(op, op.attrs.window, x, y, w.shape[1], w.shape[2])
    if w.shape[3] != geo["in_c"] or w.shape[0] != geo["out_c"]:
        raise UnsupportedOpError(op.kind, f"filter {w.shape} for {geo['in_c']} -> {geo['out_c']} channels (groups)")
    if quantized:
        for t in (x, w, y):
            expect(op, t, "int8")
        if np.any(w.zero_point != 0):
            raise UnsupportedOpError(op.kind, "filter must be int8 with zero point 0")
    else:
        for t in (x, w, y):
            expect(op, t, "float32")


def _comment(op, geo, w) -> str:
    pool = op.attrs.pool
    then = "" if pool is None else f", then MAX_POOL_2D {pool.filter_h}x{pool.filter_w} (folded in)"
    return (f"{op.kind} {w.shape[1]}x{w.shape[2]}, stride {geo['stride_h']}x{geo['stride_w']}, "
            f"{geometry_text(geo)}, activation {op.attrs.activation}{then}")


def lower_int8(ctx, op):
    tag = ctx.tag(op)
    x, w, y = ctx.t(op.inputs[0]), ctx.t(op.inputs[1]), _conv_output(ctx.graph, op)
    src = ctx.view(op.inputs[0])
    geo = conv_geometry(op, op.attrs.window, x, y, w.shape[1], w.shape[2])
    lo, hi = activation_range(op.attrs.activation, y.qscale, y.qzero)
    if conv_supported((geo["dilation_h"], geo["dilation_w"])):
        return _lower_fast(ctx, op, geo, lo, hi)
    # the im2col patch holds int8 values: uint8 input is moved to int8 on the copy, so the offset
    # is that of the int8 tensor whether or not the uint8 -> int8 QUANTIZE was folded in
    in_offset = -x.qzero
    rows, cols = geo["out_c"], w.shape[1] * w.shape[2] * geo["in_c"]
    matrix = w.data.reshape(rows, cols)
    folded = np.zeros(-(-rows // 4) * 4, dtype=np.int64)
    folded[:rows] = bias_values(ctx, op, rows) + in_offset * matrix.astype(np.int64).sum(axis=1)
    tables = [Table(f"{tag}_weights", "uint32_t", pack_rows4(matrix),
                    f"{list(w.shape)} as {rows}x{cols}, packed 4 rows x 4 columns per block"),
              Table(f"{tag}_bias", "int32_t", check_int32(folded, f"{op.kind} bias"),
                    f"bias + ({in_offset}) * filter sums (input zero point folded in), padded to 4"),
              *quant_tables(tag, x, w, y, rows)]
    kernel = "conv_u8" if src.dtype == "uint8" else "conv_s8"
    fields = {**geo, "depth_multiplier": 1, "in_offset": in_offset, "out_zero_point": y.qzero,
              "act_min": lo, "act_max": hi}
    body = struct_init("conv_params", fields) + [
        f"{kernel}(in, out, work, {tag}_weights, {tag}_bias, {tag}_multiplier, {tag}_shift, &params);"]
    return ctx.step(op, _comment(op, geo, w) + ", im2col", body, [kernel], tables=tables, work_bytes=cols)


def _lower_fast(ctx, op, geo, lo, hi):
    x, w, y = ctx.t(op.inputs[0]), ctx.t(op.inputs[1]), _conv_output(ctx.graph, op)
    src = ctx.view(op.inputs[0])
    mult, shift = conv_multipliers(x.qscale, w.scale, y.qscale, geo["out_c"])
    pool = op.attrs.pool
    fused = None
    if pool is not None:
        fused = (pool.filter_h, pool.filter_w, *activation_range(pool.activation, y.qscale, y.qzero))
    call = conv_call(ctx.tag(op), (geo["in_h"], geo["in_w"], geo["in_c"]), (geo["out_h"], geo["out_w"], geo["out_c"]),
                     w.data, bias_values(ctx, op, geo["out_c"]), mult, shift,
                     in_offset=-x.qzero + src.offset_adjust, in_u8=src.dtype == "uint8", out_zero_point=y.qzero,
                     act_min=lo, act_max=hi, stride=(geo["stride_h"], geo["stride_w"]), pad=(geo["pad_h"], geo["pad_w"]),
                     maxpool=fused)
    # a 1x1 block of pixels is copied into the patch buffer before its outputs are stored, so the
    # output may overwrite the input where it takes no more bytes per pixel; with more, the input
    # sits at the output's end: the block of pixels [p, p + 4) ends its output at out_c * (p + 4),
    # at most where the next unread input pixel starts, (out_c - in_c) * pixels + in_c * (p + 4)
    pointwise = call.kernels == ["ep_conv1x1_s8"]
    shrinks = pointwise and geo["out_c"] <= geo["in_c"] and ctx.can_overwrite(op)
    grows = (pointwise and not shrinks and (geo["out_c"] - geo["in_c"]) * geo["out_h"] * geo["out_w"] % 4 == 0
             and ctx.can_overwrite(op, larger=True))
    step = ctx.step(op, f"{_comment(op, geo, w)}, {call.comment}", call.body, call.kernels, tables=call.tables,
                    work_bytes=call.work_bytes, in_place=0 if shrinks or grows else None, in_place_tail=grows)
    step.work_ctype = call.work_ctype
    return step


def lower_fp32(ctx, op):
    tag = ctx.tag(op)
    x, w, y = ctx.t(op.inputs[0]), ctx.t(op.inputs[1]), ctx.t(op.outputs[0])
    geo = conv_geometry(op, op.attrs.window, x, y, w.shape[1], w.shape[2])
    lo, hi = F32_RANGE[op.attrs.activation]
    tables = [Table(f"{tag}_weights", "float", w.data.reshape(-1), f"{list(w.shape)}"),
              Table(f"{tag}_bias", "float", bias_values(ctx, op, geo["out_c"], np.float32), "bias")]
    body = struct_init("fconv_params", {**geo, "depth_multiplier": 1, "act_min_f": lo, "act_max_f": hi}) + [
        f"conv_f32(in, out, {tag}_weights, {tag}_bias, &params);"]
    return ctx.step(op, _comment(op, geo, w), body, ["conv_f32"], tables=tables)


def macs(graph, op) -> int:
    """k_h * k_w * in_c * out_c per output pixel (of the conv, before a folded max pooling)."""
    w, y = graph.t(op.inputs[1]).shape, _conv_output(graph, op).shape
    return int(np.prod(w, dtype=np.int64)) * int(y[1]) * int(y[2]) if len(w) == 4 and len(y) == 4 else 0


OP = OpDef(("CONV_2D",), parse, check, lower_int8, lower_fp32, ("conv_2d.c", "fast/conv.c"), macs)
