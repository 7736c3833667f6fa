"""ADD of two int8 tensors of the same shape, on kernels/fast/add.c (TFLite Micro's arithmetic)."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnsupportedOpError
from ..fast import add_call
from ..quant import activation_range
from .base import OpDef, activation, check_activation, expect


@dataclass(frozen=True)
class Attrs:
    activation: str


def parse(options) -> Attrs:
    return Attrs(activation(options))


def check(graph, op, quantized: bool) -> None:
    check_activation(op, op.attrs.activation)
    if len(op.inputs) != 2:
        raise UnsupportedOpError(op.kind, f"{len(op.inputs)} inputs; expected 2")
    a, b, y = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
    if a.shape != y.shape or b.shape != y.shape:
        raise UnsupportedOpError(op.kind, f"inputs {a.shape} and {b.shape} for output {y.shape}; "
                                          "broadcasting is not supported")
    for t in (a, b):
        if t.is_const:
            raise UnsupportedOpError(op.kind, f"constant input {t.name!r}")
    if quantized:
        for t in (a, b, y):
            expect(op, t, "int8")
            if len(t.scale) != 1:
                raise UnsupportedOpError(op.kind, f"tensor {t.name!r} has per-channel quantization")


def lower_int8(ctx, op):
    a, b, y = ctx.t(op.inputs[0]), ctx.t(op.inputs[1]), ctx.t(op.outputs[0])
    for i in op.inputs:
        view = ctx.view(i)
        if view.dtype != "int8" or view.offset_adjust:
            raise UnsupportedOpError(op.kind, f"input {ctx.t(i).name!r} seen as {view.dtype}")
    lo, hi = activation_range(op.attrs.activation, y.qscale, y.qzero)
    try:
        call = add_call(ctx.tag(op), y.size, (a.qscale, a.qzero), (b.qscale, b.qzero), (y.qscale, y.qzero), lo, hi)
    except ValueError as e:
        raise UnsupportedOpError(op.kind, str(e)) from e
    shape = "x".join(map(str, y.shape))
    # element by element: the output may overwrite either input
    in_place = next((k for k in (0, 1) if ctx.can_overwrite(op, k)), None)
    comment = f"ADD of two {shape} tensors, activation {op.attrs.activation}, {call.comment}"
    return ctx.step(op, comment, call.body, call.kernels, inputs=list(op.inputs), tables=call.tables,
                    in_place=in_place)


OP = OpDef(("ADD",), parse, check, lower_int8, None, ("fast/add.c",))
