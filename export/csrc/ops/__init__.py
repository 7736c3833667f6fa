"""The op registry: one module per op, registered here and nowhere else.

``SUPPORTED_OPS`` is the closed set of TFLite builtin ops the C generator emits. ``SHAPE_OPS`` are
taken only where they compute a RESHAPE's shape (a dynamic batch), and folded away. ``FUSED_OPS``
exist only after a pass of ``simplify`` has folded several builtin ops into one; a .tflite never
names them.
"""
from __future__ import annotations

from typing import Any

from . import (concatenation, conv_2d, depthwise_conv_2d, dequantize, elementwise, fully_connected, hard_swish,
               leaky_relu, logistic, mean, pad, pool, quantize, relu, reshape, residual_block, softmax, tanh)
from .base import OpDef

_MODULES = (fully_connected, conv_2d, depthwise_conv_2d, pool, reshape, softmax, logistic, quantize, elementwise, mean,
            pad, concatenation, relu, leaky_relu, hard_swish, tanh, dequantize)

_FUSED = (residual_block,)

SUPPORTED_OPS: frozenset[str] = frozenset(name for m in _MODULES for name in m.OP.names)
FUSED_OPS: frozenset[str] = frozenset(name for m in _FUSED for name in m.OP.names)
REGISTRY: dict[str, OpDef] = {name: m.OP for m in _MODULES + _FUSED for name in m.OP.names}
SHAPE_OPS: frozenset[str] = frozenset({"SHAPE", "STRIDED_SLICE", "PACK"})


def parse_attrs(kind: str, options: Any) -> Any:
    """The typed attributes of an op of ``kind`` (None for ops no module handles)."""
    opdef = REGISTRY.get(kind)
    return opdef.parse(options) if opdef is not None else None


def macs(graph, op) -> int:
    """Multiply-accumulates of one inference of ``op`` (0 for ops without a module)."""
    opdef = REGISTRY.get(op.kind)
    return opdef.macs(graph, op) if opdef is not None else 0
