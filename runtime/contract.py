"""The input contract of a loaded model: accepted shapes, the raw-pixel rule, (de)quantization
constants, the messages for refused inputs and the checks of ``load``'s arguments.
Pure numpy; everything here is re-exported by ``runtime.model``."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from .errors import ModelFileError, UsageError

BACKENDS = ("onnxruntime", "litert")
SUFFIX_BACKENDS = {".onnx": "onnxruntime", ".tflite": "litert"}

_UINT8 = np.dtype(np.uint8)
_FLOAT32 = np.dtype(np.float32)
# Read as uint32, every float32 in [+0, max] is <= the bits of max, while negatives (sign
# bit), NaN and Inf all compare above: one integer scan checks range and finiteness.
# (ndarray.argmax + item costs about a third of a ufunc max-reduce on a small array.)
_UINT32 = np.dtype(np.uint32)


def takes_raw_uint8(dtype: np.dtype, quant: tuple[float, int] | None, pixel_scale: float | None) -> bool:
    """The raw-pixel rule: uint8 pixels feed an input directly when its quantization is
    (scale = pixel_scale, zero point 0). The one place this is decided."""
    return (
        pixel_scale is not None
        and dtype == np.uint8
        and quant is not None
        and quant[1] == 0
        and bool(np.isclose(quant[0], pixel_scale, rtol=1e-6))
    )


def _accepted_shapes(item: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Per-sample shapes accepted for ``item``: itself, flat, and without a trailing 1."""
    forms = [item]
    size = int(np.prod(item))
    if (size,) not in forms:
        forms.append((size,))
    if len(item) > 1 and item[-1] == 1 and item[:-1] not in forms:
        forms.append(item[:-1])
    return forms


def _dims(shape: tuple[int, ...]) -> str:
    return ", ".join(map(str, shape))


def _g(value: float) -> str:
    """Shortest text that round-trips a float32 (1.0000001 stays 1.0000001)."""
    return np.format_float_positional(np.float32(value), trim="-")


def _dequant_table(dtype: np.dtype, quant: tuple[float, int] | None) -> np.ndarray | None:
    """float32 value of each of the 256 byte patterns of an 8-bit quantized output.

    Indexed by the raw byte, so ``table.take(uint8_array)`` dequantizes; for int8 arrays
    ``take``'s negative indices count from the end, which is the same byte (-1 is 0xff).
    """
    if quant is None or dtype not in (np.uint8, np.int8):
        return None
    scale, zero_point = quant
    values = np.arange(256, dtype=np.uint8).view(dtype).astype(np.float32)
    return ((values - np.float32(zero_point)) * np.float32(scale)).astype(np.float32)


def output_decoder(
    dtype: np.dtype, quant: tuple[float, int] | None, *, fresh: bool
) -> Callable[[np.ndarray], np.ndarray] | None:
    """The function from an engine's raw output to a new float32 array, decided once at load.

    ``fresh``: the engine hands out arrays of its own (onnxruntime's run, LiteRT's GetTensor),
    so a float32 output needs nothing (None); otherwise (a view into an arena) it is copied.
    """
    table = _dequant_table(dtype, quant)
    if table is not None:  # 8-bit: one table lookup over the raw bytes (the cheapest numpy way)
        return table.take
    if quant is not None and dtype.kind in "iu":  # wider quantized outputs (int16): (y - zp) * scale in float32
        scale, zero_point = np.float32(quant[0]), np.float32(quant[1])
        if not zero_point:  # int16x8's symmetric outputs: one operation
            return lambda y: np.multiply(y, scale, dtype=np.float32)

        def decode(y: np.ndarray) -> np.ndarray:
            values = np.subtract(y, zero_point, dtype=np.float32)
            values *= scale
            return values

        return decode
    if dtype == np.float32:
        return None if fresh else np.ndarray.copy
    return lambda y: y.astype(np.float32)


def _describe_bad_floats(x: np.ndarray, upper: float | None) -> str:
    n_nan = int(np.isnan(x).sum())
    n_inf = int(np.isinf(x).sum())
    expected = "finite numbers" if upper is None else f"finite floats in [0, {_g(upper)}] (or uint8 raw pixels)"
    if n_nan or n_inf:
        return f"input holds {n_nan} NaN and {n_inf} Inf values: expected {expected}"
    return (
        f"float input ranges over [{_g(x.min())}, {_g(x.max())}]: expected floats in "
        f"[0, {_g(upper)}] (scale raw pixels by the pixel scale first, or pass them as uint8)"
    )


def quantizer_constants(
    dtype: np.dtype, quant: tuple[float, int]
) -> tuple[np.float32, np.float32, np.float32, np.dtype, int]:
    """Constants of the float -> ``dtype`` input quantizer: (1/scale, offset, span, unsigned
    dtype of the same width, sign flip).

    The value is shifted so that the integer range starts at 0: +0.5 then truncation rounds half
    up, and the shifted codes 0..span (255, or 65535 for 16 bits) are offset binary. Their
    unsigned type holds them; for a signed ``dtype``, flipping the top bit (``sign flip``) makes
    them two's complement, read as ``dtype`` with no arithmetic.
    """
    scale, zero_point = quant
    info = np.iinfo(dtype)
    offset = np.float32(zero_point - info.min + 0.5)
    unsigned = np.dtype(f"u{np.dtype(dtype).itemsize}")
    flip = 1 << (info.bits - 1) if info.min else 0
    return np.float32(1.0 / scale), offset, np.float32(info.max - info.min), unsigned, flip


def _check_load_args(path: Path, backend: str | None, num_threads: int | None, max_batch: int | None) -> str:
    """The backend ``path``'s suffix calls for, after checking the arguments of ``load``."""
    if path.is_dir():
        raise ModelFileError(f"{path}: is a directory, expected a model file ({'/'.join(SUFFIX_BACKENDS)})")
    suffix = path.suffix.lower()
    if suffix not in SUFFIX_BACKENDS:
        raise ModelFileError(
            f"{path}: unknown model suffix {suffix or '(none)'!r}: expected one of "
            f"{sorted(SUFFIX_BACKENDS)}"
        )
    expected = SUFFIX_BACKENDS[suffix]
    if backend is not None and backend not in BACKENDS:
        raise UsageError(f"Unrecognized backend={backend!r}. Supported backends are: {list(BACKENDS)}")
    if backend is not None and backend != expected:
        raise UsageError(f"{path}: backend={backend!r} cannot run a {suffix} file (expected {expected!r})")
    bad_threads = isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1
    if num_threads is not None and bad_threads:
        raise UsageError(f"num_threads must be a positive int or None, got {num_threads!r}")
    bad_max = isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1
    if max_batch is not None and bad_max:
        raise UsageError(f"max_batch must be a positive int or None, got {max_batch!r}")
    return expected
