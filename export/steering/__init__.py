"""Quantization steering (issue 11): per-layer error, float layers, the agreement-target search.

- ``hook.py``: the pipeline's hook: ``check_steering``, ``steer_variant``, ``format_steering``.
- ``mixed_precision.py``: ``Steering`` (what was asked), which variants may keep layers in float, the search.
- ``layer_map.py``: ONNX/TFLite ops mapped back to Keras layer names.
- ``layer_graphs.py``: artifacts opened so that each layer's output can be read.
- ``layer_report.py``: per-layer quantization error by Keras layer (``--layer-report``).
- ``blame_check.py``: ``python -m export.steering.blame_check``: the report's blame, measured.
"""
from .hook import check_steering, format_steering, steer_variant
from .layer_map import KerasLayout
from .mixed_precision import (
    RECIPE_KEY,
    Steering,
    check_layer_names,
    convert_with_float_layers,
    onnx_exclusions,
    supports_float_island,
)

__all__ = [
    "KerasLayout",
    "RECIPE_KEY",
    "Steering",
    "check_layer_names",
    "check_steering",
    "convert_with_float_layers",
    "format_steering",
    "onnx_exclusions",
    "steer_variant",
    "supports_float_island",
]
