"""Build an artifact's edgeport metadata and embed it in ONNX or TFLite files."""
from __future__ import annotations

import hashlib
from importlib import metadata as importlib_metadata
from pathlib import Path

from runtime.metadata import METADATA_KEY, ModelMetadata, Quantization

from .seal import with_seal_placeholder


def edgeport_version() -> str:
    try:
        return importlib_metadata.version("edgeport")
    except importlib_metadata.PackageNotFoundError:
        return "0+unknown"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_metadata(
    *, fmt: str, source_sha256: str, quantization: Quantization, **extra
) -> ModelMetadata:
    """The metadata for one artifact of the reference model."""
    from train.model import CLASS_NAMES, INPUT_SHAPE, PIXEL_SCALE

    return ModelMetadata(
        class_names=tuple(CLASS_NAMES),
        input_shape=tuple(INPUT_SHAPE),
        input_dtype="float32",
        pixel_scale=float(PIXEL_SCALE),
        source_sha256=source_sha256,
        edgeport_version=edgeport_version(),
        format=fmt,
        quantization=quantization,
        extra=extra,
    )


def embed_onnx(model_proto, metadata: ModelMetadata) -> None:
    """Set (or replace) the ``edgeport`` entry of an ONNX ModelProto's metadata_props."""
    for prop in list(model_proto.metadata_props):
        if prop.key == METADATA_KEY:
            model_proto.metadata_props.remove(prop)
    entry = model_proto.metadata_props.add()
    entry.key = METADATA_KEY
    entry.value = with_seal_placeholder(metadata).to_json()


def embed_tflite(flatbuffer: bytes, metadata: ModelMetadata) -> bytes:
    """Return ``flatbuffer`` with an ``edgeport`` entry in its metadata table."""
    import flatbuffers
    import numpy as np
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(flatbuffer, 0))
    if any(b.offset and b.offset > 1 for b in model.buffers or []):
        # Buffers stored after the flatbuffer (models > 2 GB) would be invalidated by re-packing.
        raise ValueError("cannot embed metadata in a TFLite model with external buffers")
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(with_seal_placeholder(metadata).to_json().encode(), dtype=np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = METADATA_KEY
    entry.buffer = len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if m.name != METADATA_KEY.encode()] + [entry]
    builder = flatbuffers.Builder(len(flatbuffer) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
