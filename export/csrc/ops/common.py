"""Lowering helpers shared by the weighted ops (FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D)."""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOpError
from ..program import Table
from ..quant import conv_multipliers

# float activation ranges as C literals
F32_RANGE = {"NONE": ("-3.402823466e+38f", "3.402823466e+38f"), "RELU": ("0.0f", "3.402823466e+38f"),
             "RELU6": ("0.0f", "6.0f"), "RELU_N1_TO_1": ("-1.0f", "1.0f")}


def bias_values(ctx, op, channels: int, dtype=np.int64) -> np.ndarray:
    """The op's bias as a vector (zeros when the optional bias is omitted)."""
    if len(op.inputs) < 3 or op.inputs[2] < 0:
        return np.zeros(channels, dtype=dtype)
    b = ctx.t(op.inputs[2])
    want = "int32" if dtype is np.int64 else "float32"
    if b.dtype != want or b.data is None or b.size != channels:
        raise UnsupportedOpError(op.kind, f"bias {b.name!r} is {b.dtype} {b.shape}; expected constant {want} "
                                          f"of {channels}")
    return b.data.reshape(-1).astype(dtype)


def quant_tables(tag: str, x, w, y, channels: int) -> list[Table]:
    """Per-channel multiplier and shift tables of a weighted int8 op."""
    mult, shift = conv_multipliers(x.qscale, w.scale, y.qscale, channels)
    return [Table(f"{tag}_multiplier", "int32_t", np.array(mult, dtype=np.int32), "per-channel Q0.31 multipliers"),
            Table(f"{tag}_shift", "int8_t", np.array(shift, dtype=np.int8), "per-channel shifts (> 0: left)")]


def check_prob_output(op, y) -> None:
    """int8 SOFTMAX / LOGISTIC outputs must have TFLite Micro's fixed scale 1/256 and zero point -128."""
    if y.qzero != -128 or y.qscale != np.float32(1.0 / 256):
        raise UnsupportedOpError(op.kind, f"output scale {y.qscale}, zero point {y.qzero}; "
                                          "TFLite Micro needs 1/256, -128")
