"""FULLY_CONNECTED: int8 on kernels/fast/fc.c (packed weights, DSP and portable paths), and float32."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedOpError
from ..program import Table
from ..fast import fc_call
from ..quant import activation_range, conv_multipliers
from .base import OpDef, activation, check_activation, expect_const
from .common import F32_RANGE, bias_values, expect_weighted


@dataclass(frozen=True)
class Attrs:
    activation: str
    keep_num_dims: bool


def parse(options) -> Attrs:
    return Attrs(activation(options), bool(getattr(options, "keepNumDims", False)))


def check(graph, op, quantized: bool) -> None:
    check_activation(op, op.attrs.activation)
    x, w, y = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
    expect_const(op, w, "weights")
    if len(w.shape) != 2:
        raise UnsupportedOpError(op.kind, f"weights of shape {w.shape}; expected 2-D")
    rows, cols = w.shape
    if x.size != cols or y.size != rows:
        raise UnsupportedOpError(op.kind, f"input of {x.size} values for {cols} columns (batch must be 1)")
    expect_weighted(op, x, w, y, quantized, "weights")


def lower_int8(ctx, op):
    x, w, y = ctx.t(op.inputs[0]), ctx.t(op.inputs[1]), ctx.t(op.outputs[0])
    src = ctx.view(op.inputs[0])
    rows, cols = w.shape
    lo, hi = activation_range(op.attrs.activation, y.qscale, y.qzero)
    mult, shift = conv_multipliers(x.qscale, w.scale, y.qscale, rows)
    call = fc_call(ctx.tag(op), w.data, bias_values(ctx, op, rows), mult, shift,
                   in_offset=-x.qzero + src.offset_adjust, in_u8=src.dtype == "uint8", out_zero_point=y.qzero,
                   act_min=lo, act_max=hi)
    fold = ", uint8 input (QUANTIZE folded in)" if src.offset_adjust else ""
    return ctx.step(op, f"{op.kind} {cols} -> {rows}, activation {op.attrs.activation}{fold}, {call.comment}",
                    call.body, call.kernels, tables=call.tables)


def lower_fp32(ctx, op):
    tag = ctx.tag(op)
    w = ctx.t(op.inputs[1])
    rows, cols = w.shape
    lo, hi = F32_RANGE[op.attrs.activation]
    tables = [Table(f"{tag}_weights", "float", w.data.reshape(-1), f"[{rows}][{cols}], row-major"),
              Table(f"{tag}_bias", "float", bias_values(ctx, op, rows, np.float32), "bias")]
    body = [f"enum {{ COLS = {cols}, ROWS = {rows} }};",
            f"fc_f32(in, out, {tag}_weights, {tag}_bias, COLS, ROWS, {lo}, {hi});"]
    return ctx.step(op, f"{op.kind} {cols} -> {rows}, activation {op.attrs.activation}", body, ["fc_f32"],
                    tables=tables)


def macs(graph, op) -> int:
    """in * out per output row (rows: every output dimension but the last)."""
    w, y = graph.t(op.inputs[1]).shape, graph.t(op.outputs[0]).shape
    rows = int(np.prod(y[:-1], dtype=np.int64)) if len(y) > 1 else 1
    return rows * int(w[0]) * int(w[1]) if len(w) == 2 else 0


OP = OpDef(("FULLY_CONNECTED",), parse, check, lower_int8, lower_fp32, ("fully_connected.c", "fast/fc.c"), macs)
