"""Read a .tflite flatbuffer into a small graph: a chain of ops over typed tensors.

The SHAPE / STRIDED_SLICE / PACK ops that a dynamic batch puts in front of RESHAPE only compute
RESHAPE's shape operand; they are dropped here, since the C code has a fixed batch of one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UnsupportedOpError
from ..errors import ConversionError

SUPPORTED_OPS = (
    "FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D",
    "RESHAPE", "SOFTMAX", "LOGISTIC", "QUANTIZE",
)
SHAPE_OPS = ("SHAPE", "STRIDED_SLICE", "PACK")
_DTYPES = {0: "float32", 2: "int32", 3: "uint8", 9: "int8"}
_NP = {"float32": "<f4", "int32": "<i4", "uint8": "u1", "int8": "i1"}
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


@dataclass
class Tensor:
    index: int
    name: str
    dtype: str
    shape: tuple[int, ...]
    scale: np.ndarray | None = None
    zero_point: np.ndarray | None = None
    data: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def qscale(self) -> float:
        return float(self.scale[0])

    @property
    def qzero(self) -> int:
        return int(self.zero_point[0])


@dataclass
class Op:
    kind: str
    inputs: list[int]
    outputs: list[int]
    options: Any = None
    activation: str = "NONE"


@dataclass
class Graph:
    tensors: list[Tensor]
    ops: list[Op]
    input: int
    output: int
    metadata: dict[str, bytes] = field(default_factory=dict)

    def t(self, index: int) -> Tensor:
        return self.tensors[index]


def read_graph(path: str | Path) -> Graph:
    """Parse ``path``; raise ConversionError on anything the generator cannot take."""
    from ai_edge_litert import schema_py_generated as schema

    from runtime._litert import read_tflite_metadata
    from runtime.errors import ModelFileError

    path = Path(path)
    try:
        data = path.read_bytes()
        metadata = read_tflite_metadata(data, str(path))
        model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(data, 0))
    except (OSError, ModelFileError) as e:
        raise ConversionError(f"cannot read {path}: {e}") from e
    except Exception as e:  # a corrupt flatbuffer raises assorted struct/index errors
        raise ConversionError(f"{path}: corrupt TFLite flatbuffer ({type(e).__name__}: {e})") from e
    if len(model.subgraphs or []) != 1:
        raise ConversionError(f"{path}: expected 1 subgraph, got {len(model.subgraphs or [])}")
    sub = model.subgraphs[0]
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    tensors = [_tensor(i, t, model.buffers) for i, t in enumerate(sub.tensors)]
    ops = []
    for op in sub.operators:
        code = model.operatorCodes[op.opcodeIndex]
        if code.customCode:
            raise UnsupportedOpError(f"custom op {code.customCode.decode(errors='replace')}")
        kind = names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "UNKNOWN")
        if kind not in SUPPORTED_OPS + SHAPE_OPS:
            raise UnsupportedOpError(kind)
        opts = op.builtinOptions
        act = ACTIVATIONS.get(getattr(opts, "fusedActivationFunction", 0))
        if act is None:
            raise UnsupportedOpError(kind, f"fused activation {opts.fusedActivationFunction}")
        ops.append(Op(kind, [int(i) for i in op.inputs], [int(i) for i in op.outputs], opts, act))
    if len(sub.inputs) != 1 or len(sub.outputs) != 1:
        raise ConversionError(f"{path}: expected one input and one output, got {len(sub.inputs)} and {len(sub.outputs)}")
    graph = Graph(tensors, ops, int(sub.inputs[0]), int(sub.outputs[0]), metadata)
    graph.ops = _drop_shape_ops(graph)
    _check_chain(graph)
    return graph


def _tensor(index: int, t, buffers) -> Tensor:
    name = t.name.decode(errors="replace") if t.name else f"t{index}"
    dtype = _DTYPES.get(t.type)
    shape = tuple(int(d) for d in (t.shape if t.shape is not None else ()))
    tensor = Tensor(index, name, dtype or f"type{t.type}", shape)
    q = t.quantization
    if q is not None and q.scale is not None and len(q.scale):
        tensor.scale = np.asarray(q.scale, dtype=np.float32)
        tensor.zero_point = np.asarray(q.zeroPoint, dtype=np.int64)
    buf = buffers[t.buffer] if 0 < t.buffer < len(buffers) else None
    if buf is not None and buf.data is not None and len(buf.data) and dtype is not None:
        raw = np.asarray(buf.data, dtype=np.uint8).tobytes()
        arr = np.frombuffer(raw, dtype=_NP[dtype])
        if arr.size != tensor.size:
            raise ConversionError(f"tensor {name!r}: buffer holds {arr.size} values, shape {shape} needs {tensor.size}")
        tensor.data = arr.reshape(shape).astype(_NP[dtype].replace("<", "="))
    return tensor


def _drop_shape_ops(graph: Graph) -> list[Op]:
    """Remove ops whose outputs only feed RESHAPE's shape operand (or other such ops)."""
    ops = list(graph.ops)
    while True:
        consumers: dict[int, list[tuple[Op, int]]] = {}
        for op in ops:
            for pos, i in enumerate(op.inputs):
                consumers.setdefault(i, []).append((op, pos))
        dead = [
            op for op in ops
            if op.kind in SHAPE_OPS and op.outputs[0] != graph.output
            and all((c.kind == "RESHAPE" and pos == 1) or c.kind in SHAPE_OPS for c, pos in consumers.get(op.outputs[0], []))
        ]
        if not dead:
            break
        ops = [op for op in ops if op not in dead]
    for op in ops:
        if op.kind in SHAPE_OPS:
            raise UnsupportedOpError(op.kind, "only supported where it computes a RESHAPE's shape")
    return ops


def _check_chain(graph: Graph) -> None:
    """Every op must read the previous op's output: the generator plans a chain."""
    current = graph.input
    for op in graph.ops:
        if op.inputs[0] != current:
            raise UnsupportedOpError(op.kind, "graph is not a single chain of ops")
        for i in op.inputs[1:]:
            if i >= 0 and graph.t(i).data is None and op.kind != "RESHAPE":
                raise UnsupportedOpError(op.kind, f"operand {graph.t(i).name!r} is not a constant")
        current = op.outputs[0]
    if current != graph.output:
        raise ConversionError("the graph's output is not the last op's output")
