"""Write one artifact of a source: the converter is chosen by (source kind, format, mode), here only.

| source | ONNX fp32 | ONNX quantized | TFLite |
|---|---|---|---|
| Keras (.keras, .h5) | ``model.export`` (tf2onnx) | onnxruntime, from the fp32 file | SavedModel export, TFLiteConverter |
| SavedModel | tf2onnx on the frozen serving graph | onnxruntime, from the fp32 file | TF 1's TFLiteConverter |
| .tflite | - | - | the file itself, with metadata and seal |
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from runtime.metadata import ModelMetadata

from .errors import ConversionError
from .litert import SavedModelCache, export_litert, export_litert_converter
from .onnx import export_onnx, quantize_onnx, write_onnx


def write_artifact(
    ref, fmt: str, mode: str, path: Path, fp32: Path, meta: ModelMetadata, *, opset: int, io_dtype: str,
    calibration: np.ndarray | None, keep_float: tuple[str, ...] = (), onnx_nodes: tuple[str, ...] = (),
    saved_models: SavedModelCache | None = None,
) -> None:
    """Write the sealed (``fmt``, ``mode``) artifact of ``ref``'s source at ``path``.

    ``fp32`` is the format's fp32 file, which ONNX quantization starts from; ``onnx_nodes`` are the
    ONNX nodes ``keep_float`` leaves in float; ``saved_models`` the run's Keras SavedModel.
    """
    source = ref.source
    if source.kind == "tflite":
        if fmt != "tflite" or mode != source.tflite.mode:
            raise ConversionError(f"a .tflite source becomes only its own {source.tflite.mode} .tflite, not {fmt} {mode}")
        from .tflite_source import write_tflite_copy

        write_tflite_copy(source.tflite, path, meta)
    elif fmt == "onnx" and mode != "none":
        quantize_onnx(fp32, path, mode=mode, metadata=meta, calibration=calibration, nodes_to_exclude=onnx_nodes)
    elif fmt == "onnx" and source.kind == "saved_model":
        from .savedmodel import onnx_proto

        write_onnx(onnx_proto(source.saved_model, opset), path, metadata=meta, io_names=ref.io_names)
    elif fmt == "onnx":
        export_onnx(ref.keras_model, path, metadata=meta, opset=opset, io_names=ref.io_names)
    elif source.kind == "saved_model":
        from .savedmodel import tflite_converter

        export_litert_converter(
            tflite_converter(source.saved_model), path, metadata=meta, quantize=mode, io_dtype=io_dtype,
            calibration=calibration,
        )
    else:
        export_litert(
            ref.keras_model, path, metadata=meta, quantize=mode, io_dtype=io_dtype, calibration=calibration,
            io_names=ref.io_names, keep_float=keep_float, saved_models=saved_models,
        )
