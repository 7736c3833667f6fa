"""TFLite Micro's outputs for the rows a board ran: what "exact" in the MCU table is judged against."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UsageError

HINT = "the MCU table's exact column needs tflite-micro: pip install tflite-micro (x86-64 Linux wheels)"


def tflm_outputs(tflite_path: str | Path, inputs: np.ndarray) -> np.ndarray:
    """(N, OUTPUT_SIZE) outputs of the tflite-micro interpreter (reference kernels), one row per
    input row; each row is reshaped to the model's input shape. UsageError if tflite-micro is missing."""
    try:
        from tflite_micro.python.tflite_micro import runtime as tflm
    except ImportError as e:
        raise UsageError(HINT) from e
    interp = tflm.Interpreter.from_file(str(tflite_path))
    shape = tuple(interp.get_input_details(0)["shape"])
    rows = []
    for row in np.asarray(inputs):
        interp.set_input(row.reshape(shape), 0)
        interp.invoke()
        rows.append(np.array(interp.get_output(0)).reshape(-1))
    return np.stack(rows)


def exactness(got: np.ndarray, want: np.ndarray) -> dict[str, object]:
    """``exact`` (every output element equal), ``mismatched_rows`` and ``max_abs_diff``."""
    if got.shape != want.shape:
        return {"exact": False, "mismatched_rows": len(got), "max_abs_diff": None}
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    bad = int((diff.max(axis=1) > 0).sum()) if diff.size else 0
    return {"exact": bad == 0, "mismatched_rows": bad, "max_abs_diff": float(diff.max()) if diff.size else 0.0}
