"""FULLY_CONNECTED: int8 with packed weights (DSP and portable paths), and float32."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedOpError
from ..program import Table
from ..quant import activation_range
from .base import OpDef, activation, check_activation, check_int32, expect, expect_const, pack_rows4
from .common import F32_RANGE, bias_values, quant_tables


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
    if quantized:
        expect(op, x, "int8")
        expect(op, y, "int8")
        expect(op, w, "int8")
        if np.any(w.zero_point != 0):
            raise UnsupportedOpError(op.kind, "weights must be int8 with zero point 0")
    else:
        for t in (x, y, w):
            expect(op, t, "float32")


def lower_int8(ctx, op):
    tag = ctx.tag(op)
    x, w, y = ctx.t(op.inputs[0]), ctx.t(op.inputs[1]), ctx.t(op.outputs[0])
    src = ctx.view(op.inputs[0])
    bias = bias_values(ctx, op, w.shape[0])
    rows, cols = w.shape
    in_offset = -x.qzero + src.offset_adjust
    padded = np.zeros(-(-rows // 4) * 4, dtype=np.int64)
    padded[:rows] = bias + in_offset * w.data.astype(np.int64).sum(axis=1)
    lo, hi = activation_range(op.attrs.activation, y.qscale, y.qzero)
    tables = [Table(f"{tag}_weights", "uint32_t", pack_rows4(w.data),
                    f"{rows}x{cols} int8, packed 4 rows x 4 columns per block"),
              Table(f"{tag}_bias", "int32_t", check_int32(padded, f"{op.kind} bias"),
                    f"bias + ({in_offset}) * row sums (input zero point folded in), padded to 4 rows"),
              *quant_tables(tag, x, w, y, rows)]
    kernel = "fc_u8" if src.dtype == "uint8" else "fc_s8"
    body = [f"enum {{ COLS = {cols}, ROWS = {rows}, OUT_ZERO_POINT = {y.qzero}, ACT_MIN = {lo}, ACT_MAX = {hi} }};",
            f"{kernel}(in, out, {tag}_weights, {tag}_bias, {tag}_multiplier, {tag}_shift, COLS, ROWS,",
            "      OUT_ZERO_POINT, ACT_MIN, ACT_MAX);"]
    fold = ", uint8 input (QUANTIZE folded in)" if src.offset_adjust else ""
    return ctx.step(op, f"{op.kind} {cols} -> {rows}, activation {op.attrs.activation}{fold}", body, [kernel],
                    tables=tables)


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


OP = OpDef(("FULLY_CONNECTED",), parse, check, lower_int8, lower_fp32, ("fully_connected.c",), macs)
