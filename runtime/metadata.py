"""The metadata that travels with every edgeport artifact.

It is one JSON document stored under the key ``edgeport``: in an ONNX file's
``metadata_props``, and in a TFLite flatbuffer's ``metadata`` table. The runtime
reads it with onnxruntime or with the flatbuffer schema that ships with LiteRT,
never with TensorFlow or the onnx package.

The input contract lives here too: ``pixel_scale`` set means the model takes raw
uint8 pixels (it sees ``x * pixel_scale``); ``pixel_scale`` of ``None`` means float
features, checked only for shape and finiteness.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import ModelFileError

METADATA_KEY = "edgeport"
REQUIRED_FIELDS = ("class_names", "input_shape", "input_dtype", "pixel_scale")
TASKS = ("classification", "binary", "regression")
# Artifacts written before the "any Keras model" work carry no task: they are the
# Fashion-MNIST classifier, whose contract was raw pixels scaled by 1/255.
LEGACY_TASK = "classification"
# In ``extra``: true when the model's integer input also takes its own quantized codes as
# they are (a .tflite from elsewhere), besides floats quantized with its scale and zero point.
RAW_INPUT_FIELD = "raw_input"


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
    pixel_scale: float | None
    task: str = LEGACY_TASK
    output_size: int | None = None
    source_sha256: str | None = None
    edgeport_version: str | None = None
    format: str | None = None
    quantization: Quantization = field(default_factory=Quantization)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def takes_pixels(self) -> bool:
        """True if uint8 inputs are raw pixels scaled by ``pixel_scale``."""
        return self.pixel_scale is not None

    @property
    def takes_raw_input(self) -> bool:
        """True if integers of the input's own type go in unchanged (see ``RAW_INPUT_FIELD``)."""
        return self.extra.get(RAW_INPUT_FIELD) is True

    @property
    def num_outputs(self) -> int:
        """Width of the artifact's output tensor (1 for a binary sigmoid)."""
        if self.output_size is not None:
            return self.output_size
        return 1 if self.task == "binary" else len(self.class_names)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-serialisable form that is stored in the artifact."""
        return {
            "task": self.task,
            "class_names": list(self.class_names),
            "output_size": self.num_outputs,
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
        return json.dumps(self.to_dict(), sort_keys=True, allow_nan=False)

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
            scale = data["pixel_scale"]
            meta = cls(
                class_names=tuple(_strings(data["class_names"])),
                input_shape=tuple(_ints(data["input_shape"])),
                input_dtype=str(data["input_dtype"]),
                pixel_scale=None if scale is None else float(scale),
                task=str(data.get("task") or LEGACY_TASK),
                output_size=None if data.get("output_size") is None else int(data["output_size"]),
                source_sha256=data.get("source_sha256"),
                edgeport_version=data.get("edgeport_version"),
                format=data.get("format"),
                quantization=quant,
                extra={k: v for k, v in data.items() if k not in known},
            )
        except (TypeError, ValueError) as e:
            raise ModelFileError(f"{source}: edgeport metadata is malformed ({e})") from e
        meta.check(source)
        return meta

    def check(self, source: str = "<metadata>") -> None:
        """Refuse metadata that contradicts itself (not yet the graph: see ``check_against``)."""
        problems = []
        if self.task not in TASKS:
            problems.append(f"task {self.task!r} is not one of {list(TASKS)}")
        if not self.input_shape or any(d < 1 for d in self.input_shape):
            problems.append(f"input_shape {list(self.input_shape)} must be non-empty positive sizes")
        if self.pixel_scale is not None and not (math.isfinite(self.pixel_scale) and self.pixel_scale > 0):
            problems.append(f"pixel_scale {self.pixel_scale!r} must be a finite number > 0, or null")
        if self.num_outputs < 1:
            problems.append(f"output_size {self.num_outputs} must be >= 1")
        if self.task == "classification" and len(self.class_names) != self.num_outputs:
            problems.append(
                f"{len(self.class_names)} class names for {self.num_outputs} outputs"
            )
        if self.task == "binary" and (self.num_outputs != 1 or len(self.class_names) != 2):
            problems.append(
                f"a binary model needs 1 output and 2 class names, got {self.num_outputs} "
                f"and {len(self.class_names)}"
            )
        if problems:
            raise ModelFileError(f"{source}: inconsistent edgeport metadata: " + "; ".join(problems))

    def check_against(self, item_shape: tuple[int, ...], outputs: int | None, source: str) -> None:
        """Refuse metadata that contradicts the graph's own input and output shapes."""
        size = math.prod(self.input_shape)
        if all(item_shape) and math.prod(item_shape) != size:  # 0 marks a symbolic dim
            raise ModelFileError(
                f"{source}: metadata input_shape {list(self.input_shape)} ({size} values) does not "
                f"match the graph's input {list(item_shape)}"
            )
        if outputs is not None and outputs != self.num_outputs:
            raise ModelFileError(
                f"{source}: metadata says {self.num_outputs} outputs, the graph has {outputs}"
            )


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("class_names must be a list of strings")
    return value


def _ints(value: Any) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise TypeError("input_shape must be a list of integers")
    return value
