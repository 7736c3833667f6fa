"""Lower a graph to C steps, and plan the scratch buffer.

A step is one op's static C function plus its const tables. Tensors live in the caller's input
or output buffer, or in the scratch buffer: a chain only needs each op's input and output at the
same time, so consecutive activations alternate between the bottom and the top of the scratch.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ConversionError
from .errors import UnsupportedOpError
from .graph import Graph, Tensor


@dataclass
class Table:
    name: str
    ctype: str  # int8_t, int32_t, uint32_t or float
    values: np.ndarray
    comment: str


@dataclass
class View:
    """Where an op reads a tensor: a buffer key ('input', 'output' or a scratch tensor index)."""

    buffer: object
    dtype: str
    offset_adjust: int = 0  # added to the input offset (the folded uint8 -> int8 QUANTIZE)


@dataclass
class Step:
    func: str
    comment: str
    body: list[str]
    helpers: list[str]
    src: View
    dst: View
    tables: list[Table] = field(default_factory=list)
    work_bytes: int = 0  # im2col patch (input element type) in the scratch's work region


@dataclass
class Plan:
    steps: list[Step]
    input: Tensor
    output: Tensor
    scratch_bytes: int
    offsets: dict  # scratch tensor index -> byte offset
    quantized: bool
    work_offset: int = 0  # start of the im2col work region, after the activations


def align4(n: int) -> int:
    return (n + 3) // 4 * 4


def build_plan(graph: Graph) -> Plan:
    """Lower every op; fold RESHAPE into aliasing and the uint8 QUANTIZE into the first layer."""
    from . import lower_f, lower_q

    inp, out = graph.t(graph.input), graph.t(graph.output)
    quantized = inp.dtype in ("int8", "uint8")
    if not quantized and inp.dtype != "float32":
        raise UnsupportedOpError("input", f"tensor type {inp.dtype}; expected int8, uint8 or float32")
    lower = lower_q.lower_op if quantized else lower_f.lower_op
    views = {graph.input: View("input", inp.dtype)}
    steps: list[Step] = []
    ops = graph.ops
    for n, op in enumerate(ops):
        src = views[op.inputs[0]]
        dst_index = op.outputs[0]
        if op.kind == "RESHAPE":
            if dst_index == graph.output:
                raise UnsupportedOpError("RESHAPE", "as the model's last op")
            views[dst_index] = src
            continue
        if quantized and n == 0 and _foldable_quantize(graph, op, ops[1:]):
            views[dst_index] = View("input", "uint8", -128)
            continue
        dst_t = graph.t(dst_index)
        dst = View("output" if dst_index == graph.output else dst_index, dst_t.dtype)
        steps.append(lower(graph, op, n, src, dst))
        views[dst_index] = dst
    offsets, activations = _plan_scratch(graph, steps)
    work = align4(max([s.work_bytes for s in steps] + [0]))
    return Plan(steps, inp, out, activations + work, offsets, quantized, work_offset=activations)


def _foldable_quantize(graph: Graph, op, rest) -> bool:
    """uint8 -> int8 QUANTIZE with the same scale and zero point - 128, feeding a conv or dense."""
    from .quant import quantize_multiplier

    if op.kind != "QUANTIZE":
        return False
    src, dst = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    if (src.dtype, dst.dtype) != ("uint8", "int8") or dst.zero_point is None:
        return False
    same = quantize_multiplier(float(src.scale[0]) / float(dst.scale[0])) == (1 << 30, 1)
    nxt = next((o for o in rest if o.kind != "RESHAPE"), None)
    return (same and dst.qzero == src.qzero - 128 and nxt is not None
            and nxt.kind in ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D"))


def _plan_scratch(graph: Graph, steps: list[Step]) -> tuple[dict, int]:
    """Even-numbered scratch tensors at offset 0, odd ones at the top: only neighbours overlap in time."""
    produced = [s.dst.buffer for s in steps if isinstance(s.dst.buffer, int)]
    sizes = {i: align4(graph.t(i).size * (4 if graph.t(i).dtype == "float32" else 1)) for i in produced}
    total = max([sizes[i] for i in produced] + [sizes[a] + sizes[b] for a, b in zip(produced, produced[1:])] + [0])
    offsets = {i: (0 if k % 2 == 0 else total - sizes[i]) for k, i in enumerate(produced)}
    return offsets, total


def check_int32(values: np.ndarray, what: str) -> np.ndarray:
    if values.size and (values.min() < -(2**31) or values.max() > 2**31 - 1):
        raise ConversionError(f"{what} overflows int32 after folding the input zero point")
    return values.astype(np.int32)


def conv_geometry(op, x: Tensor, y: Tensor, k_h: int, k_w: int) -> dict:
    """Explicit dims, strides and padding of a CONV/DEPTHWISE/POOL op (TFLite SAME/VALID rules)."""
    o = op.options
    if len(x.shape) != 4 or len(y.shape) != 4 or x.shape[0] != 1:
        raise UnsupportedOpError(op.kind, f"input shape {x.shape}; expected NHWC with batch 1")
    dil_h, dil_w = getattr(o, "dilationHFactor", 1) or 1, getattr(o, "dilationWFactor", 1) or 1
    geo = {"in_h": x.shape[1], "in_w": x.shape[2], "in_c": x.shape[3], "out_h": y.shape[1],
           "out_w": y.shape[2], "out_c": y.shape[3], "k_h": k_h, "k_w": k_w, "stride_h": o.strideH,
           "stride_w": o.strideW, "dilation_h": dil_h, "dilation_w": dil_w}
    for axis, stride, dil, k in (("h", o.strideH, dil_h, k_h), ("w", o.strideW, dil_w, k_w)):
        size_in, size_out = geo[f"in_{axis}"], geo[f"out_{axis}"]
        eff = (k - 1) * dil + 1
        same = o.padding == 0
        expect = (size_in + stride - 1) // stride if same else (size_in + stride - eff) // stride
        if expect != size_out:
            raise ConversionError(f"{op.kind}: output {axis} {size_out} does not match padding rules ({expect})")
        geo[f"pad_{axis}"] = max(0, ((size_out - 1) * stride + eff - size_in) // 2) if same else 0
    return geo
