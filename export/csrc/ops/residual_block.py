"""RESIDUAL_BLOCK: CONV_2D -> CONV_2D -> ADD with the block's input (or with a 1x1 CONV_2D of it),
which ``simplify.fuse_residual_blocks`` folds into one op; int8 on kernels/fast/resblock.c.

Not a TFLite builtin: the op exists only after that pass, which fuses only what this module takes.
Its output may take the storage of its input when ``fast.resblock_in_place_ok`` proves every read
of the input comes before the bytes it overwrites.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedOpError
from ..fast.resblock import Layer, resblock_call, resblock_in_place_ok, resblock_supported
from ..ir import Op
from ..quant import activation_range, conv_multipliers
from . import conv_2d, elementwise
from .base import OpDef, conv_geometry
from .common import bias_values

KIND = "RESIDUAL_BLOCK"


@dataclass(frozen=True)
class Attrs:
    """The fused ops as they were in the graph: conv_a reads the block's input x, conv_b reads
    conv_a's output, add sums conv_b's output and r: x itself, or proj's output (proj reads x)."""

    conv_a: Op
    conv_b: Op
    add: Op
    proj: Op | None = None


def layer(graph, op: Op) -> Layer:
    """A CONV_2D of the block as the numbers ep_resblock_s8 takes."""
    x, w, y = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
    geo = conv_geometry(op, op.attrs.window, x, y, w.shape[1], w.shape[2])
    mult, shift = conv_multipliers(x.qscale, w.scale, y.qscale, geo["out_c"])
    lo, hi = activation_range(op.attrs.activation, y.qscale, y.qzero)
    return Layer((geo["in_h"], geo["in_w"], geo["in_c"]), (geo["out_h"], geo["out_w"], geo["out_c"]), w.data,
                 bias_values(graph, op, geo["out_c"]), tuple(mult), tuple(shift), -x.qzero, y.qzero, lo, hi,
                 (geo["stride_h"], geo["stride_w"]), (geo["pad_h"], geo["pad_w"]))


def fusable(graph, conv_a: Op, conv_b: Op, add: Op, proj: Op | None) -> bool:
    """The four ops (checked one by one as TFLite ops) make a block ep_resblock_s8 computes exactly."""
    for conv in (conv_a, conv_b, proj):
        if conv is None:
            continue
        if conv.attrs is None or conv.attrs.pool is not None or not conv_2d.conv_supported(
                (conv.attrs.window.dilation_h, conv.attrs.window.dilation_w)):
            return False
        conv_2d.check(graph, conv, True)
    elementwise.check(graph, add, True)
    r = proj.outputs[0] if proj is not None else conv_a.inputs[0]
    b_at = add.inputs.index(conv_b.outputs[0])
    if add.kind != "ADD" or add.inputs[1 - b_at] != r or any(graph.t(i).is_const for i in add.inputs[:2]):
        return False
    if not resblock_supported(layer(graph, conv_a), layer(graph, conv_b), proj and layer(graph, proj)):
        return False
    try:
        _call(graph, "check", Attrs(conv_a, conv_b, add, proj), False)
    except ValueError:
        return False
    return True


def parse(options) -> None:
    raise UnsupportedOpError(KIND, "is not a TFLite op")


def check(graph, op, quantized: bool) -> None:
    a = op.attrs
    if not quantized or not fusable(graph, a.conv_a, a.conv_b, a.add, a.proj):
        raise UnsupportedOpError(KIND, "a block ep_resblock_s8 does not take")


def _call(graph, tag: str, a: Attrs, in_place: bool):
    b_out, out = graph.t(a.conv_b.outputs[0]), graph.t(a.add.outputs[0])
    r = graph.t(a.add.inputs[1 - a.add.inputs.index(a.conv_b.outputs[0])])
    lo, hi = activation_range(a.add.attrs.activation, float(np.float32(out.qscale)), out.qzero)
    return resblock_call(tag, layer(graph, a.conv_a), layer(graph, a.conv_b), a.proj and layer(graph, a.proj),
                         b_quant=(b_out.qscale, b_out.qzero), r_quant=(r.qscale, r.qzero),
                         out_quant=(out.qscale, out.qzero), act_min=lo, act_max=hi, in_place=in_place)


def lower_int8(ctx, op):
    a = op.attrs
    view = ctx.view(op.inputs[0])
    if view.dtype != "int8" or view.offset_adjust:
        raise UnsupportedOpError(KIND, "input seen through a folded uint8 view")
    layers = [layer(ctx.graph, c) if c is not None else None for c in (a.conv_a, a.conv_b, a.proj)]
    in_place = 0 if ctx.can_overwrite(op) and resblock_in_place_ok(*layers) else None
    call = _call(ctx.graph, ctx.tag(op), a, in_place is not None)
    x, y = ctx.t(op.inputs[0]), ctx.t(op.outputs[0])
    shape = "x".join(map(str, x.shape[1:])) + " -> " + "x".join(map(str, y.shape[1:]))
    convs = " -> ".join(f"CONV_2D {'x'.join(map(str, ctx.t(c.inputs[1]).shape[1:3]))} stride "
                        f"{c.attrs.window.stride_h}" for c in (a.conv_a, a.conv_b))
    residual = "a CONV_2D 1x1 of the input" if a.proj is not None else "the input"
    comment = (f"residual block {shape}: {convs}, ADD with {residual}, activation {a.add.attrs.activation} "
               f"(fused), {call.comment}")
    step = ctx.step(op, comment, call.body, [*call.kernels, "EP_NOINLINE"], tables=call.tables,
                    work_bytes=call.work_bytes, in_place=in_place)
    step.work_ctype = call.work_ctype
    step.noinline = True
    return step


def macs(graph, op) -> int:
    a = op.attrs
    return sum(conv_2d.macs(graph, c) for c in (a.conv_a, a.conv_b, a.proj) if c is not None)


OP = OpDef((KIND,), parse, check, lower_int8, None, ("fast/resblock.c",), macs)
