"""Build one converted artifact (ONNX or TFLite) of a source: the converter is chosen by (source kind,
format, mode), here only. ``export.formats`` holds these builders in its registry.

| source | ONNX fp32 | ONNX quantized | TFLite |
|---|---|---|---|
| Keras (.keras, .h5) | ``model.export`` (tf2onnx) | onnxruntime, from the fp32 file | SavedModel export, TFLiteConverter |
| SavedModel | tf2onnx on the frozen serving graph | onnxruntime, from the fp32 file | TF 1's TFLiteConverter |
| .tflite | - | - | the file itself, with metadata and seal |
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from runtime.metadata import ModelMetadata

from .errors import ConversionError
from .litert import SavedModelCache, export_litert, export_litert_converter
from .onnx import DEFAULT_OPSET, export_onnx, quantize_onnx, write_onnx

if TYPE_CHECKING:
    from .reference import Reference
    from .steering import KerasLayout


@dataclass(frozen=True)
class Conversion:
    """What one converted artifact is made from, and where it goes.

    ``fp32`` is the format's fp32 file, which ONNX quantization starts from; ``keep_float`` names
    Keras layers left in float (found in the ONNX graph through ``layout``); ``saved_models`` is
    the run's Keras SavedModel.
    """

    ref: Reference
    mode: str
    path: Path
    metadata: ModelMetadata
    fp32: Path | None = None
    io_dtype: str = "float32"
    calibration: np.ndarray | None = None
    keep_float: tuple[str, ...] = ()
    layout: KerasLayout | None = None
    opset: int = DEFAULT_OPSET
    saved_models: SavedModelCache | None = None


def convert_onnx(c: Conversion) -> None:
    """Write the sealed ONNX artifact: fp32 from the source, a quantized mode from ``c.fp32``."""
    source = c.ref.source
    _refuse_tflite_source(c, "onnx")
    if c.mode != "none":
        from .steering import onnx_exclusions

        nodes = tuple(onnx_exclusions(c.fp32, c.layout, c.keep_float)) if c.keep_float else ()
        quantize_onnx(c.fp32, c.path, mode=c.mode, metadata=c.metadata, calibration=c.calibration,
                      nodes_to_exclude=nodes)
    elif source.kind == "saved_model":
        from .savedmodel import onnx_proto

        write_onnx(onnx_proto(source.saved_model, c.opset), c.path, metadata=c.metadata, io_names=c.ref.io_names)
    else:
        export_onnx(c.ref.keras_model, c.path, metadata=c.metadata, opset=c.opset, io_names=c.ref.io_names)


def convert_tflite(c: Conversion) -> None:
    """Write the sealed TFLite artifact: a .tflite source's own copy, or the converter's output."""
    source = c.ref.source
    if source.kind == "tflite":
        _refuse_tflite_source(c, "tflite")
        from .tflite_source import write_tflite_copy

        write_tflite_copy(source.tflite, c.path, c.metadata)
    elif source.kind == "saved_model":
        from .savedmodel import tflite_converter

        export_litert_converter(
            tflite_converter(source.saved_model), c.path, metadata=c.metadata, quantize=c.mode,
            io_dtype=c.io_dtype, calibration=c.calibration,
        )
    else:
        export_litert(
            c.ref.keras_model, c.path, metadata=c.metadata, quantize=c.mode, io_dtype=c.io_dtype,
            calibration=c.calibration, io_names=c.ref.io_names, keep_float=c.keep_float,
            saved_models=c.saved_models,
        )


def _refuse_tflite_source(c: Conversion, fmt: str) -> None:
    """A .tflite source becomes only its own mode's .tflite."""
    source = c.ref.source
    if source.kind == "tflite" and (fmt != "tflite" or c.mode != source.tflite.mode):
        raise ConversionError(f"a .tflite source becomes only its own {source.tflite.mode} .tflite, not {fmt} {c.mode}")
