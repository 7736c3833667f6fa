"""``load(path) -> Model``: prepare once, predict many times."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidInputError, ModelFileError
from .metadata import ModelMetadata

BACKENDS = ("onnxruntime", "litert")
_UINT8 = np.dtype(np.uint8)
_FLOAT32 = np.dtype(np.float32)
# Read as uint32, every float32 in [+0, 1] is <= the bits of 1.0, while negatives (sign
# bit), NaN and Inf all compare above: one integer scan checks range and finiteness.
# (ndarray.argmax + item costs about a third of a ufunc max-reduce on a small array.)
_FLOAT32_ONE_BITS = 0x3F800000
_UINT32 = np.dtype(np.uint32)
SUFFIX_BACKENDS = {".onnx": "onnxruntime", ".tflite": "litert"}


class Model:
    """A loaded artifact. ``predict_proba``/``predict`` are thread-safe.

    Input contract: uint8 arrays are raw pixels, scaled by the metadata's
    ``pixel_scale``; float arrays must already lie in [0, 1]. Shapes
    (N, H, W), (H, W) (one image, treated as N=1) and (N, H*W) are accepted.
    Quantized artifacts are fed and read transparently: outputs are always
    float32 probabilities.
    """

    def __init__(self, path: Path, backend: Any, metadata: ModelMetadata) -> None:
        self.path = path
        self.metadata = metadata
        self.class_names: tuple[str, ...] = metadata.class_names
        self._backend = backend
        self._run = backend.run
        self._item_shape = metadata.input_shape
        self._item_size = int(np.prod(metadata.input_shape))
        self._pixel_scale = np.float32(metadata.pixel_scale)
        self._num_classes = len(metadata.class_names)
        self._in_dtype = backend.input_dtype
        self._in_quant = backend.input_quant
        self._out_quant = backend.output_quant
        # Everything the per-call path needs is decided here, once.
        self._feeds_float = self._in_dtype == np.float32
        # raw uint8 pixels feed a uint8 input directly when its scale is the pixel scale
        self._raw_uint8_ok = (
            self._in_dtype == np.uint8
            and self._in_quant is not None
            and self._in_quant[1] == 0
            and bool(np.isclose(self._in_quant[0], metadata.pixel_scale, rtol=1e-6))
        )
        self._native_dtype = _UINT8 if self._raw_uint8_ok else _FLOAT32 if self._feeds_float else None
        self._dequant_lut = _dequant_table(backend.output_dtype, self._out_quant)
        # wider (int16) quantized outputs: scale/zero-point arithmetic instead of a table
        self._dequant_wide = (
            self._out_quant if self._dequant_lut is None and backend.output_dtype.kind in "iu" else None
        )
        self._out_float32 = backend.output_dtype == np.float32
        self._out_uint8 = backend.output_dtype == np.uint8
        if not self._feeds_float:
            scale, zero_point = self._in_quant
            info = np.iinfo(self._in_dtype)
            self._q_inv_scale = np.float32(1.0 / scale)
            # +0.5 then truncation rounds half up; valid because inputs are >= 0 after checking
            self._q_offset = np.float32(zero_point - info.min + 0.5)
            self._q_min, self._q_span = info.min, info.max - info.min
            # the shifted value spans 0..255 for 8-bit inputs, 0..65535 for int16
            self._q_wide = np.dtype(np.int16 if info.bits == 8 else np.int32)

    @property
    def backend(self) -> str:
        """Name of the inference engine: "onnxruntime" or "litert"."""
        return self._backend.name

    @property
    def thread_settings(self) -> dict[str, Any]:
        """The thread settings the engine was created with."""
        return dict(self._backend.thread_settings)

    @property
    def io_names(self) -> tuple[str, str]:
        """The artifact's (input, output) tensor names."""
        return self._backend.io_names

    @property
    def takes_raw_pixels(self) -> bool:
        """True if raw uint8 pixels go straight into the artifact, with no conversion."""
        return self._raw_uint8_ok

    @property
    def input_details(self) -> dict[str, Any]:
        """The artifact's own input dtype and quantization (scale, zero point)."""
        return {"dtype": self._in_dtype.name, "quantization": self._in_quant}

    def __repr__(self) -> str:
        q = self.metadata.quantization
        return f"Model({str(self.path)!r}, backend={self.backend!r}, quantization={q.mode!r})"

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, float32 of shape (N, num_classes)."""
        if (
            type(x) is np.ndarray
            and x.dtype is self._native_dtype
            and x.shape[1:] == self._item_shape
            and x.shape[0]
        ):
            # Fast path: a batch already in the model's own input type needs at most the range
            # check, inlined from _float32_out_of_range (a call costs ~1% of a 5 us inference).
            if self._feeds_float:
                bits = x.view(_UINT32)
                if bits.item(bits.argmax()) > _FLOAT32_ONE_BITS:
                    self._check_floats(x)
        else:
            x = self._to_model_input(x)
            if x.shape[0] == 0:
                return np.empty((0, self._num_classes), dtype=np.float32)
        y = self._run(x)
        if self._dequant_lut is not None:
            # 8-bit output: one table lookup over the raw bytes dequantizes it
            return self._dequant_lut.take(y if self._out_uint8 else y.view(np.uint8))
        if self._dequant_wide is not None:
            scale, zero_point = self._dequant_wide
            return ((y.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)).astype(np.float32)
        return y if self._out_float32 else y.astype(np.float32)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class indices, int64 of shape (N,)."""
        return self.predict_proba(x).argmax(axis=1)

    def _to_model_input(self, x: np.ndarray) -> np.ndarray:
        if type(x) is not np.ndarray:
            x = np.asarray(x)
        if x.shape[1:] != self._item_shape:
            x = self._reshape(x)
        dtype = x.dtype
        if dtype == np.uint8:
            if self._raw_uint8_ok:
                return x
            x = x * self._pixel_scale  # float32, in [0, 1] by construction
        elif dtype.kind == "f":
            if dtype != np.float32:
                x = self._check_floats(x).astype(np.float32)
            elif x.size and _float32_out_of_range(x):
                self._check_floats(x)
        else:
            raise InvalidInputError(
                f"input dtype {dtype} is not supported: expected uint8 raw pixels "
                f"(0..255) or floats in [0, 1]"
            )
        if self._feeds_float:
            return x
        return self._quantize(x)

    @staticmethod
    def _check_floats(x: np.ndarray) -> np.ndarray:
        if x.size:
            lo, hi = x.min(), x.max()
            # NaN fails both comparisons, so one test catches NaN, Inf and range
            if not (lo >= 0.0 and hi <= 1.0):
                raise InvalidInputError(_describe_bad_floats(x))
        return x

    def _reshape(self, x: np.ndarray) -> np.ndarray:
        shape = x.shape
        if shape == self._item_shape:
            return x[np.newaxis]
        if len(shape) == 2 and shape[1] == self._item_size:
            return x.reshape((shape[0], *self._item_shape))
        h_w = ", ".join(map(str, self._item_shape))
        raise InvalidInputError(
            f"input shape {shape} is not supported: expected (N, {h_w}), "
            f"a single ({h_w}) image, or (N, {self._item_size})"
        )

    def _quantize(self, x: np.ndarray) -> np.ndarray:
        """float [0, 1] -> the input's integer type, with its scale and zero point."""
        q = x * self._q_inv_scale
        q += self._q_offset  # shifted so the integer range starts at 0: truncation == rounding
        np.minimum(q, self._q_span, out=q)  # q >= 0.5 already: inputs were checked to be >= 0
        if self._q_min:
            return (q.astype(self._q_wide) + self._q_wide.type(self._q_min)).astype(self._in_dtype)
        return q.astype(self._in_dtype)


def _float32_out_of_range(x: np.ndarray) -> bool:
    """True if a non-empty float32 array may hold values outside [0, 1], NaN or Inf.

    -0.0 also answers True; ``Model._check_floats`` then accepts it.
    """
    bits = x.view(_UINT32)
    return bits.item(bits.argmax()) > _FLOAT32_ONE_BITS


def _dequant_table(dtype: np.dtype, quant: tuple[float, int] | None) -> np.ndarray | None:
    """float32 value of each of the 256 byte patterns of an 8-bit quantized output."""
    if quant is None or dtype not in (np.uint8, np.int8):
        return None
    scale, zero_point = quant
    values = np.arange(256, dtype=np.uint8).view(dtype).astype(np.float32)
    return ((values - np.float32(zero_point)) * np.float32(scale)).astype(np.float32)


def _describe_bad_floats(x: np.ndarray) -> str:
    n_nan = int(np.isnan(x).sum())
    n_inf = int(np.isinf(x).sum())
    if n_nan or n_inf:
        return (
            f"input holds {n_nan} NaN and {n_inf} Inf values: expected finite floats in [0, 1] "
            f"(or uint8 raw pixels)"
        )
    return (
        f"float input ranges over [{float(x.min()):g}, {float(x.max()):g}]: expected floats in "
        f"[0, 1] (scale raw pixels by the pixel scale first, or pass them as uint8)"
    )


def load(
    path: str | os.PathLike,
    *,
    backend: str | None = None,
    num_threads: int | None = None,
) -> Model:
    """Load an edgeport artifact (``.onnx`` or ``.tflite``) for inference.

    The backend follows the file suffix; ``backend`` may name it explicitly
    (one of ``BACKENDS``) but must agree with the suffix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIX_BACKENDS:
        raise ModelFileError(
            f"{path}: unknown model suffix {suffix or '(none)'!r}: expected one of "
            f"{sorted(SUFFIX_BACKENDS)}"
        )
    expected = SUFFIX_BACKENDS[suffix]
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"Unrecognized backend={backend!r}. Supported backends are: {list(BACKENDS)}")
    if backend is not None and backend != expected:
        raise ValueError(f"{path}: backend={backend!r} cannot run a {suffix} file (expected {expected!r})")
    bad_threads = isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1
    if num_threads is not None and bad_threads:
        raise ValueError(f"num_threads must be a positive int or None, got {num_threads!r}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file not found")
    if expected == "onnxruntime":
        from ._onnx import OnnxBackend as Backend
    else:
        from ._litert import LiteRTBackend as Backend
    engine = Backend(str(path), num_threads=num_threads)
    if engine.metadata_json is None:
        raise ModelFileError(
            f"{path}: has no edgeport metadata (expected an artifact written by `python -m export`)"
        )
    metadata = ModelMetadata.from_json(engine.metadata_json, source=str(path))
    return Model(path, engine, metadata)
