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

from .layer_graphs import _Graph, _to_input, _to_keras_layout  # noqa: F401  (re-exported)
from .layer_map import KerasLayout

# Images per engine call: all of them when the intermediates fit in MEMORY_BUDGET, as in
# validation (dynamic quantization takes its activation ranges over the whole batch).
MIN_BATCH = 1000
MEMORY_BUDGET = 2 << 30


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
