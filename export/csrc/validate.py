"""Validate a generated C model against the reference on the same .tflite.

int8 (any op computes in int8, whatever the I/O type): the outputs must equal the TFLite Micro
interpreter's, image by image (bit-exact).
fp32: the outputs must be within ``tolerance`` of LiteRT's on the same .tflite, same argmax.
Names, then shapes, then values; every failure is collected into the report.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
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
    from ..tflite_source import litert_outputs, tflm_outputs

    return tflm_outputs(Path(tflite_path), x) if quantized else litert_outputs(Path(tflite_path).read_bytes(), x)


def computes_in_int8(tflite_path: Path) -> bool:
    """True if an op writes an 8-bit integer tensor: TFLite Micro is then the reference (bytes), even
    for an int8 model with float input and output."""
    from .reader import read_graph

    graph = read_graph(tflite_path)
    return any(graph.t(o).dtype in ("int8", "uint8") for op in graph.ops for o in op.outputs)


def _model_inputs(images: np.ndarray, api: dict, tflite_path: Path) -> np.ndarray:
    """Raw uint8 pixels -> the model's input elements, via pixel_scale and the input quantization.

    The pixel scale comes from the .tflite's edgeport metadata and the input scale from the C
    header; DataError if either is missing (never a guessed scale).
    """
    images = np.asarray(images)
    want = {"uint8_t": np.uint8, "int8_t": np.int8, "float": np.float32}[api["input_t"]]
    if images.dtype == want:
        return images
    if images.dtype != np.uint8:
        raise TypeError(f"images must be raw uint8 pixels or {np.dtype(want)}, got {images.dtype}")
    pixels = images.astype(np.float32) * np.float32(_pixel_scale(tflite_path))
    if want is np.float32:
        return pixels
    if api["INPUT_SCALE"] is None:
        raise DataError(f"{tflite_path}: the C header gives no input scale to quantize raw pixels with")
    q = np.round(pixels / np.float32(api["INPUT_SCALE"])) + api["INPUT_ZERO_POINT"]
    return np.clip(q, np.iinfo(want).min, np.iinfo(want).max).astype(want)


def _pixel_scale(tflite_path: Path) -> float:
    """The pixel scale recorded in the .tflite's edgeport metadata; DataError if there is none."""
    from runtime import ModelFileError, ModelMetadata
    from runtime.metadata import METADATA_KEY

    from .reader import read_metadata

    text = read_metadata(tflite_path).get(METADATA_KEY)
    try:
        scale = None if text is None else ModelMetadata.from_json(text, source=str(tflite_path)).pixel_scale
    except ModelFileError as e:
        raise DataError(f"{tflite_path}: unreadable edgeport metadata, so no pixel scale ({e})") from e
    if scale is None:
        raise DataError(f"{tflite_path}: records no pixel_scale to scale raw uint8 pixels by; "
                        f"pass inputs of the model's own type instead")
    return scale


def validate_c(c_path: str | Path, tflite_path: str | Path, images: np.ndarray, *,
               tolerance: float = FP32_TOLERANCE) -> CValidationReport:
    """Compile ``c_path`` for this machine and compare it with the reference on every image."""
    c_path, tflite_path = Path(c_path), Path(tflite_path)
    api = read_api(c_path.with_suffix(".h"))
    quantized = api["input_t"] != "float" or computes_in_int8(tflite_path)
    report = CValidationReport(str(c_path), str(tflite_path), "int8" if quantized else "fp32",
                               tolerance=0.0 if quantized else tolerance, scratch_bytes=api["SCRATCH_BYTES"])
    x = _model_inputs(images, api, tflite_path)  # before compiling: bad inputs fail at once
    model = HostCModel(c_path)
    try:
        report.verify_result = model.verify()
        if report.verify_result != 0:
            report.failures.append(f"verify() returned {report.verify_result}: {report.verify_result} table(s) fail their CRC")
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
