"""Per-layer quantization error, by Keras layer name (``python -m export ... --layer-report``).

For every Keras layer that maps to a quantized op, the layer's output in the quantized
artifact is compared with the same layer's output in the fp32 artifact of the same
format, on the same images:

- SQNR (dB): 10 log10(sum ref^2 / sum (ref - quant)^2);
- RMSE/scale: the root-mean-square error in steps of the layer's output quantization;
- share of error: the error a layer *adds*. With n = sum err^2 / sum ref^2 (the relative
  noise power, 10^(-SQNR/10)), a layer adds max(0, n - max n of its Keras predecessors);
  shares are those increments over their sum. Error that merely flows through a layer is
  not blamed on it. The layer with the largest share is the one the report blames.

Intermediates are read with the engines alone: LiteRT with
``experimental_preserve_all_tensors`` (and no XNNPACK, which would not keep them), and
onnxruntime on an in-memory copy of the graph with the layer outputs as extra graph
outputs (the shipped file is never changed).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .layer_map import KerasLayout, Op, assign_layers, layer_outputs, onnx_ops, tflite_ops

BATCH = 1000
_QUANT_ONNX_OPS = ("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear")


@dataclass
class LayerRow:
    """Error of one Keras layer's output."""

    layer: str
    ops: str
    sqnr_db: float | None  # None: no error at all
    rmse_over_scale: float | None  # None: the output is not quantized (float island, dynamic)
    share: float


@dataclass
class LayerReport:
    """The per-layer table of one quantized artifact."""

    artifact: str
    samples: int
    rows: list[LayerRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def blamed(self) -> str | None:
        """The layer that adds the largest share of the error."""
        return max(self.rows, key=lambda r: r.share).layer if self.rows else None

    def ranked(self) -> list[str]:
        """Layer names, largest share of error first."""
        return [r.layer for r in sorted(self.rows, key=lambda r: -r.share)]

    def to_dict(self) -> dict:
        return {**asdict(self), "blamed": self.blamed}

    def to_markdown(self) -> str:
        lines = [
            f"### per-layer error: {self.artifact} ({self.samples} images; blames `{self.blamed}`)",
            "",
            "| layer | ops | SQNR (dB) | RMSE/scale | share of error |",
            "|---|---|---|---|---|",
        ]
        for r in self.rows:
            sqnr = "inf" if r.sqnr_db is None else f"{r.sqnr_db:.1f}"
            rmse = "-" if r.rmse_over_scale is None else f"{r.rmse_over_scale:.3f}"
            lines.append(f"| {r.layer} | {r.ops} | {sqnr} | {rmse} | {r.share:.1%} |")
        if self.skipped:
            lines.append(f"\nnot compared: {'; '.join(self.skipped)}")
        return "\n".join(lines)


def layer_report(
    artifact: str | Path, fp32: str | Path, layout: KerasLayout, images: np.ndarray, *, name: str | None = None
) -> LayerReport:
    """Compare each quantized layer of ``artifact`` with the fp32 artifact on ``images``."""
    artifact, fp32 = Path(artifact), Path(fp32)
    graph = _Graph.load(artifact, layout)
    ref_graph = _Graph.load(fp32, layout)
    wanted = [l for l in layout.layer_names if l in graph.outputs and l in ref_graph.outputs]
    report = LayerReport(name or artifact.name, len(images))
    sums = {l: np.zeros(2) for l in wanted}  # sum ref^2, sum err^2
    for start in range(0, len(images), BATCH):
        batch = images[start : start + BATCH]
        got, ref = graph.run(batch, wanted), ref_graph.run(batch, wanted)
        for layer in list(sums):
            a, b = ref[layer], got[layer]
            if a.size != b.size:
                report.skipped.append(f"{layer}: shape {b.shape} != fp32 {a.shape}")
                del sums[layer]
                continue
            a = a.astype(np.float64).ravel()
            sums[layer] += (np.dot(a, a), np.sum((a - b.astype(np.float64).ravel()) ** 2))
    noise = {l: s[1] / s[0] if s[0] > 0 else 0.0 for l, s in sums.items()}
    added = {l: max(0.0, noise[l] - _upstream_noise(l, noise, layout)) for l in noise}
    quantized = [l for l in noise if graph.is_quantized(l)]
    total = sum(added[l] for l in quantized) or 1.0
    n_values = {l: graph.output_size(l) for l in quantized}
    for l in quantized:
        ref_power, err_power = sums[l]
        scale = graph.scale(l)
        rmse = math.sqrt(err_power / max(1, n_values[l] * len(images)))
        report.rows.append(
            LayerRow(
                layer=l,
                ops=graph.op_types(l),
                sqnr_db=10 * math.log10(ref_power / err_power) if err_power > 0 and ref_power > 0 else None,
                rmse_over_scale=rmse / scale if scale else None,
                share=added[l] / total,
            )
        )
    return report


def _upstream_noise(layer: str, noise: dict[str, float], layout: KerasLayout, depth: int = 0) -> float:
    """Largest relative noise among the nearest measured Keras predecessors."""
    best = 0.0
    for p in layout.predecessors.get(layer, ()):
        best = max(best, noise[p] if p in noise else (_upstream_noise(p, noise, layout, depth + 1) if depth < 50 else 0.0))
    return best


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
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])
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
