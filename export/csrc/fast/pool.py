"""AVERAGE_POOL_2D and MAX_POOL_2D onto ep_avgpool_s8 / ep_maxpool_s8."""
from __future__ import annotations

from .call import KernelCall

SIMD_MAX_COUNT = 256  # 16-bit lanes hold a sum of at most 256 int8 values


def pool_in_place_ok(in_shape: tuple[int, int, int], out_shape: tuple[int, int, int], k_hw: tuple[int, int],
                     stride: tuple[int, int], pad: tuple[int, int]) -> bool:
    """Whether a pooling kernel may write over its input: it stores output pixel q (channel group by
    channel group) after reading its window, so no later output may read an input pixel below q."""
    in_h, in_w, _ = in_shape
    out_h, out_w, _ = out_shape
    for oy in range(out_h):
        for ox in range(out_w):
            y0, x0 = max(0, oy * stride[0] - pad[0]), max(0, ox * stride[1] - pad[1])
            if y0 * in_w + x0 < oy * out_w + ox:
                return False
    return True


def _pool_args(what: str, in_shape: tuple[int, int, int], out_shape: tuple[int, int, int], k_hw: tuple[int, int],
               stride: tuple[int, int], pad: tuple[int, int], act_min: int, act_max: int) -> str:
    """The kernels' shared arguments after ``in, out``: sizes, window, padding and activation range."""
    in_h, in_w, c = in_shape
    out_h, out_w, out_c = out_shape
    if out_c != c:
        raise ValueError(f"{what} pooling keeps the channels: {c} -> {out_c}")
    return (f"{in_h}, {in_w}, {c}, {out_h}, {out_w}, {k_hw[0]}, {k_hw[1]}, {stride[0]}, {stride[1]}, {pad[0]}, "
            f"{pad[1]}, {act_min}, {act_max}")


def avgpool_call(in_shape: tuple[int, int, int], out_shape: tuple[int, int, int], k_hw: tuple[int, int],
                 stride: tuple[int, int], pad: tuple[int, int], act_min: int, act_max: int) -> KernelCall:
    """Average pooling, NHWC batch 1, the same quantization in and out."""
    args = _pool_args("average", in_shape, out_shape, k_hw, stride, pad, act_min, act_max)
    simd = int(k_hw[0] * k_hw[1] <= SIMD_MAX_COUNT)
    how = "4 channels per SXTAB16" if simd else "one channel at a time"
    return KernelCall(["ep_avgpool_s8"], [f"ep_avgpool_s8(in, out, {args}, {simd});"], comment=how)


def maxpool_call(in_shape: tuple[int, int, int], out_shape: tuple[int, int, int], k_hw: tuple[int, int],
                 stride: tuple[int, int], pad: tuple[int, int], act_min: int, act_max: int) -> KernelCall:
    """Max pooling, NHWC batch 1, the same quantization in and out."""
    args = _pool_args("max", in_shape, out_shape, k_hw, stride, pad, act_min, act_max)
    return KernelCall(["ep_maxpool_s8"], [f"ep_maxpool_s8(in, out, {args});"], comment="4 channels per SSUB8/SEL")
