"""Check the per-layer report's blame: keep only one layer in float at a time, measure agreement.

    python -m export.steering.blame_check --model M.keras [--layers a,b,...] [--data-dir DIR]

For ONNX int8, ONNX dynamic and TFLite int8 (float I/O), prints the per-layer report of the
plain variant, then the agreement with Keras on the test set with nothing in float and with
each listed layer (default: every layer with weights) as the only float island. This is the
measurement behind the README's "the blamed layer recovers the most agreement". It works
for any Fashion-MNIST-shaped Keras model, as it reads no artifact metadata.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from runtime.cli import run_cli
from runtime.metadata import Quantization

from ..arguments import DEFAULT_CALIBRATION_SAMPLES
from ..convert import Conversion
from ..data import load_fashion_mnist, resolve
from ..errors import ExportError
from ..formats import get_format
from ..reference import AUTO, prepare_reference
from ..sources import source_kind
from .layer_map import KerasLayout
from .layer_report import _to_input, layer_report
from .mixed_precision import RECIPE_KEY, check_layer_names

VARIANTS = (("onnx", "int8"), ("onnx", "dynamic"), ("tflite", "int8"))


def _agreement(path: Path, x: np.ndarray, ref: np.ndarray) -> float:
    if path.suffix == ".onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        y = session.run(None, {session.get_inputs()[0].name: x})[0]
    else:
        from ai_edge_litert.interpreter import Interpreter

        it = Interpreter(model_path=str(path))
        inp, out = it.get_input_details()[0], it.get_output_details()[0]
        it.resize_tensor_input(inp["index"], x.shape)
        it.allocate_tensors()
        it.set_tensor(inp["index"], _to_input(x, np.dtype(inp["dtype"]), inp["quantization"]))
        it.invoke()
        y = it.get_tensor(out["index"])
    return float(np.mean(np.asarray(y).argmax(axis=1) == ref))


def check(model_path: Path, layers: list[str] | None, data_dir: str | None, seed: int = 0) -> str:
    """Run the check; return Markdown."""
    source_kind(model_path)  # a missing or unsupported model is refused before the data are read
    dataset = load_fashion_mnist(data_dir) if data_dir else resolve()
    if dataset is None:
        raise ExportError("blame_check needs data: pass --data-dir or set $FASHION_MNIST_DIR")
    reference = prepare_reference(
        model_path, dataset, task=None, pixel_scale=AUTO, class_names=None,
        calibration_samples=DEFAULT_CALIBRATION_SAMPLES, seed=seed,
    )
    model, cal = reference.keras_model, reference.calibration
    x = reference.to_model_input(reference.inputs)
    ref = reference.outputs.argmax(axis=1)
    layout = KerasLayout.from_model(model)
    layers = layers or [l.name for l in model.layers if l.weights]
    check_layer_names(tuple(layers), layout)  # before any conversion
    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        get_format("onnx").build(Conversion(reference, "none", fp32, reference.metadata("onnx", Quantization())))
        for fmt, mode in VARIANTS:
            rows = []
            for keep in [(), *((l,) for l in layers)]:
                path = Path(tmp) / f"{mode}.{'-'.join(keep) or 'base'}.{fmt}"
                recipe = {RECIPE_KEY: {"kept_float": list(keep)}} if keep else {}
                meta = reference.metadata(fmt, Quantization(), **recipe)
                try:  # the variant as the pipeline builds it, float I/O
                    get_format(fmt).build(Conversion(reference, mode, path, meta, fp32=fp32, calibration=cal,
                                                     keep_float=keep, layout=layout))
                except ExportError as e:  # e.g. a layer the converter fused into the next one
                    rows.append(f"| {', '.join(keep)} | n/a: {' '.join(str(e).split())} | - |")
                    continue
                rows.append(f"| {', '.join(keep) or '(nothing)'} | {_agreement(path, x, ref):.2%} | {path.stat().st_size:,} |")
                if not keep:
                    parts.append(layer_report(path, model, x, layout=layout, name=f"model.{mode}.{fmt}").to_markdown())
            parts.append(f"| only in float ({fmt} {mode}) | agreement | size (bytes) |\n|---|---|---|\n" + "\n".join(rows))
    return "\n\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m export.steering.blame_check", description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--layers", default=None, help="comma-separated Keras layer names (default: layers with weights)")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    def body(received: list[int]) -> int:
        print(check(args.model, args.layers.split(",") if args.layers else None, args.data_dir))
        return 0

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
