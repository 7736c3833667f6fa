"""The one reader of .tflite flatbuffers for the C generator (and the MCU MAC count).

It parses with the flatbuffer schema that ships with LiteRT (``ai_edge_litert.schema_py_generated``),
never TensorFlow, and turns every op's builtin options into the typed attributes of its module in
``ops/``. Ops no module handles keep ``attrs=None``: the reader refuses nothing a valid file may
hold; ``lower.check_graph`` refuses what the generator cannot emit.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ConversionError
from .ir import Graph, Op, Tensor

_NP = {"float32": "<f4", "int32": "<i4", "uint8": "u1", "int8": "i1", "int16": "<i2", "int64": "<i8", "bool": "?"}


def _schema():
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError as e:
        raise ConversionError("reading .tflite files needs ai-edge-litert: pip install ai-edge-litert") from e
    return schema


def _load(path: Path):
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConversionError(f"cannot read {path}: {e}") from e
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ConversionError(f"{path}: not a TFLite flatbuffer (expected file identifier 'TFL3' at bytes 4-8, "
                              f"got {data[4:8]!r})")
    schema = _schema()
    try:
        return schema, data, schema.ModelT.InitFromObj(schema.Model.GetRootAs(data, 0))
    except Exception as e:  # a corrupt flatbuffer raises assorted struct/index/unicode errors
        raise ConversionError(f"{path}: corrupt TFLite flatbuffer ({type(e).__name__}: {e})") from e


def _buffer_bytes(model, data: bytes, index: int) -> bytes:
    if not 0 < index < len(model.buffers or []):
        return b""
    buf = model.buffers[index]
    if getattr(buf, "offset", 0) > 1:  # stored after the flatbuffer (models over 2 GB)
        return data[buf.offset:buf.offset + buf.size]
    return np.asarray(buf.data, dtype=np.uint8).tobytes() if buf.data is not None else b""


def read_metadata(path: str | Path) -> dict[str, bytes]:
    """The flatbuffer's ``metadata`` entries as {name: bytes}."""
    path = Path(path)
    _, data, model = _load(path)
    return _metadata(model, data)


def _metadata(model, data: bytes) -> dict[str, bytes]:
    return {m.name.decode(errors="replace"): _buffer_bytes(model, data, m.buffer) for m in model.metadata or []}


def read_graph(path: str | Path) -> Graph:
    """Parse ``path`` into a linked ``Graph``; raise ConversionError on an unreadable or corrupt file."""
    from .ops import parse_attrs

    path = Path(path)
    schema, data, model = _load(path)
    subgraphs = model.subgraphs or []
    if len(subgraphs) != 1:
        raise ConversionError(f"{path}: expected 1 subgraph, got {len(subgraphs)}")
    sub = subgraphs[0]
    type_names = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    try:
        tensors = [_tensor(i, t, type_names, model, data) for i, t in enumerate(sub.tensors or [])]
        ops = []
        for op in sub.operators or []:
            code = model.operatorCodes[op.opcodeIndex]
            if code.customCode:
                kind = f"custom op {code.customCode.decode(errors='replace')}"
            else:
                kind = op_names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "UNKNOWN")
            inputs = [int(i) for i in (op.inputs if op.inputs is not None else [])]
            outputs = [int(i) for i in (op.outputs if op.outputs is not None else [])]
            for i in inputs + outputs:
                if not -1 <= i < len(tensors) or (i == -1 and i in outputs):
                    raise ConversionError(f"{path}: op {kind} refers to tensor {i} of {len(tensors)}")
            ops.append(Op(kind, inputs, outputs, parse_attrs(kind, op.builtinOptions)))
        graph = Graph(tensors, ops, [int(i) for i in sub.inputs], [int(i) for i in sub.outputs],
                      _metadata(model, data), str(path))
    except ConversionError:
        raise
    except Exception as e:  # inconsistent tables in a flatbuffer that parsed
        raise ConversionError(f"{path}: corrupt TFLite flatbuffer ({type(e).__name__}: {e})") from e
    return graph.link()


def _tensor(index: int, t, type_names: dict, model, data: bytes) -> Tensor:
    name = t.name.decode(errors="replace") if t.name else f"t{index}"
    dtype = type_names.get(t.type, f"type{t.type}")
    shape = tuple(int(d) for d in (t.shape if t.shape is not None else ()))
    tensor = Tensor(index, name, dtype, shape)
    q = t.quantization
    if q is not None and q.scale is not None and len(q.scale):
        tensor.scale = np.asarray(q.scale, dtype=np.float32)
        tensor.zero_point = np.asarray(q.zeroPoint if q.zeroPoint is not None else [0] * len(q.scale), dtype=np.int64)
        tensor.quantized_dimension = int(q.quantizedDimension)
    raw = _buffer_bytes(model, data, t.buffer)
    if raw and dtype in _NP:
        arr = np.frombuffer(raw, dtype=_NP[dtype])
        if arr.size != tensor.size:
            raise ConversionError(f"tensor {name!r}: buffer holds {arr.size} values, shape {shape} needs {tensor.size}")
        tensor.data = arr.reshape(shape).astype(_NP[dtype].replace("<", "="))
    return tensor
