"""gemmlowp fixed-point arithmetic on Python ints, as TFLite Micro runs it (for precomputed tables)."""
from __future__ import annotations

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def srdhm(a: int, b: int) -> int:
    """SaturatingRoundingDoublingHighMul of two int32."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    q = abs(ab + nudge) >> 31  # int64 division truncates toward zero
    return q if ab + nudge >= 0 else -q


def rdbpot(x: int, exponent: int) -> int:
    """RoundingDivideByPOT: x / 2^exponent, rounded to nearest, ties away from zero."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def wrap32(x: int) -> int:
    return (x + 2**31) % 2**32 - 2**31


def mbqm(x: int, multiplier: int, shift: int) -> int:
    """MultiplyByQuantizedMultiplier (double rounding); x * 2^left wraps like int32."""
    left, right = max(shift, 0), max(-shift, 0)
    return rdbpot(srdhm(wrap32(x * (1 << left)), multiplier), right)
