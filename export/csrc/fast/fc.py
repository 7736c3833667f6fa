"""FULLY_CONNECTED onto ep_fc_s8: 4-row packed weights, input offset folded into the bias."""
from __future__ import annotations

import numpy as np

from ..program import Table
from .call import KernelCall
from .channels import acc_bound, check_int32, fast_requant_ok


def pack_rows4(w: np.ndarray) -> np.ndarray:
    """[rows][cols] int8 -> words: per group of 4 rows, per block of 4 columns, one word per row."""
    rows, cols = w.shape
    rows4, cols4 = -(-rows // 4) * 4, -(-cols // 4) * 4
    padded = np.zeros((rows4, cols4), dtype=np.int8)
    padded[:rows, :cols] = w
    blocks = padded.reshape(rows4 // 4, 4, cols4 // 4, 4).transpose(0, 2, 1, 3)
    return np.ascontiguousarray(blocks).view("<u4").reshape(-1).astype(np.uint32)


def fc_call(tag: str, weights: np.ndarray, bias: np.ndarray, multipliers, shifts, *, in_offset: int, in_u8: bool,
            out_zero_point: int, act_min: int, act_max: int) -> KernelCall:
    """Dense layer, weights [rows][cols] int8, per-row (or repeated per-tensor) quantization."""
    rows, cols = weights.shape
    rows4 = -(-rows // 4) * 4
    w64 = weights.astype(np.int64)
    folded = np.zeros(rows4, dtype=np.int64)
    folded[:rows] = np.asarray(bias, dtype=np.int64) + in_offset * w64.sum(axis=1)
    bounds = np.zeros(rows4, dtype=np.int64)
    bounds[:rows] = acc_bound(bias, np.abs(w64).sum(axis=1), in_offset, in_u8)
    pad = rows4 - rows  # padded rows: multiplier and shift of the last row, never stored
    mult = np.array(list(multipliers) + [multipliers[-1]] * pad, dtype=np.int64)
    shift = np.array(list(shifts) + [shifts[-1]] * pad, dtype=np.int64)
    fast = fast_requant_ok(shift, bounds, out_zero_point)
    tables = [Table(f"{tag}_weights", "uint32_t", pack_rows4(weights),
                    f"{rows}x{cols} int8, packed 4 rows x 4 columns per block"),
              Table(f"{tag}_bias", "int32_t", check_int32(folded, "FULLY_CONNECTED bias"),
                    f"bias + ({in_offset}) x row sums (input offset folded in), padded to 4 rows"),
              Table(f"{tag}_multiplier", "int32_t", mult.astype(np.int32), "per-row Q0.31 multipliers"),
              Table(f"{tag}_shift", "int8_t", shift.astype(np.int8), "per-row shifts (> 0: left)")]
    x = "(const int8_t *)in" if in_u8 else "in"
    body = [f"ep_fc_s8({x}, {int(in_u8)}, out, {tag}_weights, {tag}_bias, {tag}_multiplier, {tag}_shift, {cols}, "
            f"{rows},", f"         {out_zero_point}, {act_min}, {act_max}, {int(fast)});"]
    requant = "DSP requantization" if fast else "exact requantization"
    return KernelCall(["ep_fc_s8"], body, tables, comment=f"4 rows per pass, {requant}")
