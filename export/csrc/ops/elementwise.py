"""ADD, SUB and MUL, broadcasting as TFLite Micro does (NumPy rules, up to 4-D): int8 and float32.
An int8 ADD of two tensors of the output's shape runs on kernels/fast/add.c (tables, in place).

The int8 constants follow TFLite Micro's Prepare exactly, including where it computes in float:
ADD rescales both inputs to twice the larger input scale in double, SUB does the same in float.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedOpError
from ..fast import add_call
from ..quant import activation_range, quantize_multiplier
from .base import OpDef, activation, check_activation, expect, struct_init
from .common import F32_RANGE

LEFT_SHIFT = 20  # TFLite Micro's headroom for int8 ADD / SUB
_KERNEL = {"ADD": "add", "SUB": "sub", "MUL": "mul"}


@dataclass(frozen=True)
class Attrs:
    activation: str


def parse(options) -> Attrs:
    return Attrs(activation(options))


def broadcast4(op, a: tuple, b: tuple, out: tuple) -> dict:
    """Output dims and per-input strides (0 where broadcast) of ``a`` op ``b``, padded to 4-D."""
    if max(len(a), len(b), len(out)) > 4:
        raise UnsupportedOpError(op.kind, f"shapes {a} and {b}: more than 4 dimensions")
    a, b, out = ((1,) * (4 - len(s)) + tuple(s) for s in (a, b, out))
    strides = []
    for shape in (a, b):
        dense = [int(np.prod(shape[d + 1:], dtype=np.int64)) for d in range(4)]
        for d in range(4):
            if shape[d] not in (1, out[d]) or out[d] != max(a[d], b[d]):
                raise UnsupportedOpError(op.kind, f"shapes {a} and {b} do not broadcast to {out}")
        strides.append([0 if shape[d] == 1 and out[d] != 1 else dense[d] for d in range(4)])
    return {"dims": list(out), "stride1": strides[0], "stride2": strides[1]}


def check(graph, op, quantized: bool) -> None:
    check_activation(op, op.attrs.activation)
    a, b, y = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
    broadcast4(op, a.shape, b.shape, y.shape)
    for t in (a, b, y):
        expect(op, t, "int8" if quantized else "float32")
    if quantized:
        try:
            _arith_params(op, a, b, y)
        except ValueError as e:
            raise UnsupportedOpError(op.kind, str(e)) from e


def _smaller_than_one(real: float, what: str) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp: TFLite Micro refuses a real multiplier outside (0, 1)."""
    if not 0.0 < real < 1.0:
        raise ValueError(f"{what} multiplier {real!r} is outside (0, 1)")
    return quantize_multiplier(real)


def _arith_params(op, a, b, y) -> dict:
    s1, s2, so = np.float32(a.qscale), np.float32(b.qscale), np.float32(y.qscale)
    p = {"in1_offset": -a.qzero, "in2_offset": -b.qzero, "left_shift": 0, "in1_multiplier": 0,
         "in2_multiplier": 0, "out_multiplier": 0, "in1_shift": 0, "in2_shift": 0, "out_shift": 0}
    if op.kind == "MUL":
        p["out_multiplier"], p["out_shift"] = quantize_multiplier(float(s1) * float(s2) / float(so))
    else:
        if op.kind == "ADD":  # double
            twice = 2 * float(max(s1, s2))
            reals = (float(s1) / twice, float(s2) / twice, twice / ((1 << LEFT_SHIFT) * float(so)))
        else:  # SUB: float
            twice = np.float32(2) * max(s1, s2)
            reals = (float(s1 / twice), float(s2 / twice), float(twice / (np.float32(1 << LEFT_SHIFT) * so)))
        p["left_shift"] = LEFT_SHIFT
        for name, real in zip(("in1", "in2", "out"), reals):
            p[f"{name}_multiplier"], p[f"{name}_shift"] = _smaller_than_one(real, name)
    lo, hi = activation_range(op.attrs.activation, float(so), y.qzero)
    return {**p, "out_offset": y.qzero, "act_min": lo, "act_max": hi}


def _shape_text(a, b) -> str:
    return f"{'x'.join(map(str, a.shape))} and {'x'.join(map(str, b.shape))}"


def _broadcast_init(b: dict) -> list[str]:
    def arr(v):
        return "{" + ", ".join(map(str, v)) + "}"

    return ["static const struct broadcast4 shape = {",
            f"    {arr(b['dims'])}, {arr(b['stride1'])}, {arr(b['stride2'])}", "};"]


def _fast_add(ctx, op) -> bool:
    """Same shapes, both inputs int8 activations as stored (no constant, no folded uint8 view)."""
    a, b, y = ctx.t(op.inputs[0]), ctx.t(op.inputs[1]), ctx.t(op.outputs[0])
    return (op.kind == "ADD" and a.shape == b.shape == y.shape and not a.is_const and not b.is_const
            and all(ctx.view(i).dtype == "int8" and not ctx.view(i).offset_adjust for i in op.inputs[:2]))


def lower_int8(ctx, op):
    a, b, y = ctx.t(op.inputs[0]), ctx.t(op.inputs[1]), ctx.t(op.outputs[0])
    if _fast_add(ctx, op):
        lo, hi = activation_range(op.attrs.activation, float(np.float32(y.qscale)), y.qzero)
        call = add_call(ctx.tag(op), y.size, (a.qscale, a.qzero), (b.qscale, b.qzero), (y.qscale, y.qzero), lo, hi)
        in_place = next((k for k in (0, 1) if ctx.can_overwrite(op, k)), None)  # element by element
        comment = f"{op.kind} {_shape_text(a, b)}, activation {op.attrs.activation}, {call.comment}"
        return ctx.step(op, comment, call.body, call.kernels, inputs=op.inputs[:2], tables=call.tables,
                        in_place=in_place)
    kernel = f"{_KERNEL[op.kind]}_s8"
    body = (struct_init("arith_params", _arith_params(op, a, b, y)) +
            _broadcast_init(broadcast4(op, a.shape, b.shape, y.shape)) + [f"{kernel}(in0, in1, out, &params, &shape);"])
    comment = f"{op.kind} {_shape_text(a, b)}, activation {op.attrs.activation}"
    return ctx.step(op, comment, body, [kernel], inputs=op.inputs[:2])


def lower_fp32(ctx, op):
    a, b, y = ctx.t(op.inputs[0]), ctx.t(op.inputs[1]), ctx.t(op.outputs[0])
    kernel = f"{_KERNEL[op.kind]}_f32"
    lo, hi = F32_RANGE[op.attrs.activation]
    body = (_broadcast_init(broadcast4(op, a.shape, b.shape, y.shape)) +
            [f"{kernel}(in0, in1, out, &shape, {lo}, {hi});"])
    comment = f"{op.kind} {_shape_text(a, b)}, activation {op.attrs.activation}"
    return ctx.step(op, comment, body, [kernel], inputs=op.inputs[:2])


OP = OpDef(("ADD", "SUB", "MUL"), parse, check, lower_int8, lower_fp32, ("elementwise.c", "fast/add.c"))
