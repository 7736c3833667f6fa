"""Exact removal of constant channels (issue 17, item 2).

An int8 CONV_2D output channel whose weights are all zero holds one code everywhere: its
accumulator is the bias alone, requantized and clamped. The pass follows that channel through the
ops that keep it one code per channel, then removes it from every op on the way together with the
input channel of the op that finally reads it, folding its contribution into that op's int32 bias:
- DEPTHWISE_CONV_2D (multiplier 1): the channel stays constant when the code is the input zero
  point (every tap, padded or not, adds 0: the output is the bias requantized), or when the op has
  no padding (every tap adds (code - zero point) * weight); otherwise the padded borders differ
  and the channel is kept;
- AVERAGE_POOL_2D (same quantization in and out): the mean of one code is that code (TFLite
  Micro's rounded division of count * v by count gives v), clamped to its activation;
- RESHAPE that keeps the channel axis last.
The op that reads it is a CONV_2D or FULLY_CONNECTED. It adds (code - zero point) * w[o][c] at every
tap that reads the input: with a 1x1 kernel and no padding (or in a FULLY_CONNECTED) that is once
per output, an integer the bias takes exactly; elsewhere only a code equal to the zero point (which
adds nothing) is removed. Integer sums are associative, so the accumulators are TFLite Micro's.
"""
from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from ..errors import ConversionError
from .errors import UnsupportedOpError
from .fast.fixedpoint import mbqm
from .ir import Graph, Op, Tensor
from .ops.base import conv_geometry
from .quant import activation_range, conv_multipliers

logger = logging.getLogger(__name__)

THROUGH = ("DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "RESHAPE")
INT32 = (-(2**31), 2**31 - 1)


def _int8(*tensors: Tensor) -> bool:
    return all(t.dtype == "int8" and t.quantized and len(t.scale) >= 1 for t in tensors)


def _bias(graph: Graph, op: Op, channels: int) -> np.ndarray:
    if len(op.inputs) < 3 or op.inputs[2] < 0:
        return np.zeros(channels, dtype=np.int64)
    return graph.t(op.inputs[2]).data.reshape(-1).astype(np.int64)


def _codes(graph: Graph, op: Op, acc: np.ndarray, channels: list[int]) -> dict[int, int]:
    """The int8 code of each channel whose accumulator is ``acc[c]`` (requantized, clamped)."""
    x, w, y = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
    n = len(acc)
    mult, shift = conv_multipliers(x.qscale, w.scale, y.qscale, n)
    lo, hi = activation_range(op.attrs.activation, y.qscale, y.qzero)
    return {c: min(hi, max(lo, mbqm(int(acc[c]), int(mult[c]), int(shift[c])) + y.qzero)) for c in channels}


def _padded(graph: Graph, op: Op, k_h: int, k_w: int) -> bool:
    """Whether some tap of ``op`` falls outside its input."""
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    geo = conv_geometry(op, op.attrs.window, x, y, k_h, k_w)
    win = op.attrs.window
    reach_h = (geo["out_h"] - 1) * win.stride_h + (k_h - 1) * win.dilation_h - geo["pad_h"]
    reach_w = (geo["out_w"] - 1) * win.stride_w + (k_w - 1) * win.dilation_w - geo["pad_w"]
    return bool(geo["pad_h"] or geo["pad_w"] or reach_h >= geo["in_h"] or reach_w >= geo["in_w"])


def _chain(graph: Graph, tensor: int) -> tuple[list[Op], Op] | None:
    """The ops from ``tensor`` through THROUGH ops to the CONV_2D / FULLY_CONNECTED reading it, each
    tensor on the way read by that one op only."""
    path: list[Op] = []
    while True:
        readers = graph.consumers(tensor)
        if tensor in graph.outputs or len(readers) != 1 or readers[0].inputs[0] != tensor or readers[0].attrs is None:
            return None
        op = readers[0]
        if op.kind in ("CONV_2D", "FULLY_CONNECTED"):
            return path, op
        if op.kind not in THROUGH:
            return None
        path.append(op)
        tensor = op.outputs[0]


def _through(graph: Graph, op: Op, codes: dict[int, int]) -> dict[int, int]:
    """The codes of the channels that stay constant through ``op`` (the others are dropped)."""
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    if not _int8(x, y):
        return {}
    if op.kind == "RESHAPE":
        same = x.shape and y.shape and x.shape[-1] == y.shape[-1] and (x.qscale, x.qzero) == (y.qscale, y.qzero)
        return codes if same else {}
    if op.kind == "AVERAGE_POOL_2D":
        if (x.qscale, x.qzero) != (y.qscale, y.qzero) or len(x.shape) != 4:
            return {}
        lo, hi = activation_range(op.attrs.activation, y.qscale, y.qzero)
        return {c: min(hi, max(lo, v)) for c, v in codes.items()}
    w = graph.t(op.inputs[1])
    if op.attrs.depth_multiplier != 1 or w.data is None or len(w.shape) != 4 or not _int8(w) or np.any(w.zero_point):
        return {}
    taps = w.data.reshape(-1, w.shape[3]).astype(np.int64)
    padded = _padded(graph, op, w.shape[1], w.shape[2])
    bias, zp = _bias(graph, op, w.shape[3]), x.qzero
    kept = {c: v for c, v in codes.items() if v == zp or not padded}
    acc = bias.copy()
    for c, v in kept.items():
        acc[c] += (v - zp) * taps[:, c].sum()
    return _codes(graph, op, acc, list(kept))


def _foldable(graph: Graph, op: Op, codes: dict[int, int]) -> dict[int, int]:
    """The channels the reading op can lose: all with a 1x1 kernel and no padding or in a
    FULLY_CONNECTED, else those whose code is the input zero point."""
    x, w = graph.t(op.inputs[0]), graph.t(op.inputs[1])
    if w.data is None or not _int8(x, w) or np.any(w.zero_point):
        return {}
    if op.kind == "FULLY_CONNECTED":
        channels = x.shape[-1] if x.shape else 0
        return codes if len(w.shape) == 2 and x.size == channels == w.shape[1] else {}
    if len(w.shape) != 4 or op.attrs.pool is not None:
        return {}
    if w.shape[1:3] == (1, 1) and not _padded(graph, op, 1, 1):
        return codes
    return {c: v for c, v in codes.items() if v == x.qzero}


def _add_const(graph: Graph, like: Tensor, data: np.ndarray, scale=None, zero_point=None) -> int:
    t = replace(like, index=len(graph.tensors), name=f"{like.name} (pruned)", shape=tuple(data.shape), data=data,
                scale=like.scale if scale is None else scale, zero_point=like.zero_point if zero_point is None
                else zero_point, producer=None, consumers=[])
    graph.tensors.append(t)
    return t.index


def _per_channel(values: np.ndarray | None, keep: np.ndarray) -> np.ndarray | None:
    return values if values is None or len(values) <= 1 else values[keep]


def _drop_outputs(graph: Graph, op: Op, keep: np.ndarray, axis: int) -> None:
    """``op`` (CONV_2D / DEPTHWISE_CONV_2D) keeps the output channels ``keep`` (weights along ``axis``)."""
    w = graph.t(op.inputs[1])
    op.inputs[1] = _add_const(graph, w, np.take(w.data, keep, axis=axis), _per_channel(w.scale, keep),
                              _per_channel(w.zero_point, keep))
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        b = graph.t(op.inputs[2])
        op.inputs[2] = _add_const(graph, b, b.data.reshape(-1)[keep], _per_channel(b.scale, keep),
                                  _per_channel(b.zero_point, keep))


def _narrow(graph: Graph, tensor: int, channels: int) -> None:
    t = graph.t(tensor)
    graph.tensors[tensor] = replace(t, shape=(*t.shape[:-1], channels))


def remove_constant_channels(graph: Graph) -> Graph:
    """Remove every int8 CONV_2D output channel with all-zero weights that the module docstring's
    proof covers, with its channel in the ops after it; fold its contribution into the bias of the
    CONV_2D / FULLY_CONNECTED that reads it."""
    for op in list(graph.ops):
        if op.kind != "CONV_2D" or op.attrs is None or getattr(op.attrs, "pool", None) is not None:
            continue
        x, w, y = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
        if w.data is None or len(w.shape) != 4 or not _int8(x, w, y) or np.any(w.zero_point):
            continue
        channels = w.shape[0]
        zero = np.flatnonzero(np.all(w.data.reshape(channels, -1) == 0, axis=1))
        found = _chain(graph, op.outputs[0])
        if not len(zero) or found is None:
            continue
        path, reader = found
        try:
            codes = _codes(graph, op, _bias(graph, op, channels), [int(c) for c in zero])
            for step in path:
                codes = _through(graph, step, codes)
            codes = _foldable(graph, reader, codes)
        except (UnsupportedOpError, ConversionError):
            continue  # left as it is: the op's own checks name the problem
        if len(codes) == channels:  # keep one channel: no tensor becomes empty
            codes.pop(max(codes))
        if not codes:
            continue
        rw = graph.t(reader.inputs[1])
        zp = graph.t(reader.inputs[0]).qzero
        out_c = rw.shape[0]
        columns = rw.data.reshape(out_c, -1, channels) if reader.kind == "CONV_2D" else rw.data[:, None, :]
        folded = _bias(graph, reader, out_c)
        for c, v in codes.items():
            folded = folded + (v - zp) * columns[:, :, c].astype(np.int64).sum(axis=1)
        if folded.min() < INT32[0] or folded.max() > INT32[1]:
            continue
        keep = np.array([c for c in range(channels) if c not in codes])
        _drop_outputs(graph, op, keep, 0)
        _narrow(graph, op.outputs[0], len(keep))
        for step in path:
            if step.kind == "DEPTHWISE_CONV_2D":
                _drop_outputs(graph, step, keep, 3)
            _narrow(graph, step.outputs[0], len(keep))
        axis = 3 if reader.kind == "CONV_2D" else 1
        reader.inputs[1] = _add_const(graph, rw, np.take(rw.data, keep, axis=axis))
        if len(reader.inputs) > 2 and reader.inputs[2] >= 0:
            reader.inputs[2] = _add_const(graph, graph.t(reader.inputs[2]), folded.astype(np.int32))
        elif np.any(folded):
            bias = Tensor(len(graph.tensors), f"{rw.name} bias (pruned)", "int32", (out_c,),
                          data=folded.astype(np.int32))
            graph.tensors.append(bias)
            reader.inputs = [*reader.inputs[:2], bias.index]
        logger.debug("%s: removed %d constant channels of %d", y.name, len(codes), channels)
        graph.link()
    return graph
