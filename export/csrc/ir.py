"""The C generator's typed graph: tensors with producers, consumers and lifetimes; ops with typed attributes.

``reader.read_graph`` builds it from a .tflite; ``simplify`` removes what the C code does not need;
``lower`` turns each op into a C step through its module in ``ops/``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

CTYPE = {"int8": "int8_t", "uint8": "uint8_t", "float32": "float", "int32": "int32_t", "int16": "int16_t"}
SUFFIX = {"int8": "s8", "uint8": "u8", "float32": "f32"}
ITEMSIZE = {"float32": 4, "int32": 4, "uint8": 1, "int8": 1, "int16": 2, "int64": 8, "bool": 1}


@dataclass
class Tensor:
    """One tensor of the graph. ``data`` is set for constants; ``scale``/``zero_point`` for quantized ones."""

    index: int
    name: str
    dtype: str
    shape: tuple[int, ...]
    scale: np.ndarray | None = None
    zero_point: np.ndarray | None = None
    quantized_dimension: int = 0
    data: np.ndarray | None = None
    producer: int | None = None                            # position of the op writing it
    consumers: list[int] = field(default_factory=list)     # positions of the ops reading it
    first: int = -1   # lifetime: position of the producer (-1: before the first op)
    last: int = -1    # lifetime: position of the last consumer (len(ops): read after the last op)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.size * ITEMSIZE.get(self.dtype, 1)

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def quantized(self) -> bool:
        return self.scale is not None and len(self.scale) > 0

    @property
    def qscale(self) -> float:
        return float(self.scale[0])

    @property
    def qzero(self) -> int:
        return int(self.zero_point[0])


@dataclass
class Op:
    """One operator: its TFLite builtin name, tensor indices (-1: an omitted optional input) and attributes."""

    kind: str
    inputs: list[int]
    outputs: list[int]
    attrs: Any = None     # the op module's typed attributes, or None for an op no module handles
    index: int = 0        # position in Graph.ops (kept current by Graph.link)


@dataclass
class Graph:
    tensors: list[Tensor]
    ops: list[Op]
    inputs: list[int]
    outputs: list[int]
    metadata: dict[str, bytes] = field(default_factory=dict)
    source: str = ""

    def t(self, index: int) -> Tensor:
        return self.tensors[index]

    @property
    def input(self) -> int:
        return self.inputs[0]

    @property
    def output(self) -> int:
        return self.outputs[0]

    def link(self) -> "Graph":
        """Recompute op positions, producers, consumers and lifetimes after ``ops`` changed."""
        for t in self.tensors:
            t.producer, t.consumers, t.first, t.last = None, [], -1, -1
        for pos, op in enumerate(self.ops):
            op.index = pos
            for i in op.inputs:
                if i >= 0 and pos not in self.tensors[i].consumers:
                    self.tensors[i].consumers.append(pos)
                    self.tensors[i].last = pos
            for i in op.outputs:
                self.tensors[i].producer = pos
                self.tensors[i].first = pos
        for i in self.outputs:
            self.tensors[i].last = len(self.ops)
        return self

    def producer(self, index: int) -> Op | None:
        pos = self.tensors[index].producer
        return None if pos is None else self.ops[pos]

    def consumers(self, index: int) -> list[Op]:
        return [self.ops[pos] for pos in self.tensors[index].consumers]
