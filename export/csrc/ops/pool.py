"""MAX_POOL_2D and AVERAGE_POOL_2D, int8 (on kernels/fast/pool.c) and float32."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnsupportedOpError
from ..fast import avgpool_call, maxpool_call, pool_in_place_ok
from ..quant import activation_range
from .base import (PADDING, OpDef, Window, activation, check_activation, conv_geometry, expect, geometry_text,
                   struct_init)
from .common import F32_RANGE


@dataclass(frozen=True)
class Attrs:
    window: Window
    filter_h: int
    filter_w: int
    activation: str


def parse(options) -> Attrs:
    o = options
    return Attrs(Window(PADDING.get(o.padding, "?"), o.strideH, o.strideW), o.filterHeight, o.filterWidth,
                 activation(o))


def check(graph, op, quantized: bool) -> None:
    check_activation(op, op.attrs.activation)
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    conv_geometry(op, op.attrs.window, x, y, op.attrs.filter_h, op.attrs.filter_w)
    if x.shape[3] != y.shape[3]:
        raise UnsupportedOpError(op.kind, f"{x.shape[3]} input channels, {y.shape[3]} output channels")
    if quantized:
        expect(op, x, "int8")
        expect(op, y, "int8")
        if (x.qscale, x.qzero) != (y.qscale, y.qzero):
            raise UnsupportedOpError(op.kind, "input and output quantization differ")
    else:
        expect(op, x, "float32")
        expect(op, y, "float32")


def _kind(op) -> str:
    return "max" if op.kind == "MAX_POOL_2D" else "avg"


def lower_int8(ctx, op):
    x, y = ctx.t(op.inputs[0]), ctx.t(op.outputs[0])
    a = op.attrs
    geo = conv_geometry(op, a.window, x, y, a.filter_h, a.filter_w)
    lo, hi = activation_range(a.activation, y.qscale, y.qzero)
    comment = (f"{op.kind} {a.filter_h}x{a.filter_w}, stride {a.window.stride_h}x{a.window.stride_w}, "
               f"{geometry_text(geo)}")
    lower_fast = avgpool_call if op.kind == "AVERAGE_POOL_2D" else maxpool_call
    shapes = (geo["in_h"], geo["in_w"], geo["in_c"]), (geo["out_h"], geo["out_w"], geo["out_c"])
    window = (a.filter_h, a.filter_w), (a.window.stride_h, a.window.stride_w), (geo["pad_h"], geo["pad_w"])
    call = lower_fast(*shapes, *window, lo, hi)
    in_place = 0 if ctx.can_overwrite(op) and pool_in_place_ok(*shapes, *window) else None
    return ctx.step(op, f"{comment}, {call.comment}", call.body, call.kernels, in_place=in_place)


def lower_fp32(ctx, op):
    x, y = ctx.t(op.inputs[0]), ctx.t(op.outputs[0])
    a = op.attrs
    geo = conv_geometry(op, a.window, x, y, a.filter_h, a.filter_w)
    lo, hi = F32_RANGE[a.activation]
    kernel = f"{_kind(op)}pool_f32"
    body = struct_init("fconv_params", {**geo, "depth_multiplier": 1, "act_min_f": lo, "act_max_f": hi}) + [
        f"{kernel}(in, out, &params);"]
    comment = f"{op.kind} {a.filter_h}x{a.filter_w}, stride {a.window.stride_h}x{a.window.stride_w}"
    return ctx.step(op, comment, body, [kernel])


OP = OpDef(("MAX_POOL_2D", "AVERAGE_POOL_2D"), parse, check, lower_int8, lower_fp32, ("pool.c", "fast/pool.c"))
