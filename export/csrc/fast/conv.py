"""CONV_2D onto ep_conv1x1_s8 / ep_conv_s8: weight rows packed in words, channel constants."""
from __future__ import annotations

import numpy as np

from ..program import Table
from .call import KernelCall
from .channels import acc_bound, requant_tables

PIXELS = 4  # EP_PIXELS: output pixels per block


def pack_rows(matrix: np.ndarray) -> np.ndarray:
    """[rows][k] int8 -> uint32 words, each row zero-padded to a multiple of 4 values (little-endian)."""
    rows, k = matrix.shape
    k4 = -(-k // 4) * 4
    padded = np.zeros((rows, k4), dtype=np.int8)
    padded[:, :k] = matrix
    return np.ascontiguousarray(padded).view("<u4").reshape(-1).astype(np.uint32)


def conv_work_bytes(k: int, in_c: int) -> int:
    """Scratch of the patch buffer (4 pixels x k4 int16) plus the int8 stage when in_c % 4 != 0."""
    k4 = -(-k // 4) * 4
    return PIXELS * 2 * k4 + (k4 if in_c % 4 else 0)


def conv_supported(dilation: tuple[int, int]) -> bool:
    """ep_conv_s8 takes any kernel size, stride and padding, without dilation."""
    return tuple(dilation) == (1, 1)


def conv_tables(tag: str, weights: np.ndarray, bias: np.ndarray, multipliers, shifts, *, in_offset: int,
                in_u8: bool, out_zero_point: int) -> tuple[list[Table], str, bool]:
    """The packed weight rows, bias and requantization tables of a conv on the matrix kernel, the C
    arguments naming the channel tables (``bias, rq, rq_step``) and whether the DSP requantization applies."""
    out_c = weights.shape[0]
    matrix = weights.reshape(out_c, -1)
    bounds = acc_bound(bias, np.abs(matrix.astype(np.int64)).sum(axis=1), in_offset, in_u8)
    rq_tables, ch, fast = requant_tables(tag, bias, multipliers, shifts, out_zero_point, bounds, "CONV_2D bias")
    tables = [Table(f"{tag}_weights", "uint32_t", pack_rows(matrix),
                    f"{list(weights.shape)} as {out_c} rows of {matrix.shape[1]} int8, zero-padded to 4"), *rq_tables]
    return tables, ch, fast


def conv_call(tag: str, in_shape: tuple[int, int, int], out_shape: tuple[int, int, int], weights: np.ndarray,
              bias: np.ndarray, multipliers, shifts, *, in_offset: int, in_u8: bool, out_zero_point: int,
              act_min: int, act_max: int, stride: tuple[int, int], pad: tuple[int, int],
              maxpool: tuple[int, int, int, int] | None = None) -> KernelCall:
    """CONV_2D, NHWC batch 1, weights [out_c][k_h][k_w][in_c] int8, per-channel quantization.

    ``in_offset`` is added to every input value (-input zero point); ``pad`` is (top, left);
    ``out_shape`` is the conv's output. ``maxpool`` (filter_h, filter_w, act_min, act_max): a
    MAX_POOL_2D with stride equal to its window and no padding folded in (the call then writes
    the pooled output)."""
    in_h, in_w, in_c = in_shape
    out_h, out_w, out_c = out_shape
    oc, k_h, k_w, ic = weights.shape
    if (oc, ic) != (out_c, in_c):
        raise ValueError(f"weights {weights.shape} for {in_c} -> {out_c} channels")
    k = k_h * k_w * in_c
    tables, ch, fast = conv_tables(tag, weights, bias, multipliers, shifts, in_offset=in_offset, in_u8=in_u8,
                                   out_zero_point=out_zero_point)
    x = "(const int8_t *)in" if in_u8 else "in"
    quant = f"{in_offset}, {int(in_u8)}, {out_zero_point}, {act_min}, {act_max}, {int(fast)}"
    pointwise = (k_h, k_w, stride, pad) == (1, 1, (1, 1), (0, 0)) and (out_h, out_w) == (in_h, in_w)
    k4 = -(-k // 4) * 4
    if maxpool is not None:
        pool_h, pool_w, pool_min, pool_max = maxpool
        kernel = "ep_conv_maxpool_s8"
        stage_bytes = k4 if in_c % 4 else 0
        stage = f"(int8_t *)work + {PIXELS * 2 * k4}" if in_c % 4 else "NULL"
        rows = f"(int8_t *)work + {PIXELS * 2 * k4 + stage_bytes}"
        body = [f"{kernel}({x}, out, work, {stage}, {rows}, {tag}_weights, {ch},",
                f"           {in_h}, {in_w}, {in_c}, {out_h}, {out_w}, {out_c}, {k_h}, {k_w}, {stride[0]}, {stride[1]},"
                f" {pad[0]}, {pad[1]}, {pool_h}, {pool_w},",
                f"           {in_offset}, {int(in_u8)}, {out_zero_point}, {act_min}, {act_max}, {pool_min}, {pool_max}, "
                f"{int(fast)});"]
        work = PIXELS * 2 * k4 + stage_bytes + pool_h * (out_w // pool_w) * pool_w * out_c
    elif pointwise:
        kernel = "ep_conv1x1_s8"
        body = [f"{kernel}({x}, out, work, {tag}_weights, {ch},",
                f"              {in_h * in_w}, {in_c}, {out_c}, {quant});"]
        work = PIXELS * 2 * k4
    else:
        kernel = "ep_conv_s8"
        stage = f"(int8_t *)work + {PIXELS * 2 * k4}" if in_c % 4 else "NULL"
        body = [f"{kernel}({x}, out, work, {stage}, {tag}_weights, {ch},",
                f"           {in_h}, {in_w}, {in_c}, {out_h}, {out_w}, {out_c}, {k_h}, {k_w}, {stride[0]}, {stride[1]},"
                f" {pad[0]}, {pad[1]},",
                f"           {quant});"]
        work = conv_work_bytes(k, in_c)
    requant = "DSP requantization" if fast else "exact requantization"
    how = "1x1 conv" if pointwise and maxpool is None else "conv"
    rows = f", {maxpool[0]} conv rows at a time pooled" if maxpool is not None else ""
    comment = f"{how} as 4-pixel matrix blocks{rows}, {requant}"
    return KernelCall([kernel], body, tables, work, "int16_t", comment)
