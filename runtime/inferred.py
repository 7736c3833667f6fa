"""The contract of a ``.tflite`` that carries no edgeport metadata (a model from elsewhere),
read from its graph at load.

- mode: int16 activations are ``int16x8``, int8/uint8 activations ``int8`` (full integer),
  float activations with int8 constants ``dynamic``, with float16 constants ``float16``,
  else ``none``;
- task: a SOFTMAX over k > 1 outputs is ``classification``, one LOGISTIC output ``binary``;
  anything else is ``regression``: ``predict`` returns the output values, never a guess at
  classes;
- input: features (no pixel rule); an integer input also takes its own codes as they are
  (``raw_input``), and floats quantized with its scale and zero point.

Only the flatbuffer schema that ships with LiteRT is used (no TensorFlow).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import BackendUnavailableError, ModelFileError
from .metadata import RAW_INPUT_FIELD, ModelMetadata, Quantization

INFERRED_FIELD = "inferred_from_graph"
# Ops that pass their input's values through: the output's activation is read before them.
_PASS_THROUGH = ("QUANTIZE", "DEQUANTIZE", "RESHAPE", "SQUEEZE")
_ACTIVATIONS = {"SOFTMAX": "softmax", "LOGISTIC": "sigmoid"}


@dataclass(frozen=True)
class GraphFacts:
    """What a .tflite's graph says about itself."""

    mode: str  # "none" | "float16" | "dynamic" | "int8" | "int16x8"
    output_activation: str  # "softmax" | "sigmoid" | "linear"
    ops: tuple[str, ...]  # builtin op names, in graph order
    custom_ops: tuple[str, ...]


def _schema():
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError as e:
        raise BackendUnavailableError(
            "reading a .tflite graph needs the flatbuffer schema from ai-edge-litert: pip install ai-edge-litert"
        ) from e
    return schema


def graph_facts(data: bytes, path: str = "<tflite>") -> GraphFacts:
    """Mode, output activation and ops of the first subgraph of the flatbuffer ``data``."""
    schema = _schema()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelFileError(f"{path}: not a TFLite flatbuffer (expected 'TFL3' at bytes 4-8, got {data[4:8]!r})")
    try:
        model = schema.Model.GetRootAs(data, 0)
        graph = model.Subgraphs(0)
        names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        ops, custom, producer = [], [], {}
        for i in range(graph.OperatorsLength()):
            op = graph.Operators(i)
            code = model.OperatorCodes(op.OpcodeIndex())
            if code.CustomCode():
                custom.append(code.CustomCode().decode(errors="replace"))
                kind = "CUSTOM"
            else:
                kind = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "UNKNOWN")
            ops.append(kind)
            for j in range(op.OutputsLength()):
                producer[op.Outputs(j)] = (kind, op.Inputs(0) if op.InputsLength() else -1)
        mode = _mode(schema, model, graph)
        activation = _output_activation(producer, graph.Outputs(0))
    except ModelFileError:
        raise
    except Exception as e:  # a corrupt flatbuffer raises struct/index errors
        raise ModelFileError(f"{path}: corrupt TFLite flatbuffer ({type(e).__name__}: {e})") from e
    return GraphFacts(mode, activation, tuple(ops), tuple(custom))


def _mode(schema, model, graph) -> str:
    T = schema.TensorType
    activations, constants = set(), set()
    for i in range(graph.TensorsLength()):
        tensor = graph.Tensors(i)
        buffer = model.Buffers(tensor.Buffer()) if tensor.Buffer() < model.BuffersLength() else None
        stored = buffer is not None and (buffer.DataLength() > 0 or buffer.Offset() > 1)
        (constants if stored else activations).add(tensor.Type())
    if T.INT16 in activations:
        return "int16x8"
    if activations & {T.INT8, T.UINT8}:
        return "int8"
    if T.INT8 in constants:
        return "dynamic"
    if T.FLOAT16 in constants:
        return "float16"
    return "none"


def _output_activation(producer: dict[int, tuple[str, int]], tensor: int) -> str:
    for _ in range(len(producer) + 1):
        kind, source = producer.get(tensor, ("INPUT", -1))
        if kind not in _PASS_THROUGH:
            return _ACTIVATIONS.get(kind, "linear")
        tensor = source
    return "linear"


def inferred_metadata(
    data: bytes, *, item_shape: tuple[int, ...], outputs: int, input_dtype: str, path: str
) -> ModelMetadata:
    """The metadata a .tflite without edgeport metadata is run under (see the module docstring)."""
    if not item_shape or not all(item_shape):
        raise ModelFileError(f"{path}: the input shape {list(item_shape)} is not fixed: expected (batch, sizes...)")
    facts = graph_facts(data, path)
    if facts.output_activation == "softmax" and outputs > 1:
        task, names = "classification", tuple(f"class_{i}" for i in range(outputs))
    elif facts.output_activation == "sigmoid" and outputs == 1:
        task, names = "binary", ("class_0", "class_1")
    else:
        task, names = "regression", ()
    integer_input = input_dtype.startswith(("int", "uint"))
    return ModelMetadata(
        class_names=names,
        input_shape=tuple(item_shape),
        input_dtype=input_dtype,
        pixel_scale=None,
        task=task,
        output_size=outputs,
        format="tflite",
        quantization=Quantization(mode=facts.mode, io_dtype=input_dtype),
        extra={INFERRED_FIELD: True, RAW_INPUT_FIELD: integer_input},
    )


def output_width(shape: tuple[int, ...]) -> int:
    """Values per sample of an output of ``shape`` (batch first)."""
    return math.prod(shape[1:]) if len(shape) > 1 else 1
