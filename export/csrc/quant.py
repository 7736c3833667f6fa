"""Fixed-point parameters computed exactly as TFLite Micro's Prepare() does (double rounding)."""
from __future__ import annotations

import math

import numpy as np

INT32_MAX = 2**31 - 1


def tflite_round(x: float) -> int:
    """std::round: half away from zero."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: (Q0.31 multiplier, shift), shift > 0 meaning a left shift."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = tflite_round(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def conv_multipliers(in_scale: float, filter_scales: np.ndarray, out_scale: float, channels: int):
    """Per-output-channel (multiplier, shift) lists for FULLY_CONNECTED / CONV / DEPTHWISE_CONV.

    Per-tensor weights broadcast their one scale. The scales are multiplied in double: TFLite Micro's
    source multiplies a per-tensor FULLY_CONNECTED's two float scales in float, but the tflite-micro
    interpreter we compare with gives the double product's bytes (MLPerf Tiny AD, 2,000 random inputs:
    0 mismatched, 11 with the float product)."""
    fs = np.asarray(filter_scales, dtype=np.float32).reshape(-1)
    scales = fs if fs.size > 1 else np.repeat(fs, channels)
    pairs = [quantize_multiplier(float(np.float32(in_scale)) * float(s) / float(np.float32(out_scale)))
             for s in scales]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8 outputs."""
    lo, hi = -128, 127

    def quantize(f: float) -> int:
        return zero_point + tflite_round(float(np.float32(f) / np.float32(scale)))

    if activation == "RELU":
        lo = max(lo, quantize(0.0))
    elif activation == "RELU6":
        lo, hi = max(lo, quantize(0.0)), min(hi, quantize(6.0))
    elif activation == "RELU_N1_TO_1":
        lo, hi = max(lo, quantize(-1.0)), min(hi, quantize(1.0))
    return lo, hi


def input_radius(integer_bits: int, left_shift: int, total_bits: int = 31) -> int:
    """CalculateInputRadius."""
    return math.floor(((1 << integer_bits) - 1) * (1 << (total_bits - integer_bits)) / (1 << left_shift))


def softmax_params(beta: float, in_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, diff_min) of int8 SOFTMAX (Q5.26 input)."""
    real = min(float(beta) * float(np.float32(in_scale)) * (1 << (31 - 5)), float(INT32_MAX))
    mult, shift = quantize_multiplier(real)
    return mult, shift, -input_radius(5, shift)


def logistic_params(in_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, input_range_radius) of int8 LOGISTIC (Q4.27 input)."""
    real = float(np.float32(in_scale)) * (1 << (31 - 4))
    q, shift = math.frexp(real)
    mult = tflite_round(q * (1 << 31))
    if mult > INT32_MAX:
        raise ValueError("LOGISTIC input scale gives a multiplier of 2^31, which TFLite Micro overflows")
    return mult, shift, input_radius(4, shift)
