"""Artifacts opened so that every Keras layer's output can be read: one reader per format
(TFLite with all tensors kept, ONNX with the layer tensors added as graph outputs)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .layer_map import KerasLayout, Op, assign_layers, layer_outputs, onnx_ops, tflite_ops

_QUANT_ONNX_OPS = ("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear")


def _to_keras_layout(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """The artifact's tensor in Keras's layout (ONNX convolutions run channels-first)."""
    if value.shape == shape:
        return value
    if value.ndim == 4 and len(shape) == 4 and value.shape == (shape[0], shape[3], shape[1], shape[2]):
        return value.transpose(0, 2, 3, 1)
    if value.size == int(np.prod(shape)):
        return value.reshape(shape)
    return None


class _Graph:
    """An artifact opened so that its layer outputs can be read."""

    def __init__(self, path: Path, ops: list[Op], layers: list[str | None]) -> None:
        self.path = path
        self.ops, self.layers = ops, layers
        self.outputs = layer_outputs(ops, layers)

    @classmethod
    def load(cls, path: Path, layout: KerasLayout) -> "_Graph":
        if path.suffix == ".onnx":
            return _OnnxGraph(path, layout)
        return _TFLiteGraph(path, layout)

    def op_types(self, layer: str) -> str:
        kinds = dict.fromkeys(o.op_type for o, l in zip(self.ops, self.layers) if l == layer)
        return ", ".join(k for k in kinds if k not in _QUANT_ONNX_OPS and k not in ("QUANTIZE", "DEQUANTIZE")) or "-"


class _TFLiteGraph(_Graph):
    def __init__(self, path: Path, layout: KerasLayout) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        data = path.read_bytes()
        ops, graph_outputs, self._ids = tflite_ops(data)
        super().__init__(path, ops, assign_layers(ops, graph_outputs, layout))
        self._it = Interpreter(
            model_content=data,
            experimental_preserve_all_tensors=True,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
        self._details = {d["index"]: d for d in self._it.get_tensor_details()}
        self._input = self._it.get_input_details()[0]

    def _quant(self, tensor: str) -> tuple[float, int] | None:
        d = self._details.get(self._ids[tensor])
        if d is None or np.dtype(d["dtype"]).kind not in "iu":
            return None
        scale, zero = d["quantization"]
        return (scale, zero) if scale else None

    def is_quantized(self, layer: str) -> bool:
        return any(
            self._quant(t) is not None for o, l in zip(self.ops, self.layers) if l == layer for t in o.inputs + o.outputs
        )

    def scale(self, layer: str) -> float | None:
        ops = [o for o, l in zip(self.ops, self.layers) if l == layer]
        last = ops[-1]
        tensor = last.inputs[0] if last.op_type == "DEQUANTIZE" else last.outputs[0]
        q = self._quant(tensor)
        return q[0] if q else None

    def output_size(self, layer: str) -> int:
        return int(np.prod(self._details[self._ids[self.outputs[layer]]]["shape"][1:]))

    def run(self, images: np.ndarray, layers: list[str]) -> dict[str, np.ndarray]:
        it, inp = self._it, self._input
        it.resize_tensor_input(inp["index"], (len(images), *inp["shape"][1:]))
        it.allocate_tensors()
        self._details = {d["index"]: d for d in it.get_tensor_details()}
        it.set_tensor(inp["index"], _to_input(images, np.dtype(inp["dtype"]), inp["quantization"]))
        it.invoke()
        out = {}
        for layer in layers:
            tensor = self.outputs[layer]
            value = it.get_tensor(self._ids[tensor])
            q = self._quant(tensor)
            out[layer] = (value.astype(np.float32) - q[1]) * np.float32(q[0]) if q else value.astype(np.float32)
        return out


class _OnnxGraph(_Graph):
    def __init__(self, path: Path, layout: KerasLayout) -> None:
        import onnx
        import onnxruntime as ort
        from onnx import numpy_helper

        proto = onnx.load(str(path))
        ops, graph_outputs = onnx_ops(proto)
        super().__init__(path, ops, assign_layers(ops, graph_outputs, layout))
        self._inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
        existing = {o.name for o in proto.graph.output}
        for tensor in dict.fromkeys(self.outputs.values()):
            if tensor not in existing:
                proto.graph.output.append(onnx.ValueInfoProto(name=tensor))
        from runtime import onnx_session_options

        self._session = ort.InferenceSession(
            proto.SerializeToString(), onnx_session_options(), providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name

    def is_quantized(self, layer: str) -> bool:
        return any(
            o.op_type in _QUANT_ONNX_OPS or o.op_type.startswith("QLinear") or o.op_type.endswith("Integer")
            for o, l in zip(self.ops, self.layers)
            if l == layer
        )

    def scale(self, layer: str) -> float | None:
        last = [o for o, l in zip(self.ops, self.layers) if l == layer][-1]
        if last.op_type != "DequantizeLinear" or last.inputs[1] not in self._inits:
            return None
        scale = self._inits[last.inputs[1]]
        return float(scale) if scale.size == 1 else None

    def output_size(self, layer: str) -> int:
        return self._sizes[layer]

    def run(self, images: np.ndarray, layers: list[str]) -> dict[str, np.ndarray]:
        names = [self.outputs[l] for l in layers]
        values = self._session.run(names, {self._input: images.astype(np.float32)})
        self._sizes = {l: int(np.prod(v.shape[1:])) for l, v in zip(layers, values)}
        return {l: np.asarray(v, dtype=np.float32) for l, v in zip(layers, values)}


def _to_input(images: np.ndarray, dtype: np.dtype, quant: tuple[float, int]) -> np.ndarray:
    """Float images in [0, 1] in the artifact's input type (quantized if it is integer)."""
    if dtype == np.float32:
        return images.astype(np.float32)
    scale, zero = quant
    info = np.iinfo(dtype)
    return np.clip(np.round(images / scale) + zero, info.min, info.max).astype(dtype)
