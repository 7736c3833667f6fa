"""Bytes of an artifact's stored tensors (weights, biases and other constants): what quantization controls.

The quantized size bound compares these, not whole files: a file also holds the graph, names,
metadata and, for per-channel quantization, one scale and zero point per output channel, which
weigh more in a small conv net than in a big dense one (``vww_96``: 36% of the fp32 file, its
tensors 26%).

- ``.tflite``: the data of every buffer a subgraph tensor points at (the metadata buffers are not tensors);
- ``.onnx``: every initializer, and the tensors of ``Constant`` nodes.
"""
from __future__ import annotations

from pathlib import Path

from .errors import ExportError


def weight_bytes(path: str | Path) -> int:
    """Bytes of the constant tensors stored in the ``.tflite`` or ``.onnx`` file at ``path``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        return _tflite_weight_bytes(path.read_bytes())
    if suffix == ".onnx":
        return _onnx_weight_bytes(path)
    raise ExportError(f"{path}: cannot count the weights of a {suffix or '(no suffix)'} file: expected .tflite or .onnx")


def _tflite_weight_bytes(data: bytes) -> int:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(data, 0)
    used = set()
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        used.update(graph.Tensors(i).Buffer() for i in range(graph.TensorsLength()))
    total = 0
    for index in used:
        if 0 < index < model.BuffersLength():
            buffer = model.Buffers(index)
            total += buffer.Size() if buffer.Offset() > 1 else buffer.DataLength()
    return total


def _onnx_weight_bytes(path: Path) -> int:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    tensors = list(model.graph.initializer)
    for node in model.graph.node:
        if node.op_type == "Constant":
            tensors += [a.t for a in node.attribute if a.name == "value"]
    return sum(len(t.raw_data) if t.raw_data else numpy_helper.to_array(t).nbytes for t in tensors)
