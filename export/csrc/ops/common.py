"""Checks and lowering helpers shared by several op modules: the weighted ops (FULLY_CONNECTED, CONV_2D,
DEPTHWISE_CONV_2D), the fixed-output-scale ops (SOFTMAX, LOGISTIC, TANH) and the per-value float ops."""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOpError
from ..program import Table
from ..quant import conv_multipliers, logistic_params
from .base import expect

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


def expect_weighted(op, x, w, y, quantized: bool, what: str) -> None:
    """Input, ``what`` (weights or filter) and output all int8, ``what`` with zero point 0; or all float32."""
    for t in (x, w, y):
        expect(op, t, "int8" if quantized else "float32")
    if quantized and np.any(w.zero_point != 0):
        raise UnsupportedOpError(op.kind, f"{what} must be int8 with zero point 0")


def check_fixed_output(op, y, scale: float, zero_point: int) -> None:
    """int8 SOFTMAX / LOGISTIC (1/256, -128) and TANH (1/128, 0) outputs have TFLite Micro's fixed quantization."""
    if y.qzero != zero_point or y.qscale != np.float32(scale):
        raise UnsupportedOpError(op.kind, f"output scale {y.qscale}, zero point {y.qzero}; "
                                          f"TFLite Micro needs 1/{round(1 / scale)}, {zero_point}")


def check_q4_input(op, x) -> None:
    """int8 LOGISTIC / TANH: the input scale must have TFLite Micro's Q4.27 input multiplier."""
    try:
        logistic_params(x.qscale)
    except ValueError as e:
        raise UnsupportedOpError(op.kind, str(e)) from e


def lower_q4_map(ctx, op, kernel: str):
    """int8 LOGISTIC / TANH onto ``kernel`` (the q4_map_s8 loop): x - zero point read as Q4.27."""
    x = ctx.t(op.inputs[0])
    mult, shift, radius = logistic_params(x.qscale)
    body = [f"enum {{ SIZE = {x.size}, IN_ZERO_POINT = {x.qzero}, SHIFT = {shift} }};",
            f"const int32_t multiplier = {mult}, radius = {radius};",
            f"{kernel}(in, out, SIZE, IN_ZERO_POINT, radius, multiplier, SHIFT);"]
    return ctx.step(op, f"{op.kind} over {x.size} values", body, [kernel])


def lower_per_value_f32(ctx, op, kernel: str):
    """A float32 function applied value by value: ``kernel(in, out, SIZE)``."""
    x = ctx.t(op.inputs[0])
    body = [f"enum {{ SIZE = {x.size} }};", f"{kernel}(in, out, SIZE);"]
    return ctx.step(op, f"{op.kind} over {x.size} values", body, [kernel])
