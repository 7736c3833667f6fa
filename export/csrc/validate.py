"""Validate a generated C model against the reference on the same .tflite.

int8 (any op computes in int8, whatever the I/O type): the outputs must equal the TFLite Micro
interpreter's, image by image (bit-exact).
fp32: the outputs must be within ``tolerance`` of LiteRT's on the same .tflite, same argmax.
Names, then shapes, then values; every failure is collected into the report.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .host import HostCModel, read_api

FP32_TOLERANCE = 1e-5  # same as the fp32 artifacts' tolerance against Keras (export/validate.py)


@dataclass
class CValidationReport:
    c_path: str
    tflite_path: str
    mode: str  # "int8" (bit-exact against TFLite Micro) or "fp32" (tolerance against LiteRT)
    images: int = 0
    mismatched_images: int = 0
    max_abs_diff: float = 0.0
    tolerance: float = 0.0
    argmax_agreement: float = 1.0
    verify_result: int | None = None
    scratch_bytes: int = 0
    failures: list[str] = field(default_factory=list)
    outputs: np.ndarray | None = field(default=None, repr=False)  # what the C model wrote, raw

    @property
    def passed(self) -> bool:
        return not self.failures


def _reference(tflite_path: Path, x: np.ndarray, quantized: bool) -> np.ndarray:
    if quantized:
        from tflite_micro.python.tflite_micro import runtime as tflm

        interp = tflm.Interpreter.from_file(str(tflite_path))
        outs = []
        for row in x:
            interp.set_input(row[None], 0)
            interp.invoke()
            outs.append(np.array(interp.get_output(0)).reshape(-1))
        return np.stack(outs)
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(tflite_path))
    (inp,), (out,) = interp.get_input_details(), interp.get_output_details()
    interp.resize_tensor_input(inp["index"], [1, *x.shape[1:]])
    interp.allocate_tensors()
    outs = []
    for row in x:
        interp.set_tensor(inp["index"], row[None])
        interp.invoke()
        outs.append(interp.get_tensor(out["index"]).reshape(-1).copy())
    return np.stack(outs)


def computes_in_int8(tflite_path: Path) -> bool:
    """True if an op writes an 8-bit integer tensor: TFLite Micro is then the reference (bytes), even
    for an int8 model with float input and output."""
    from .reader import read_graph

    graph = read_graph(tflite_path)
    return any(graph.t(o).dtype in ("int8", "uint8") for op in graph.ops for o in op.outputs)


def _model_inputs(images: np.ndarray, api: dict, tflite_path: Path) -> np.ndarray:
    """Raw uint8 pixels -> the model's input elements, via pixel_scale and the input quantization."""
    images = np.asarray(images)
    want = {"uint8_t": np.uint8, "int8_t": np.int8, "float": np.float32}[api["input_t"]]
    if images.dtype == want:
        return images
    if images.dtype != np.uint8:
        raise TypeError(f"images must be raw uint8 pixels or {np.dtype(want)}, got {images.dtype}")
    from runtime.metadata import METADATA_KEY

    from .reader import read_metadata

    meta = read_metadata(tflite_path).get(METADATA_KEY)
    pixels = images.astype(np.float32) * np.float32(json.loads(meta).get("pixel_scale", 1 / 255) if meta else 1 / 255)
    if want is np.float32:
        return pixels
    if api["INPUT_SCALE"] is None:
        raise ValueError(f"{tflite_path}: the C header gives no input scale to quantize raw pixels with")
    q = np.round(pixels / np.float32(api["INPUT_SCALE"])) + api["INPUT_ZERO_POINT"]
    return np.clip(q, np.iinfo(want).min, np.iinfo(want).max).astype(want)


def validate_c(c_path: str | Path, tflite_path: str | Path, images: np.ndarray, *,
               tolerance: float = FP32_TOLERANCE) -> CValidationReport:
    """Compile ``c_path`` for this machine and compare it with the reference on every image."""
    c_path, tflite_path = Path(c_path), Path(tflite_path)
    api = read_api(c_path.with_suffix(".h"))
    quantized = api["input_t"] != "float" or computes_in_int8(tflite_path)
    report = CValidationReport(str(c_path), str(tflite_path), "int8" if quantized else "fp32",
                               tolerance=0.0 if quantized else tolerance, scratch_bytes=api["SCRATCH_BYTES"])
    model = HostCModel(c_path)
    try:
        report.verify_result = model.verify()
        if report.verify_result != 0:
            report.failures.append(f"verify() returned {report.verify_result}: {report.verify_result} table(s) fail their CRC")
        x = _model_inputs(images, api, tflite_path)
        got = model.predict_raw(x)
    finally:
        model.close()
    ref = _reference(tflite_path, x, quantized)
    report.images = len(x)
    report.outputs = got
    if ref.shape != got.shape:
        report.failures.append(f"output shape {got.shape}; reference {ref.shape}")
        return report
    diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    report.max_abs_diff = float(diff.max()) if diff.size else 0.0
    bad = diff.max(axis=1) > report.tolerance if diff.size else np.zeros(0, bool)
    report.mismatched_images = int(bad.sum())
    if got.shape[1] > 1:
        report.argmax_agreement = float(np.mean(got.argmax(1) == ref.argmax(1)))
    if report.mismatched_images:
        what = "differ from TFLite Micro's bytes" if quantized else f"differ from LiteRT by more than {tolerance:g}"
        report.failures.append(f"{report.mismatched_images} of {report.images} images {what} "
                               f"(max |diff| {report.max_abs_diff:g}, tolerance {report.tolerance:g})")
    return report
