"""The arguments of ``run_export`` that need no model: their defaults, bounds and checks."""
from __future__ import annotations

import logging

from .errors import UnsupportedFormatError, UsageError
from .formats import REGISTRY
from .litert import CALIBRATED_MODES, IO_DTYPES
from .task import TASKS

DEFAULT_CALIBRATION_SAMPLES = 500
# Full-int8 TFLite takes raw uint8 pixels by default: no float ops at all on the target.
DEFAULT_IO_DTYPE = "uint8"
SEED_MAX = 2**32 - 1
_TFLITE_BASED = tuple(n for n, f in REGISTRY.items() if f.tflite_family)  # int8 made from the int8 .tflite

# the pipeline's logger: these lines belong to the run
logger = logging.getLogger("export.pipeline")


def check_arguments(output_dir, task, opset, io_dtype, calibration_samples, seed) -> None:
    """Refuse bad arguments before any conversion, each with a typed, one-line error."""
    if output_dir is not None and str(output_dir) == "":
        raise UsageError("--output is empty: give a folder (or omit it to use the model's folder)")
    if task is not None and task not in TASKS:
        raise UsageError(f"Unrecognized task={task!r}. Supported tasks are: {list(TASKS)}")
    if io_dtype not in IO_DTYPES:
        raise UnsupportedFormatError(f"Unrecognized io_dtype={io_dtype!r}. Supported: {list(IO_DTYPES)}")
    for name, value, low, high in (
        ("calibration_samples", calibration_samples, 1, None),
        ("seed", seed, 0, SEED_MAX),
        ("opset", opset, 1, None),
    ):
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{name} must be an int, got {type(value).__name__} {value!r}")
        if value < low or (high is not None and value > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            raise UsageError(f"{name} must be {bound}, got {value}")


def check_plan_inputs(
    variants: tuple[tuple[str, str], ...], has_data: bool, io_dtype: str, *, as_is: bool = False
) -> None:
    """UsageError if calibrated ``variants`` have no data or int8 C is asked for float I/O; a warning if
    ``io_dtype`` applies to none of them.

    ``as_is``: the variants are a .tflite's own, which needs no calibration and keeps its own I/O.
    """
    if as_is:
        if io_dtype != DEFAULT_IO_DTYPE:
            logger.warning("--io-dtype %s is not used: a .tflite keeps its own input and output types", io_dtype)
        return
    if not has_data and any(mode in CALIBRATED_MODES for _, mode in variants):
        raise UsageError(
            "int8 and int16x8 need calibration data: pass --data PATH.npz (with x_calibration or x_train)"
        )
    if io_dtype == "float32" and ("c", "int8") in variants:
        raise UsageError(
            "--format c --quantize int8 generates integer-only C, whose input and output are uint8 or int8: "
            "--io-dtype float32 would add float QUANTIZE/DEQUANTIZE ops, which the C generator does not "
            "emit; use --io-dtype uint8 or int8 (quantize in your code with the header's INPUT_SCALE "
            "and INPUT_ZERO_POINT), or --format tflm"
        )
    if io_dtype != DEFAULT_IO_DTYPE and not any(f in _TFLITE_BASED and m in CALIBRATED_MODES for f, m in variants):
        logger.warning(
            "--io-dtype %s applies to calibrated TFLite variants (and the C/TFLM made from them) only; "
            "this plan has none", io_dtype,
        )
