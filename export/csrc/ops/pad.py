"""PAD and PADV2 (up to 4-D): the input surrounded by a constant, for int8 and float32 alike."""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOpError
from ..ir import CTYPE
from ..program import Table
from .base import OpDef, expect_const, no_attrs


def _paddings(graph, op) -> np.ndarray:
    p = graph.t(op.inputs[1])
    expect_const(op, p, "paddings")
    return p.data.reshape(-1, 2).astype(np.int64)


def check(graph, op, quantized: bool) -> None:
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    pads = _paddings(graph, op)
    if x.dtype not in ("int8", "float32") or y.dtype != x.dtype:
        raise UnsupportedOpError(op.kind, f"{x.dtype} -> {y.dtype}; expected int8 or float32")
    if len(x.shape) > 4 or pads.shape[0] != len(x.shape) or np.any(pads < 0):
        raise UnsupportedOpError(op.kind, f"paddings {pads.tolist()} for shape {x.shape} (up to 4-D, not negative)")
    if tuple(int(d) for d in np.asarray(x.shape) + pads.sum(axis=1)) != tuple(y.shape):
        raise UnsupportedOpError(op.kind, f"{x.shape} padded by {pads.tolist()} is not {y.shape}")
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        expect_const(op, graph.t(op.inputs[2]), "constant value")


def _value(ctx, op):
    """The padding value: PADV2's constant, else the output zero point (int8) or 0 (float)."""
    y = ctx.t(op.outputs[0])
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        return ctx.t(op.inputs[2]).data.reshape(-1)[0]
    return y.qzero if y.dtype == "int8" else 0.0


def lower(ctx, op):
    x, y = ctx.t(op.inputs[0]), ctx.t(op.outputs[0])
    pads = [[0, 0]] * (4 - len(x.shape)) + _paddings(ctx.graph, op).tolist()
    in_dims = [1] * (4 - len(x.shape)) + list(x.shape)
    out_dims = [1] * (4 - len(y.shape)) + list(y.shape)
    value = Table(f"{ctx.tag(op)}_value", CTYPE[y.dtype], np.array([_value(ctx, op)], dtype=y.dtype), "padding value")

    def arr(v):
        return "{" + ", ".join(map(str, v)) + "}"

    body = ["static const struct pad4 shape = {",
            f"    {arr(in_dims)}, {arr([p[0] for p in pads])}, {arr(out_dims)}", "};",
            f"pad_any(in, out, &shape, sizeof *out, {value.name});"]
    comment = f"{op.kind} {'x'.join(map(str, x.shape))} -> {'x'.join(map(str, y.shape))}"
    return ctx.step(op, comment, body, ["pad_any"], tables=[value])


OP = OpDef(("PAD", "PADV2"), no_attrs, check, lower, lower, ("copy.c",))
