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


def sha256_tree(folder: Path) -> str:
    """SHA-256 over every file under ``folder``: each relative path, its size and its bytes, in path order."""
    h = hashlib.sha256()
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    for path in files:
        rel = path.relative_to(folder).as_posix().encode()
        h.update(len(rel).to_bytes(8, "little") + rel + path.stat().st_size.to_bytes(8, "little"))
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def build_metadata(
    *,
    fmt: str,
    source_sha256: str,
    quantization: Quantization,
    task: str,
    class_names: tuple[str, ...],
    item_shape: tuple[int, ...],
    outputs: int,
    pixel_scale: float | None,
    input_dtype: str = "float32",
    **extra,
) -> ModelMetadata:
    """The metadata of one artifact, from facts read off the model and its data."""
    meta = ModelMetadata(
        class_names=tuple(class_names),
        input_shape=tuple(item_shape),
        input_dtype=input_dtype,
        pixel_scale=pixel_scale,
        task=task,
        output_size=outputs,
        source_sha256=source_sha256,
        edgeport_version=edgeport_version(),
        format=fmt,
        quantization=quantization,
        extra=extra,
    )
    meta.check("metadata")
    return meta


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
    return embed_tflite_json(flatbuffer, with_seal_placeholder(metadata).to_json())


def embed_tflite_json(flatbuffer: bytes, text: str) -> bytes:
    """Return ``flatbuffer`` with ``text`` as its ``edgeport`` metadata entry, verbatim."""
    import flatbuffers
    import numpy as np
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(flatbuffer, 0))
    if any(b.offset and b.offset > 1 for b in model.buffers or []):
        # Buffers stored after the flatbuffer (models > 2 GB) would be invalidated by re-packing.
        raise ValueError("cannot embed metadata in a TFLite model with external buffers")
    data = np.frombuffer(text.encode(), dtype=np.uint8)
    entries = [m for m in (model.metadata or []) if m.name == METADATA_KEY.encode()]
    if entries:  # replace the old entry's buffer in place: no stale copy (or seal) is left behind
        model.buffers[entries[0].buffer].data = data
        model.metadata = [m for m in model.metadata if m.name != METADATA_KEY.encode()] + entries[:1]
    else:
        buffer = schema.BufferT()
        buffer.data = data
        model.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name = METADATA_KEY
        entry.buffer = len(model.buffers) - 1
        model.metadata = list(model.metadata or []) + [entry]
    builder = flatbuffers.Builder(len(flatbuffer) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
