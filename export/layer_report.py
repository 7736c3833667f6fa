"""Per-layer quantization error, by Keras layer name (``python -m export ... --layer-report``).

For every Keras layer that maps to a quantized op, the layer's output in the artifact is
compared with the Keras (fp32) model's output of the same layer, on the same images:

- SQNR (dB): 10 log10(sum ref^2 / sum (ref - quant)^2), error accumulated up to the layer;
- RMSE/scale: the root-mean-square of that error in steps of the layer's output quantization;
- recovered if float, and share of error: what keeping the layer in float would do. Each
  layer's own (local) error is the artifact's output of the layer minus the Keras layer
  applied to the artifact's own inputs of the layer (through Keras for layers the converter
  fused away). Every local error is injected into the fp32 Keras model, which then stands
  in for the artifact (its agreement is printed beside the real one's); then the run is
  repeated without one layer's error. "recovered" counts the top classes that come back,
  "share" the part of the output error energy that goes away. Layers are ranked by
  recovered, then share; the first is the one the report blames.

Simpler rankings fail the check that matters (keeping the blamed layer alone in float must
recover the most agreement): accumulated SQNR blames whatever sits last; the local noise a
layer adds ignores how the rest of the network amplifies it; one layer's error injected
alone ignores that errors overlap on the same near-tied images (see README).

Intermediates are read with the engines alone: LiteRT with
``experimental_preserve_all_tensors`` (and no XNNPACK, which would not keep them), and
onnxruntime on an in-memory copy of the graph with the layer outputs as extra graph
outputs (the shipped file is never changed). Keras is only the fp32 reference.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .layer_map import KerasLayout, Op, assign_layers, layer_outputs, onnx_ops, tflite_ops

# Images per engine call: all of them when the intermediates fit in MEMORY_BUDGET, as in
# validation (dynamic quantization takes its activation ranges over the whole batch).
MIN_BATCH = 1000
MEMORY_BUDGET = 2 << 30
_QUANT_ONNX_OPS = ("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear")


@dataclass
class LayerRow:
    """Error of one Keras layer's output, and what keeping the layer in float would recover."""

    layer: str
    ops: str
    sqnr_db: float | None  # None: no error at all
    rmse_over_scale: float | None  # None: the output is not quantized (float island, dynamic)
    recovered: int  # images whose top class the simulation gets back with this layer in float
    share: float  # part of the output error energy that goes away with this layer in float


@dataclass
class LayerReport:
    """The per-layer table of one quantized artifact."""

    artifact: str
    samples: int
    rows: list[LayerRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    simulated_agreement: float | None = None  # every layer's own error injected into Keras

    def ranked(self) -> list[str]:
        """Layer names, most to blame first (images recovered, then share of output error)."""
        return [r.layer for r in sorted(self.rows, key=lambda r: (-r.recovered, -r.share))]

    @property
    def blamed(self) -> str | None:
        """The layer whose float island the simulation expects to recover the most."""
        ranked = self.ranked()
        return ranked[0] if ranked else None

    def to_dict(self) -> dict:
        return {**asdict(self), "blamed": self.blamed}

    def to_markdown(self) -> str:
        sim = "" if self.simulated_agreement is None else f"; simulated agreement {self.simulated_agreement:.2%}"
        lines = [
            f"### per-layer error: {self.artifact} ({self.samples} images{sim}; blames `{self.blamed}`)",
            "",
            "| layer | ops | SQNR (dB) | RMSE/scale | recovered if float | share of output error |",
            "|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            sqnr = "inf" if r.sqnr_db is None else f"{r.sqnr_db:.1f}"
            rmse = "-" if r.rmse_over_scale is None else f"{r.rmse_over_scale:.3f}"
            lines.append(f"| {r.layer} | {r.ops} | {sqnr} | {rmse} | {r.recovered:+d} | {r.share:.1%} |")
        if self.skipped:
            lines.append(f"\nnot compared: {'; '.join(self.skipped)}")
        return "\n".join(lines)


# An artifact tensor this far from the Keras layer output is not that layer's output: the
# converter fused the layer with the next one (e.g. Conv2D + BatchNormalization), and the
# tensor is an inner value of the fused op. Quantization itself never comes close.
MIN_BOUNDARY_SQNR_DB = 10.0


def layer_report(
    artifact: str | Path, model, images: np.ndarray, *, layout: KerasLayout | None = None, name: str | None = None
) -> LayerReport:
    """Compare each quantized layer of ``artifact`` with the Keras ``model`` on ``images``."""
    artifact = Path(artifact)
    layout = layout or KerasLayout.from_model(model)
    graph = _Graph.load(artifact, layout)
    keras_run = _KerasRunner(model, layout)
    wanted = [l for l in layout.layer_names if l in graph.outputs and graph.is_quantized(l)]
    report = LayerReport(name or artifact.name, len(images))
    # per layer: sum ref^2, sum err^2, flips and output error energy with the layer in float
    stats = {l: np.zeros(4) for l in wanted}
    flips_all, energy_all = 0, 0.0
    per_image = 4 * sum(int(np.prod(keras_run.layers[n].output.shape[1:])) for n in layout.layer_names)
    step = max(MIN_BATCH, MEMORY_BUDGET // max(1, 8 * per_image))  # ~8 copies alive at once
    for start in range(0, len(images), step):
        batch = images[start : start + step]
        ref = keras_run.all_outputs(batch)
        got = _boundaries(graph.run(batch, list(graph.outputs)), ref, report)
        local = {l: got[l] - keras_run.call(l, batch, keras_run.artifact_view(batch, got)) for l in stats if l in got}
        final = ref[layout.output_layer]
        values = keras_run.simulate(batch, local)
        flips_all += int(np.sum(values[layout.output_layer].argmax(axis=1) != final.argmax(axis=1)))
        energy_all += float(np.sum((values[layout.output_layer].astype(np.float64) - final) ** 2))
        for layer in list(stats):
            if layer not in local:
                del stats[layer]
                continue
            a, b = ref[layer].astype(np.float64), got[layer].astype(np.float64)
            out = keras_run.simulate(batch, local, without=layer, base=values)[layout.output_layer]
            stats[layer] += (
                np.sum(a * a),
                np.sum((a - b) ** 2),
                np.sum(out.argmax(axis=1) != final.argmax(axis=1)),
                np.sum((out.astype(np.float64) - final) ** 2),
            )
    report.simulated_agreement = 1.0 - flips_all / max(1, len(images))
    gains = {l: max(0.0, energy_all - s[3]) for l, s in stats.items()}
    total = sum(gains.values()) or 1.0
    for layer, (ref_power, err_power, flips, _) in stats.items():
        scale = graph.scale(layer)
        rmse = math.sqrt(err_power / max(1, graph.output_size(layer) * len(images)))
        report.rows.append(
            LayerRow(
                layer=layer,
                ops=graph.op_types(layer),
                sqnr_db=10 * math.log10(ref_power / err_power) if err_power > 0 and ref_power > 0 else None,
                rmse_over_scale=rmse / scale if scale else None,
                recovered=flips_all - int(flips),
                share=gains[layer] / total,
            )
        )
    report.skipped = sorted(set(report.skipped))
    return report


def _boundaries(got: dict[str, np.ndarray], ref: dict[str, np.ndarray], report: LayerReport) -> dict[str, np.ndarray]:
    """The artifact tensors that really are their Keras layer's output, in Keras's layout."""
    kept = {}
    for layer, value in got.items():
        value = _to_keras_layout(value, ref[layer].shape)
        if value is None:
            report.skipped.append(f"{layer}: artifact tensor shape does not match Keras")
            continue
        a = ref[layer].astype(np.float64)
        err = float(np.sum((a - value) ** 2))
        if err > 0 and 10 * math.log10(max(float(np.sum(a * a)), 1e-30) / err) < MIN_BOUNDARY_SQNR_DB:
            report.skipped.append(f"{layer}: fused with the next layer in the artifact (no boundary)")
            continue
        kept[layer] = value
    return kept


class _KerasRunner:
    """Runs the fp32 Keras model layer by layer, with quantization errors injected where asked."""

    def __init__(self, model, layout: KerasLayout) -> None:
        import keras

        self.layout = layout
        self.layers = {l.name: l for l in model.layers if l.name in layout.layer_names}
        self._all = keras.Model(model.inputs, [self.layers[n].output for n in layout.layer_names])

    def all_outputs(self, images: np.ndarray) -> dict[str, np.ndarray]:
        values = self._all.predict(images, batch_size=len(images), verbose=0)
        return {n: np.asarray(v) for n, v in zip(self.layout.layer_names, values)}

    def call(self, layer: str, images: np.ndarray, values: dict[str, np.ndarray]) -> np.ndarray:
        """``layer`` applied to its predecessors' ``values`` (the images for the first layer)."""
        inputs = [values[p] for p in self.layout.predecessors.get(layer, ())] or [images]
        return np.asarray(self.layers[layer](inputs if len(inputs) > 1 else inputs[0], training=False))

    def artifact_view(self, images: np.ndarray, got: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Every layer's output as the artifact has it; Keras fills in layers fused away."""
        view: dict[str, np.ndarray] = {}
        for name in self.layout.layer_names:
            view[name] = got[name] if name in got else self.call(name, images, view)
        return view

    def simulate(
        self, images: np.ndarray, local: dict[str, np.ndarray], *, without: str | None = None,
        base: dict[str, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]:
        """Keras with each layer's own error (``local``) added, except ``without``'s.

        With ``base`` (the run with every error), layers before ``without`` are reused.
        """
        names = self.layout.layer_names
        values: dict[str, np.ndarray] = {}
        first = names.index(without) if base is not None and without in names else 0
        for i, name in enumerate(names):
            if i < first:
                values[name] = base[name]
                continue
            values[name] = self.call(name, images, values)
            if name in local and name != without:
                values[name] = values[name] + local[name]
        return values


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
