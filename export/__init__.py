"""edgeport export: Keras -> ONNX / TFLite (fp32 and quantized), validated against Keras."""
from .errors import (
    ConversionError,
    ExportError,
    ModelLoadError,
    TargetNotReachedError,
    UnknownLayerError,
    UnsupportedFormatError,
    ValidationError,
)
from .mixed_precision import Steering
from .pipeline import FORMAT_CHOICES, FORMATS, MODES, ExportPlan, artifact_name, run_export
from .validate import DEFAULT_THRESHOLDS, ArtifactReport, Thresholds, validate_artifact

__all__ = [
    "ArtifactReport",
    "ConversionError",
    "DEFAULT_THRESHOLDS",
    "ExportError",
    "ExportPlan",
    "FORMATS",
    "FORMAT_CHOICES",
    "MODES",
    "ModelLoadError",
    "Steering",
    "TargetNotReachedError",
    "UnknownLayerError",
    "Thresholds",
    "UnsupportedFormatError",
    "ValidationError",
    "artifact_name",
    "run_export",
    "validate_artifact",
]
