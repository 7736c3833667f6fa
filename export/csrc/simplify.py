"""Graph passes before lowering: drop what a fixed batch of one does not need, fold what runs
better as one op."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .errors import UnsupportedOpError
from .ir import Graph, Op
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


def fuse_residual_blocks(graph: Graph) -> Graph:
    """Fold CONV_2D -> CONV_2D -> ADD, whose other operand is the first conv's input x or a 1x1
    CONV_2D of x, into one RESIDUAL_BLOCK op at the ADD's place, when nothing else reads the
    intermediate tensors: its kernel streams the convs row by row, so they never exist whole
    (``ops/residual_block.py``). Exact: the same int8 values as TFLite Micro's four ops."""
    from .errors import UnsupportedOpError as Unsupported
    from .ops.residual_block import KIND, Attrs, fusable

    def only_reader(tensor: int, op) -> bool:
        return tensor not in graph.outputs and [c.index for c in graph.consumers(tensor)] == [op.index]

    def conv(op) -> bool:
        return op is not None and op.kind == "CONV_2D" and op.attrs is not None

    for add in list(graph.ops):
        if add.kind != "ADD" or add.attrs is None or len(add.inputs) != 2:
            continue
        for b_at in (0, 1):
            conv_b = graph.producer(add.inputs[b_at])
            conv_a = graph.producer(conv_b.inputs[0]) if conv(conv_b) else None
            if (not conv(conv_a) or not only_reader(conv_b.outputs[0], add)
                    or not only_reader(conv_a.outputs[0], conv_b)):
                continue
            x, r = conv_a.inputs[0], add.inputs[1 - b_at]
            source = graph.producer(x)
            if graph.t(x).dtype != "int8" or (source is not None and source.kind in ("QUANTIZE", "RESHAPE")):
                continue
            proj = None
            if r != x:
                proj = graph.producer(r)
                if not conv(proj) or proj.inputs[0] != x or not only_reader(r, add):
                    continue
            try:
                ok = fusable(graph, conv_a, conv_b, add, proj)
            except Unsupported:
                ok = False  # left to the op's own lowering, which names what it refuses
            if not ok:
                continue
            fused = Op(KIND, [x], list(add.outputs), Attrs(conv_a, conv_b, add, proj))
            gone = {id(conv_a), id(conv_b), id(proj)}
            graph.ops = [fused if op is add else op for op in graph.ops if id(op) not in gone]
            graph.link()
            break
    return graph


def fold_pad(graph: Graph) -> Graph:
    """Fold an int8 PAD (or PADV2) of the height and width into the CONV_2D / DEPTHWISE_CONV_2D that
    alone reads its output, as explicit padding: exact when the pad value is the conv's input zero
    point, since a padding tap of the conv kernels holds that zero point too."""
    for pad in list(graph.ops):
        if pad.kind not in ("PAD", "PADV2") or len(pad.inputs) < 2:
            continue
        x, y = graph.t(pad.inputs[0]), graph.t(pad.outputs[0])
        readers = graph.consumers(pad.outputs[0])
        conv = readers[0] if len(readers) == 1 else None
        amounts = graph.t(pad.inputs[1]).data
        source = graph.producer(pad.inputs[0])
        if (conv is None or conv.kind not in ("CONV_2D", "DEPTHWISE_CONV_2D") or conv.attrs is None
                or conv.inputs[0] != pad.outputs[0] or pad.outputs[0] in graph.outputs or amounts is None
                or getattr(conv.attrs, "pool", None) is not None or conv.attrs.window.explicit is not None):
            continue
        if (x.dtype != "int8" or y.dtype != "int8" or not x.quantized or not y.quantized or len(x.shape) != 4
                or (x.qscale, x.qzero) != (y.qscale, y.qzero)
                or (source is not None and source.kind in ("QUANTIZE", "RESHAPE"))):
            continue
        amounts = amounts.reshape(-1, 2).astype(np.int64)
        value = y.qzero
        if len(pad.inputs) > 2 and pad.inputs[2] >= 0:
            constant = graph.t(pad.inputs[2]).data
            value = None if constant is None or constant.size != 1 else int(constant.reshape(-1)[0])
        if amounts.shape != (4, 2) or np.any(amounts[[0, 3]] != 0) or np.any(amounts < 0) or value != y.qzero:
            continue
        win = conv.attrs.window
        w = graph.t(conv.inputs[1])
        if w.data is None or len(w.shape) != 4:
            continue
        z = graph.t(conv.outputs[0])
        (th, bh), (tw, bw) = win.pads(y.shape[1:3], z.shape[1:3], w.shape[1:3])
        explicit = (int(amounts[1, 0]) + th, int(amounts[1, 1]) + bh, int(amounts[2, 0]) + tw, int(amounts[2, 1]) + bw)
        conv.attrs = replace(conv.attrs, window=replace(win, padding="EXPLICIT", explicit=explicit))
        conv.inputs = [pad.inputs[0], *conv.inputs[1:]]
        graph.ops = [op for op in graph.ops if op is not pad]
        graph.link()
    return graph


def simplify(graph: Graph) -> Graph:
    """Every pass, in order: what the C generator lowers."""
    from .prune import remove_constant_channels

    return fuse_residual_blocks(fuse_conv_maxpool(remove_constant_channels(fold_pad(drop_shape_ops(graph)))))
