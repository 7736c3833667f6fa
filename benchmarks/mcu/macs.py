"""Multiply-accumulates per inference, counted from a .tflite graph (batch 1)."""
from __future__ import annotations

from pathlib import Path

from ..errors import UsageError

HINT = "reading .tflite graphs needs ai-edge-litert: pip install 'edgeport[runtime]'"


def _schema():
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError as e:
        raise UsageError(HINT) from e
    return schema


def count_macs(tflite_path: str | Path) -> int:
    """MACs of one inference: FULLY_CONNECTED in*out, CONV_2D kh*kw*cin*cout*oh*ow,
    DEPTHWISE_CONV_2D kh*kw*c*oh*ow (c = output channels). Other ops count 0."""
    schema = _schema()
    path = Path(tflite_path)
    data = path.read_bytes()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise UsageError(f"{path}: not a TFLite flatbuffer (expected 'TFL3' at bytes 4-8, got {data[4:8]!r})")
    try:
        model = schema.Model.GetRootAs(data, 0)
        ops = schema.BuiltinOperator
        total = 0
        for g in range(model.SubgraphsLength()):
            graph = model.Subgraphs(g)
            for i in range(graph.OperatorsLength()):
                op = graph.Operators(i)
                code = model.OperatorCodes(op.OpcodeIndex())
                builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
                if builtin not in (ops.FULLY_CONNECTED, ops.CONV_2D, ops.DEPTHWISE_CONV_2D):
                    continue
                weights = graph.Tensors(op.Inputs(1)).ShapeAsNumpy()
                out = graph.Tensors(op.Outputs(0)).ShapeAsNumpy()
                if builtin == ops.FULLY_CONNECTED:
                    rows = int(out[:-1].prod()) if len(out) > 1 else 1
                    total += rows * int(weights[0]) * int(weights[1])
                elif builtin == ops.CONV_2D:  # weights (cout, kh, kw, cin), output (1, oh, ow, cout)
                    total += int(weights.prod()) * int(out[1]) * int(out[2])
                else:  # weights (1, kh, kw, c), output (1, oh, ow, c)
                    total += int(weights[1]) * int(weights[2]) * int(out[1:].prod())
        return total
    except (IndexError, AttributeError, TypeError, ValueError) as e:
        raise UsageError(f"{path}: corrupt TFLite flatbuffer ({type(e).__name__}: {e})") from e
