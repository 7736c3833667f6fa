"""edgeport export: a model (.keras, Keras 2 .h5, SavedModel, .tflite) -> ONNX / TFLite / C, validated against it."""
from .errors import (
    ConversionError,
    DataError,
    ExportError,
    ModelLoadError,
    TaskError,
    TargetNotReachedError,
    UnknownLayerError,
    UnsupportedFormatError,
    UsageError,
    ValidationError,
)
from .steering import Steering
from .pipeline import FORMAT_CHOICES, FORMATS, MODES, ExportPlan, artifact_name, run_export
from .task import TASKS
from .results import ArtifactReport, ClassificationMetrics, RegressionMetrics
from .validate import DEFAULT_THRESHOLDS, Thresholds, validate_artifact

__all__ = [
    "ArtifactReport",
    "ClassificationMetrics",
    "ConversionError",
    "DataError",
    "DEFAULT_THRESHOLDS",
    "ExportError",
    "ExportPlan",
    "FORMATS",
    "FORMAT_CHOICES",
    "MODES",
    "ModelLoadError",
    "RegressionMetrics",
    "TASKS",
    "TaskError",
    "Steering",
    "TargetNotReachedError",
    "UnknownLayerError",
    "Thresholds",
    "UnsupportedFormatError",
    "UsageError",
    "ValidationError",
    "artifact_name",
    "run_export",
    "validate_artifact",
]
