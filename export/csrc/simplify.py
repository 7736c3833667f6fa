"""Graph passes before lowering: drop what a fixed batch of one does not need, fold what runs
better as one op."""
from __future__ import annotations

from dataclasses import replace

from .errors import UnsupportedOpError
from .ir import Graph
from .ops import SHAPE_OPS


def drop_shape_ops(graph: Graph) -> Graph:
    """Remove the SHAPE / STRIDED_SLICE / PACK ops whose outputs only feed RESHAPE's shape operand (or
    other such ops): a dynamic batch puts them there, and the C code has a fixed batch of one."""
    while True:
        dead = [op for op in graph.ops
                if op.kind in SHAPE_OPS and not set(op.outputs) & set(graph.outputs)
                and all(all((c.kind == "RESHAPE" and c.inputs.index(o) == 1) or c.kind in SHAPE_OPS
                            for c in graph.consumers(o)) for o in op.outputs)]
        if not dead:
            break
        graph.ops = [op for op in graph.ops if op not in dead]
        graph.link()
    for op in graph.ops:
        if op.kind in SHAPE_OPS:
            raise UnsupportedOpError(op.kind, "only supported where it computes a RESHAPE's shape")
    return graph


def fuse_conv_maxpool(graph: Graph) -> Graph:
    """Fold a MAX_POOL_2D (no padding, stride equal to its window) into the int8 CONV_2D that is the
    only producer of its input, when nothing else reads the conv output: the fused kernel pools
    conv rows as it computes them, so the conv output never exists whole. Exact: TFLite Micro
    pools the same int8 values."""
    from .ops.conv_2d import MaxPool

    for pool in list(graph.ops):
        if pool.kind != "MAX_POOL_2D" or pool.attrs is None:
            continue
        conv = graph.producer(pool.inputs[0])
        t, y = graph.t(pool.inputs[0]), graph.t(pool.outputs[0])
        a = pool.attrs
        if (conv is None or conv.kind != "CONV_2D" or conv.attrs is None or conv.attrs.pool is not None
                or len(graph.consumers(pool.inputs[0])) != 1 or pool.inputs[0] in graph.outputs):
            continue
        win = conv.attrs.window
        if (t.dtype != "int8" or y.dtype != "int8" or not t.quantized or not y.quantized
                or (t.qscale, t.qzero) != (y.qscale, y.qzero) or (win.dilation_h, win.dilation_w) != (1, 1)):
            continue
        if (a.window.padding != "VALID" or (a.window.stride_h, a.window.stride_w) != (a.filter_h, a.filter_w)
                or len(t.shape) != 4 or len(y.shape) != 4 or y.shape[1:3] != (t.shape[1] // a.filter_h,
                                                                              t.shape[2] // a.filter_w)):
            continue
        conv.attrs = replace(conv.attrs, pool=MaxPool(a.filter_h, a.filter_w, a.activation, t.shape))
        conv.outputs = list(pool.outputs)
        graph.ops = [op for op in graph.ops if op is not pool]
        graph.link()
    return graph
