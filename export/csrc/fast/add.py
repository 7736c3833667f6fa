"""ADD onto ep_add_s8: each input's rescaled term tabulated over its 256 int8 values."""
from __future__ import annotations

import numpy as np

from ..quant import quantize_multiplier
from ..program import Table
from .call import KernelCall
from .channels import check_int32, fast_requant_ok, rounds
from .fixedpoint import rdbpot, srdhm

LEFT_SHIFT = 20  # TFLite Micro's left_shift for int8 ADD


def add_params(a_scale: float, b_scale: float, out_scale: float) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """(multiplier, shift) of input a, input b and the output, as TFLite Micro's CalculateOpDataAdd."""
    sa, sb, so = (float(np.float32(s)) for s in (a_scale, b_scale, out_scale))
    twice_max = 2.0 * max(sa, sb)
    return (quantize_multiplier(sa / twice_max), quantize_multiplier(sb / twice_max),
            quantize_multiplier(twice_max / ((1 << LEFT_SHIFT) * so)))


def term_table(offset: int, multiplier: int, shift: int) -> np.ndarray:
    """2 x SRDHM((x + offset) << 20, multiplier) / 2^-shift for x = -128 .. 127 (int64)."""
    return np.array([2 * rdbpot(srdhm((x + offset) * (1 << LEFT_SHIFT), multiplier), -shift)
                     for x in range(-128, 128)], dtype=np.int64)


def add_tables(tag: str, a_quant: tuple[float, int], b_quant: tuple[float, int],
               out_quant: tuple[float, int]) -> tuple[list[Table], tuple[int, int, int, int], bool]:
    """The two term tables (``<tag>_a``, ``<tag>_b``) of an int8 ADD, its output requantization
    (multiplier, shift, round, zero point) and whether the DSP requantization applies; quantizations
    are (scale, zero point)."""
    (ma, sa), (mb, sb), (mo, so) = add_params(a_quant[0], b_quant[0], out_quant[0])
    if max(sa, sb, so) > 0:
        raise ValueError("ADD multipliers must be below one (TFLite Micro's QuantizeMultiplierSmallerThanOneExp)")
    ta, tb = term_table(-a_quant[1], ma, sa), term_table(-b_quant[1], mb, sb)
    zp = out_quant[1]
    bound = int(np.abs(ta).max() + np.abs(tb).max()) // 2
    fast = fast_requant_ok(np.array([so]), np.array([bound]), zp)
    rnd = int(rounds(np.array([so]), zp)[0]) if fast else 0
    tables = [Table(f"{tag}_a", "int32_t", check_int32(ta, "ADD table"), "2 x rescaled input a, for a = -128 .. 127"),
              Table(f"{tag}_b", "int32_t", check_int32(tb, "ADD table"), "2 x rescaled input b, for b = -128 .. 127")]
    return tables, (mo, so, rnd, zp), fast


def add_call(tag: str, size: int, a_quant: tuple[float, int], b_quant: tuple[float, int],
             out_quant: tuple[float, int], act_min: int, act_max: int) -> KernelCall:
    """Element-wise int8 ADD of ``size`` values; quantizations are (scale, zero point)."""
    tables, (mo, so, rnd, zp), fast = add_tables(tag, a_quant, b_quant, out_quant)
    body = [f"ep_add_s8(in0, in1, out, {size}, {tag}_a, {tag}_b, {mo}, {so}, {rnd}, {zp}, {act_min}, {act_max}, "
            f"{int(fast)});"]
    requant = "DSP requantization" if fast else "exact requantization"
    return KernelCall(["ep_add_s8"], body, tables, comment=f"element-wise, two 256-entry tables, {requant}")
