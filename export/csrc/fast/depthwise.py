"""DEPTHWISE_CONV_2D 3x3 onto ep_dwconv3x3_s8: input offset folded into the bias."""
from __future__ import annotations

import numpy as np

from ..program import Table
from .call import KernelCall
from .channels import acc_bound, requant_tables


def depthwise_supported(k_hw: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int],
                        depth_multiplier: int, pad: tuple[int, int], in_hw: tuple[int, int],
                        out_hw: tuple[int, int]) -> bool:
    """The shapes ep_dwconv3x3_s8 takes: 3x3, equal strides 1 or 2, no dilation, multiplier 1,
    at most one padding row/column on each side."""
    if k_hw != (3, 3) or dilation != (1, 1) or depth_multiplier != 1 or stride[0] != stride[1]:
        return False
    if stride[0] not in (1, 2) or min(pad) < 0 or max(pad) > 1:
        return False
    for size_in, size_out, p in zip(in_hw, out_hw, pad):
        far = (size_out - 1) * stride[0] - p + 2  # last input row/column the window reaches
        if far > size_in:  # more than one padding row/column at the far side
            return False
    return True


def transposed(out_shape: tuple[int, int, int], stride: tuple[int, int]) -> bool:
    """Slide the window down the columns when the map is taller than wide (longer runs)."""
    return out_shape[0] > out_shape[1] and stride[0] == stride[1]


def depthwise_in_place_ok(in_shape: tuple[int, int, int], out_shape: tuple[int, int, int], stride: tuple[int, int],
                          pad: tuple[int, int]) -> bool:
    """Whether ep_dwconv3x3_s8 with its pending rows may write over its input: output row r of a
    channel is stored once row r + 1 is computed, and must then end before the first input row
    that rows r + 2 ... still read (a channel only overwrites its own bytes). Walking columns, only
    the same shape in and out (each output on its own input element) is allowed."""
    in_h, in_w, c = in_shape
    out_h, out_w, out_c = out_shape
    if out_c != c:
        return False
    if transposed(out_shape, stride):
        return (in_h, in_w) == (out_h, out_w) and stride == (1, 1)
    return all((r + 1) * out_w <= max(0, (r + 2) * stride[0] - pad[0]) * in_w for r in range(out_h - 2))


def depthwise_call(tag: str, in_shape: tuple[int, int, int], out_shape: tuple[int, int, int], weights: np.ndarray,
                   bias: np.ndarray, multipliers, shifts, *, in_offset: int, in_u8: bool, out_zero_point: int,
                   act_min: int, act_max: int, stride: tuple[int, int], pad: tuple[int, int],
                   in_place: bool = False) -> KernelCall:
    """3x3 depthwise, NHWC batch 1, weights [1][3][3][channels] int8, per-channel quantization.
    ``in_place``: the output may be the input (needs ``depthwise_in_place_ok``; 2 rows of scratch)."""
    in_h, in_w, channels = in_shape
    out_h, out_w, out_c = out_shape
    if weights.shape != (1, 3, 3, channels) or out_c != channels or in_u8:
        raise ValueError(f"ep_dwconv3x3_s8 takes int8 input and weights [1][3][3][{channels}], got {weights.shape}")
    if not depthwise_supported((3, 3), stride, (1, 1), 1, pad, (in_h, in_w), (out_h, out_w)):
        raise ValueError(f"ep_dwconv3x3_s8 does not take stride {stride}, padding {pad}")
    taps = weights.reshape(9, channels).astype(np.int64)
    bias = np.asarray(bias, dtype=np.int64)
    folded = bias + in_offset * taps.sum(axis=0)
    bounds = acc_bound(bias, np.abs(taps).sum(axis=0), in_offset, False)
    rq_tables, ch, fast = requant_tables(tag, folded, multipliers, shifts, out_zero_point, bounds,
                                         "DEPTHWISE_CONV_2D bias")
    tables = [Table(f"{tag}_weights", "int8_t", weights.reshape(-1), f"[3][3][{channels}]"), *rq_tables]
    tables[1].comment = "bias + input offset x the 9 weights (offset folded in)"
    if in_place and not depthwise_in_place_ok(in_shape, out_shape, stride, pad):
        raise ValueError(f"ep_dwconv3x3_s8 cannot run {in_shape} -> {out_shape} in place")
    body = [f"ep_dwconv3x3_s8(in, out, {'work' if in_place else 'NULL'}, {tag}_weights, {ch},",
            f"                {in_h}, {in_w}, {channels}, {out_h}, {out_w}, {stride[0]}, {pad[0]}, {pad[1]}, "
            f"{int(transposed(out_shape, stride))},",
            f"                {in_offset}, {out_zero_point}, {act_min}, {act_max}, {int(fast)});"]
    requant = "DSP requantization" if fast else "exact requantization"
    where = ", output rows held back 2 at a time" if in_place else ""
    rows = out_h if transposed(out_shape, stride) else out_w  # outputs per pending row
    return KernelCall(["ep_dwconv3x3_s8"], body, tables, 2 * rows if in_place else 0,
                      comment=f"3x3 depthwise, one channel at a time{where}, {requant}")
