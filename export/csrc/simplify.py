"""Graph passes before lowering: drop what a fixed batch of one does not need."""
from __future__ import annotations

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
