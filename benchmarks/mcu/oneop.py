"""Small int8 .tflite models built directly as flatbuffers (no TensorFlow).

Kernel tests and the kernel benchmark run TFLite Micro on these to get the reference bytes for
one CONV_2D, DEPTHWISE_CONV_2D, ADD, pooling or FULLY_CONNECTED op with chosen shapes and
quantization; ``Builder`` also chains ops into a graph (for the generator's scratch planning).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UsageError
from .macs import HINT

PADDINGS = {"SAME": 0, "VALID": 1}
ACTIVATIONS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


@dataclass(frozen=True)
class Quant:
    """Scale(s) and zero point(s) of an int8 tensor; several scales mean per-channel (axis ``axis``)."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0


def _schema():
    try:
        import flatbuffers
        from ai_edge_litert import schema_py_generated as schema
    except ImportError as e:
        raise UsageError(HINT) from e
    return flatbuffers, schema


class Builder:
    """Tensors and operators of one subgraph, packed into .tflite bytes by ``finish``."""

    def __init__(self) -> None:
        _, self.s = _schema()
        self.tensors: list = []
        self.buffers = [self.s.BufferT()]  # buffer 0: the empty sentinel
        self.ops: list[tuple] = []

    def tensor(self, name: str, shape, dtype: str, q: Quant | None = None, data: np.ndarray | None = None) -> int:
        s = self.s
        t = s.TensorT()
        t.name = name
        t.shape = np.array(shape, dtype=np.int32)
        t.type = {"int8": s.TensorType.INT8, "int32": s.TensorType.INT32}[dtype]
        t.buffer = 0
        if data is not None:
            b = s.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data).astype(dtype).tobytes(), dtype=np.uint8)
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        if q is not None:
            qp = s.QuantizationParametersT()
            qp.scale = np.array(q.scale, dtype=np.float32)
            qp.zeroPoint = np.array(q.zero_point, dtype=np.int64)
            qp.quantizedDimension = q.axis
            t.quantization = qp
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, opcode: int, inputs: list[int], outputs: list[int], options_type: int, options) -> None:
        """Append one operator (in execution order)."""
        self.ops.append((opcode, inputs, outputs, options_type, options))

    def finish(self, opcode: int | None = None, inputs: list[int] | None = None, outputs: list[int] | None = None,
               options_type: int = 0, options=None, *, graph_inputs: list[int] | None = None,
               graph_outputs: list[int] | None = None) -> bytes:
        """The model bytes; with ``opcode`` the single op it holds (graph inputs: its non-constant
        inputs, graph outputs: its outputs), else the ops appended and the given graph I/O."""
        flatbuffers, s = _schema()
        if opcode is not None:
            self.op(opcode, inputs, outputs, options_type, options)
            graph_inputs = [i for i in inputs if self.tensors[i].buffer == 0]
            graph_outputs = outputs
        codes: list[int] = []
        operators = []
        for opcode_k, ins, outs, kind, opt in self.ops:
            if opcode_k not in codes:
                codes.append(opcode_k)
            op = s.OperatorT()
            op.opcodeIndex = codes.index(opcode_k)
            op.inputs = np.array(ins, dtype=np.int32)
            op.outputs = np.array(outs, dtype=np.int32)
            op.builtinOptionsType = kind
            op.builtinOptions = opt
            operators.append(op)
        code_objects = []
        for c in codes:
            code = s.OperatorCodeT()
            code.builtinCode = c
            code.deprecatedBuiltinCode = min(c, 127)
            code.version = 1
            code_objects.append(code)
        graph = s.SubGraphT()
        graph.tensors = self.tensors
        graph.inputs = np.array(graph_inputs, dtype=np.int32)
        graph.outputs = np.array(graph_outputs, dtype=np.int32)
        graph.operators = operators
        graph.name = "main"
        model = s.ModelT()
        model.version = 3
        model.operatorCodes = code_objects
        model.subgraphs = [graph]
        model.buffers = self.buffers
        model.description = "edgeport test model"
        builder = flatbuffers.Builder(4096)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def _check(name: str, value: str, allowed: dict) -> None:
    if value not in allowed:
        raise UsageError(f"{name} {value!r}; expected one of {', '.join(allowed)}")


def conv_model(x_shape: tuple[int, int, int], weights: np.ndarray, bias: np.ndarray, x_q: Quant, w_scales,
               y_q: Quant, y_shape: tuple[int, int, int], *, stride=(1, 1), padding="SAME", activation="NONE",
               depthwise: bool = False, maxpool: tuple[int, int] | None = None) -> bytes:
    """CONV_2D (weights [oc][kh][kw][ic]) or DEPTHWISE_CONV_2D (weights [1][kh][kw][c]), batch 1;
    ``maxpool``: a MAX_POOL_2D (that window and stride, VALID) after it, on the same quantization."""
    _check("padding", padding, PADDINGS)
    _check("activation", activation, ACTIVATIONS)
    b = Builder()
    s = b.s
    scales = tuple(float(v) for v in np.atleast_1d(w_scales))
    x = b.tensor("x", (1, *x_shape), "int8", x_q)
    w = b.tensor("w", weights.shape, "int8", Quant(scales, (0,) * len(scales), 3 if depthwise else 0), weights)
    bias_scales = tuple(float(np.float32(x_q.scale[0]) * np.float32(v)) for v in scales)
    bt = b.tensor("b", bias.shape, "int32", Quant(bias_scales, (0,) * len(scales)), bias)
    y = b.tensor("y", (1, *y_shape), "int8", y_q)
    if depthwise:
        opt = s.DepthwiseConv2DOptionsT()
        opt.depthMultiplier = weights.shape[3] // x_shape[2]
        kind, code = s.BuiltinOptions.DepthwiseConv2DOptions, s.BuiltinOperator.DEPTHWISE_CONV_2D
    else:
        opt = s.Conv2DOptionsT()
        kind, code = s.BuiltinOptions.Conv2DOptions, s.BuiltinOperator.CONV_2D
    opt.padding = PADDINGS[padding]
    opt.strideH, opt.strideW = stride
    opt.dilationHFactor = opt.dilationWFactor = 1
    opt.fusedActivationFunction = ACTIVATIONS[activation]
    if maxpool is None:
        return b.finish(code, [x, w, bt], [y], kind, opt)
    b.op(code, [x, w, bt], [y], kind, opt)
    pooled = b.tensor("pooled", (1, y_shape[0] // maxpool[0], y_shape[1] // maxpool[1], y_shape[2]), "int8", y_q)
    popt = s.Pool2DOptionsT()
    popt.padding = PADDINGS["VALID"]
    popt.strideH, popt.strideW = maxpool
    popt.filterHeight, popt.filterWidth = maxpool
    b.op(s.BuiltinOperator.MAX_POOL_2D, [y], [pooled], s.BuiltinOptions.Pool2DOptions, popt)
    return b.finish(graph_inputs=[x], graph_outputs=[pooled])


def add_model(shape: tuple[int, ...], a_q: Quant, b_q: Quant, y_q: Quant, *, activation="NONE") -> bytes:
    """ADD of two int8 tensors of the same shape."""
    _check("activation", activation, ACTIVATIONS)
    b = Builder()
    s = b.s
    x1, x2 = b.tensor("a", shape, "int8", a_q), b.tensor("b", shape, "int8", b_q)
    y = b.tensor("y", shape, "int8", y_q)
    opt = s.AddOptionsT()
    opt.fusedActivationFunction = ACTIVATIONS[activation]
    return b.finish(s.BuiltinOperator.ADD, [x1, x2], [y], s.BuiltinOptions.AddOptions, opt)


def avgpool_model(x_shape: tuple[int, int, int], y_shape: tuple[int, int, int], q: Quant, **kwargs) -> bytes:
    """AVERAGE_POOL_2D, batch 1, the same quantization in and out (as the converter makes it)."""
    return pool_model("AVERAGE_POOL_2D", x_shape, y_shape, q, **kwargs)


def pool_model(kind: str, x_shape: tuple[int, int, int], y_shape: tuple[int, int, int], q: Quant, *,
               filter_hw=(2, 2), stride=(2, 2), padding="VALID", activation="NONE") -> bytes:
    """AVERAGE_POOL_2D or MAX_POOL_2D, batch 1, the same quantization in and out."""
    _check("padding", padding, PADDINGS)
    _check("activation", activation, ACTIVATIONS)
    b = Builder()
    s = b.s
    x, y = b.tensor("x", (1, *x_shape), "int8", q), b.tensor("y", (1, *y_shape), "int8", q)
    opt = s.Pool2DOptionsT()
    opt.padding = PADDINGS[padding]
    opt.strideH, opt.strideW = stride
    opt.filterHeight, opt.filterWidth = filter_hw
    opt.fusedActivationFunction = ACTIVATIONS[activation]
    _check("pooling", kind, {"AVERAGE_POOL_2D": 0, "MAX_POOL_2D": 0})
    return b.finish(getattr(s.BuiltinOperator, kind), [x], [y], s.BuiltinOptions.Pool2DOptions, opt)


def tflm_outputs(tflite: bytes, inputs: list[np.ndarray]) -> np.ndarray:
    """Run TFLite Micro (the reference kernels of the tflite-micro wheel) once on ``inputs``."""
    from tflite_micro.python.tflite_micro import runtime as tflm

    interp = tflm.Interpreter.from_bytes(tflite, arena_size=1 << 22)
    for i, x in enumerate(inputs):
        interp.set_input(x, i)
    interp.invoke()
    return np.array(interp.get_output(0)).copy()


def fc_model(cols: int, weights: np.ndarray, bias: np.ndarray, x_q: Quant, w_scale: float, y_q: Quant, *,
             activation="NONE") -> bytes:
    """FULLY_CONNECTED of a [1][cols] int8 vector, weights [rows][cols] with one scale."""
    _check("activation", activation, ACTIVATIONS)
    b = Builder()
    s = b.s
    rows = weights.shape[0]
    x = b.tensor("x", (1, cols), "int8", x_q)
    w = b.tensor("w", weights.shape, "int8", Quant((float(w_scale),), (0,)), weights)
    bt = b.tensor("b", (rows,), "int32", Quant((float(np.float32(x_q.scale[0]) * np.float32(w_scale)),), (0,)), bias)
    y = b.tensor("y", (1, rows), "int8", y_q)
    opt = s.FullyConnectedOptionsT()
    opt.fusedActivationFunction = ACTIVATIONS[activation]
    return b.finish(s.BuiltinOperator.FULLY_CONNECTED, [x, w, bt], [y], s.BuiltinOptions.FullyConnectedOptions, opt)
