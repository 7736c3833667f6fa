"""The metadata that travels with every edgeport artifact.

It is one JSON document stored under the key ``edgeport``: in an ONNX file's
``metadata_props``, and in a TFLite flatbuffer's ``metadata`` table. The runtime
reads it with onnxruntime or with the flatbuffer schema that ships with LiteRT,
never with TensorFlow or the onnx package.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import ModelFileError

METADATA_KEY = "edgeport"
REQUIRED_FIELDS = ("class_names", "input_shape", "input_dtype", "pixel_scale")


@dataclass(frozen=True)
class Quantization:
    """How an artifact was quantized ("none" for fp32)."""

    mode: str = "none"
    io_dtype: str = "float32"
    calibration_samples: int | None = None
    seed: int | None = None


@dataclass(frozen=True)
class ModelMetadata:
    """Typed view of an artifact's metadata."""

    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    input_dtype: str
    pixel_scale: float
    source_sha256: str | None = None
    edgeport_version: str | None = None
    format: str | None = None
    quantization: Quantization = field(default_factory=Quantization)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-serialisable form that is stored in the artifact."""
        return {
            "class_names": list(self.class_names),
            "input_shape": list(self.input_shape),
            "input_dtype": self.input_dtype,
            "pixel_scale": self.pixel_scale,
            "source_sha256": self.source_sha256,
            "edgeport_version": self.edgeport_version,
            "format": self.format,
            "quantization": {
                "mode": self.quantization.mode,
                "io_dtype": self.quantization.io_dtype,
                "calibration_samples": self.quantization.calibration_samples,
                "seed": self.quantization.seed,
            },
            **self.extra,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "<metadata>") -> "ModelMetadata":
        """Parse and check metadata; raise ModelFileError naming ``source``."""
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as e:
            raise ModelFileError(f"{source}: edgeport metadata is not valid JSON ({e})") from e
        if not isinstance(data, dict):
            raise ModelFileError(
                f"{source}: edgeport metadata must be a JSON object, got {type(data).__name__}"
            )
        missing = [k for k in REQUIRED_FIELDS if k not in data]
        if missing:
            raise ModelFileError(f"{source}: edgeport metadata lacks required fields {missing}")
        known = {f for f in cls.__dataclass_fields__} - {"extra"}
        try:
            quant = Quantization(**(data.get("quantization") or {}))
            return cls(
                class_names=tuple(str(c) for c in data["class_names"]),
                input_shape=tuple(int(d) for d in data["input_shape"]),
                input_dtype=str(data["input_dtype"]),
                pixel_scale=float(data["pixel_scale"]),
                source_sha256=data.get("source_sha256"),
                edgeport_version=data.get("edgeport_version"),
                format=data.get("format"),
                quantization=quant,
                extra={k: v for k, v in data.items() if k not in known},
            )
        except (TypeError, ValueError) as e:
            raise ModelFileError(f"{source}: edgeport metadata is malformed ({e})") from e
