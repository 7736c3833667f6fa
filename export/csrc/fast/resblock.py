"""A residual block onto ep_resblock_s8 (kernels/fast/resblock.c): conv_a -> conv_b -> ADD with x or
with a 1x1 projection of x, streamed row by row; the proof that its output may take x's storage."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .add import add_tables
from .call import KernelCall
from .conv import PIXELS, conv_tables


@dataclass(frozen=True)
class Layer:
    """One int8 convolution of the block: dims (h, w, c), weights [out_c][k_h][k_w][in_c], per-channel
    bias, multipliers and shifts, quantization, stride and (top, left) padding."""

    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    weights: np.ndarray
    bias: np.ndarray
    multipliers: tuple
    shifts: tuple
    in_offset: int
    out_zero_point: int
    act_min: int
    act_max: int
    stride: tuple[int, int]
    pad: tuple[int, int]

    @property
    def kernel(self) -> tuple[int, int]:
        return int(self.weights.shape[1]), int(self.weights.shape[2])

    @property
    def k4(self) -> int:
        return -(-int(np.prod(self.weights.shape[1:])) // 4) * 4


def resblock_supported(a: Layer, b: Layer, proj: Layer | None) -> bool:
    """Channel counts that are multiples of 4 (no stage buffer), b reading a's output, and r (x or
    proj's output) of b's output shape; proj a 1x1 conv without padding."""
    if a.in_shape[2] % 4 or a.out_shape[2] % 4 or a.out_shape != b.in_shape:
        return False
    if proj is None:
        return a.in_shape == b.out_shape
    return (proj.in_shape == a.in_shape and proj.out_shape == b.out_shape and proj.kernel == (1, 1)
            and proj.pad == (0, 0))


def _rows_read(layer: Layer, oy: int) -> tuple[int, int]:
    """Input rows [first, end) that output row ``oy`` of ``layer`` reads (padding rows left out)."""
    first = oy * layer.stride[0] - layer.pad[0]
    return max(first, 0), min(first + layer.kernel[0], layer.in_shape[0])


def resblock_in_place_ok(a: Layer, b: Layer, proj: Layer | None) -> bool:
    """Whether out may start where x starts: walking the kernel's order (per output row y: the conv_a
    rows it first needs, the projection row, then row y stored), every read of x must lie at or
    after the bytes already written. Row y with r = x reads x's row y at the very offsets it writes,
    element by element before each store, which ep_add_s8 allows."""
    x_row = a.in_shape[1] * a.in_shape[2]
    o_row = b.out_shape[1] * b.out_shape[2]
    if b.out_shape[0] * o_row > a.in_shape[0] * x_row:
        return False
    written, hi = 0, 0
    for y in range(b.out_shape[0]):
        need = _rows_read(b, y)[1]
        reads = [_rows_read(a, r) for r in range(hi, need)]
        hi = max(hi, need)
        if proj is not None:
            reads.append(_rows_read(proj, y))
        if any(start < end and start * x_row < written for start, end in reads):
            return False
        written = (y + 1) * o_row
    return True


def _layer_init(name: str, tag: str, layer: Layer, ch: str, fast: bool) -> list[str]:
    (in_h, in_w, in_c), (out_h, out_w, out_c) = layer.in_shape, layer.out_shape
    k_h, k_w = layer.kernel
    return [f"static const struct ep_conv_layer {name} = {{{tag}_weights, {ch},",
            f"    {in_h}, {in_w}, {in_c}, {out_h}, {out_w}, {out_c}, {k_h}, {k_w}, {layer.stride[0]}, "
            f"{layer.stride[1]}, {layer.pad[0]}, {layer.pad[1]},",
            f"    {layer.in_offset}, {layer.out_zero_point}, {layer.act_min}, {layer.act_max}, {int(fast)}}};"]


def resblock_call(tag: str, a: Layer, b: Layer, proj: Layer | None, *, b_quant: tuple[float, int],
                  r_quant: tuple[float, int], out_quant: tuple[float, int], act_min: int, act_max: int,
                  in_place: bool = False) -> KernelCall:
    """The block as one call. ``b_quant``, ``r_quant``, ``out_quant``: (scale, zero point) of the
    ADD's operands (conv_b's output, r) and output; ``act_min``/``act_max``: the ADD's clamp.
    ``in_place``: out is x's storage (needs ``resblock_in_place_ok``)."""
    if not resblock_supported(a, b, proj):
        raise ValueError(f"ep_resblock_s8 does not take {a.in_shape} -> {a.out_shape} -> {b.out_shape}")
    if in_place and not resblock_in_place_ok(a, b, proj):
        raise ValueError(f"ep_resblock_s8 cannot write {b.out_shape} over its input {a.in_shape}")
    tables, body, fasts = [], [], []
    for name, suffix, layer in (("conv_a", "a", a), ("conv_b", "b", b), ("proj", "p", proj)):
        if layer is None:
            continue
        t, ch, fast = conv_tables(f"{tag}{suffix}", layer.weights, layer.bias, layer.multipliers, layer.shifts,
                                  in_offset=layer.in_offset, in_u8=False, out_zero_point=layer.out_zero_point)
        tables += t
        fasts.append(fast)
        body += _layer_init(name, f"{tag}{suffix}", layer, ch, fast)
    add, (mo, so, rnd, zp), fast = add_tables(f"{tag}_add", b_quant, r_quant, out_quant)
    tables += add
    patch = PIXELS * 2 * max(layer.k4 for layer in (a, b, proj) if layer is not None)
    window = b.kernel[0] * a.out_shape[1] * a.out_shape[2]
    tmp = PIXELS * b.out_shape[2]
    proj_row = b.out_shape[1] * b.out_shape[2] if proj is not None else 0
    at = [patch, patch + window, patch + window + tmp]
    row = f"(int8_t *)work + {at[2]}" if proj is not None else "NULL"
    body += [f"ep_resblock_s8(in, out, work, (int8_t *)work + {at[0]}, (int8_t *)work + {at[1]}, {row},",
             f"               &conv_a, &conv_b, {'&proj' if proj is not None else 'NULL'}, {tag}_add_a, {tag}_add_b, "
             f"{mo}, {so}, {rnd}, {zp}, {act_min}, {act_max}, {int(fast)});"]
    requant = "DSP requantization" if all(fasts) and fast else "exact requantization"
    comment = (f"streamed: {b.kernel[0]} rows of conv_a, conv_b in 4-pixel blocks added to "
               f"{'a 1x1 projection row' if proj is not None else 'the input'}, {requant}")
    return KernelCall(["ep_resblock_s8"], body, tables, at[2] + proj_row, "int16_t", comment)
