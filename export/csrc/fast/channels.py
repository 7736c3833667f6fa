"""Per-channel bias and requantization tables (``struct ep_requant``), and the proof that the DSP
requantization is exact."""
from __future__ import annotations

import numpy as np

from ...errors import ConversionError
from ..program import Table

INT32_MAX = 2**31 - 1


def check_int32(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` as int32, or ConversionError naming ``what`` when one does not fit."""
    values = np.asarray(values, dtype=np.int64)
    if values.size and (values.min() < -(2**31) or values.max() > INT32_MAX):
        raise ConversionError(f"{what} does not fit in int32 (range {values.min()} .. {values.max()})")
    return values.astype(np.int32)


def input_range(in_u8: bool) -> tuple[int, int]:
    return (0, 255) if in_u8 else (-128, 127)


def acc_bound(bias: np.ndarray, abs_weight_sums: np.ndarray, in_offset: int, in_u8: bool) -> np.ndarray:
    """Largest |bias + sum (x + in_offset) * w| per channel over every input, as int64."""
    lo, hi = input_range(in_u8)
    x_max = max(abs(lo + in_offset), abs(hi + in_offset))
    return np.abs(np.asarray(bias, dtype=np.int64)) + x_max * np.asarray(abs_weight_sums, dtype=np.int64)


def rounds(shifts: np.ndarray, out_zero_point: int) -> np.ndarray:
    """2^(r-1) + zero_point * 2^r for right shifts r = -shift > 0; 0 where shift >= 0."""
    out = np.zeros(len(shifts), dtype=np.int64)
    for i, s in enumerate(np.asarray(shifts, dtype=np.int64)):
        if s < 0:
            r = int(-s)
            out[i] = (1 << (r - 1)) + out_zero_point * (1 << r)
    return out


def fast_requant_ok(shifts: np.ndarray, bounds: np.ndarray, out_zero_point: int) -> bool:
    """True when ep_requant's DSP form equals MultiplyByQuantizedMultiplier + zero point for every
    accumulator within ``bounds``: every shift < 0, 2 * acc fits in int32, and so does
    x + round - 1 with |x| <= |acc| + 1 (x = SRDHM(acc, M), M < 2^31)."""
    shifts = np.asarray(shifts, dtype=np.int64)
    if len(shifts) == 0 or np.any(shifts >= 0) or np.any(shifts < -31):
        return False
    bounds = np.asarray(bounds, dtype=np.int64)
    r = np.abs(rounds(shifts, out_zero_point))
    return bool(np.all(2 * bounds <= INT32_MAX) and np.all(bounds + 2 + r <= INT32_MAX))


def requant_tables(tag: str, bias: np.ndarray, multipliers, shifts, out_zero_point: int, bounds: np.ndarray,
                   what: str) -> tuple[list[Table], str, bool]:
    """The bias table and the ``struct ep_requant`` table (multiplier, shift, round per channel, or
    one entry when every channel has the same scale), the C arguments naming them
    (``bias, rq, rq_step``) and whether the kernel may take the DSP requantization; then the
    table holds -shift (the right shift) and the rounding constant."""
    mult = np.asarray(multipliers, dtype=np.int64)
    shifts = np.asarray(shifts, dtype=np.int64)
    fast = fast_requant_ok(shifts, bounds, out_zero_point)
    entries = np.stack([mult, -shifts if fast else shifts,
                        rounds(shifts, out_zero_point) if fast else np.zeros(len(shifts), dtype=np.int64)], axis=1)
    per_tensor = bool(np.all(entries == entries[0]))
    if per_tensor:
        entries = entries[:1]
    scope = "every channel" if per_tensor else f"{len(shifts)} channels"
    tables = [Table(f"{tag}_bias", "int32_t", check_int32(np.asarray(bias, dtype=np.int64), what), "bias"),
              Table(f"{tag}_requant", "int32_t", check_int32(entries.reshape(-1), f"{what} requantization"),
                    f"{scope}: multiplier, {'right shift, round' if fast else 'shift, unused'} (struct ep_requant)")]
    args = f"{tag}_bias, (const struct ep_requant *){tag}_requant, {0 if per_tensor else 1}"
    return tables, args, fast
