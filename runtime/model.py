"""``load(path) -> Model``: prepare once, predict many times."""
from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ._dispatch import Dispatcher, default_max_batch
from .contract import (  # noqa: F401  (re-exported: existing imports keep working)
    BACKENDS,
    SUFFIX_BACKENDS,
    _FLOAT32,
    _UINT8,
    _UINT32,
    _accepted_shapes,
    _check_load_args,
    _dequant_table,
    _describe_bad_floats,
    _dims,
    _g,
    quantizer_constants,
    takes_raw_uint8,
)
from .errors import InferenceError, InvalidInputError, ModelFileError, TaskError
from .files import NOT_FOUND, file_problem
from .integrity import SEAL_FIELD, check_metadata_seal, read_model_bytes, verify_integrity
from .metadata import ModelMetadata


_ZERO32 = np.float32(0.0)  # float32 bounds: ndarray.clip with them is ~2x as fast as np.clip with ints


class Model:
    """A loaded artifact. ``predict_proba``/``predict`` are thread-safe.

    Input contract, from the artifact's metadata: a pixel model (``pixel_scale`` set)
    takes uint8 raw pixels, scaled by ``pixel_scale``, or floats in
    [0, 255 * pixel_scale]; a feature model takes any finite numbers. Shapes
    (N, *input_shape), one sample (*input_shape), (N, prod(input_shape)) and, for a
    trailing channel of 1, the same without it, are accepted. Quantized artifacts are
    fed and read transparently: outputs are always float32.

    ``task`` decides the outputs: ``classification`` gives (N, C) probabilities;
    ``binary`` gives (N, 2) as [1 - p, p] and 0/1 labels; ``regression`` gives the
    (N, k) values from ``predict`` and refuses ``predict_proba``.
    """

    def __init__(self, path: Path, backend: Any, metadata: ModelMetadata) -> None:
        self.path = path
        self.metadata = metadata
        self.class_names: tuple[str, ...] = metadata.class_names
        self._backend = backend
        self._run = backend.run
        self._task = metadata.task
        self._item_shape = metadata.input_shape
        self._item_size = int(np.prod(metadata.input_shape))
        self._shapes = _accepted_shapes(metadata.input_shape)
        self._pixels = metadata.takes_pixels
        self._pixel_scale = np.float32(metadata.pixel_scale or 1.0)
        # Upper bound of float pixel inputs: 255 raw levels times the scale (1.0 for 1/255).
        self._float_max = np.float32(255.0) * self._pixel_scale
        self._float_max_bits = int(np.array(self._float_max, np.float32).view(_UINT32))
        self._num_outputs = metadata.num_outputs
        self._in_dtype = backend.input_dtype
        self._in_quant = backend.input_quant
        # Everything the per-call path needs is decided here, once.
        self._feeds_float = self._in_dtype == np.float32
        self._raw_uint8_ok = self._pixels and takes_raw_uint8(
            self._in_dtype, self._in_quant, metadata.pixel_scale
        )
        # a model from elsewhere with an integer input: its own codes go in as they are
        self._raw_input = metadata.takes_raw_input and not self._pixels and self._in_dtype.kind in "iu"
        self._native_dtype = (
            _UINT8 if self._raw_uint8_ok else _FLOAT32 if self._feeds_float else self._in_dtype if self._raw_input
            else None
        )
        # the value check every float32 input needs, whatever the model then makes of it
        self._flagged = self._make_float_check()
        self._binary = self._task == "binary"
        self._regression = self._task == "regression"
        # batches of up to _direct_rows rows go straight to one engine instance's run
        self._direct_rows = backend.direct_rows
        self._direct_run = backend.direct_run
        self._outputs = self._make_outputs()
        self._pixel_codes = None
        if not self._feeds_float:
            (self._q_inv_scale, self._q_offset, self._q_span, self._q_unsigned,
             self._q_flip) = quantizer_constants(self._in_dtype, self._in_quant)
            if self._pixels and not self._raw_uint8_ok:
                # uint8 pixels to the input's codes, one lookup per call: the very float32
                # arithmetic of the general path (scale, then quantize), done once for all 256 values
                levels = np.arange(256, dtype=np.uint8).reshape(1, 256)
                self._pixel_codes = self._quantize(levels * self._pixel_scale).reshape(256)

    @property
    def task(self) -> str:
        """``classification``, ``binary`` or ``regression`` (from the metadata)."""
        return self._task

    @property
    def backend(self) -> str:
        """Name of the inference engine: "onnxruntime" or "litert"."""
        return self._backend.name

    @property
    def max_batch(self) -> int:
        """Rows per engine call: bigger inputs are run in chunks of this size, in order."""
        return self._backend.max_batch

    def __reduce__(self):
        # Pickled as its file and load settings, and loaded again: spawn-based process
        # pools can send a Model to their workers.
        return (_unpickle, (str(self.path), dict(getattr(self, "_load_args", {}))))

    @property
    def thread_settings(self) -> dict[str, Any]:
        """The thread settings the engine was created with."""
        return dict(self._backend.thread_settings)

    def threads_for(self, rows: int) -> int:
        """Threads of the engine instance a batch of ``rows`` rows runs on now: with default
        ``num_threads`` this follows the batch size and which instance has been faster lately."""
        return self._backend.threads_for(rows)

    @property
    def io_names(self) -> tuple[str, str]:
        """The artifact's (input, output) tensor names."""
        return self._backend.io_names

    @property
    def engine_session(self) -> Any:
        """The engine's own object: the onnxruntime InferenceSession or LiteRT Interpreter
        (of the 1-thread instance). For tools that inspect the engine; predict through the Model."""
        return getattr(self._backend, "session", None) or getattr(self._backend, "interpreter", None)

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
        return (
            f"Model({str(self.path)!r}, backend={self.backend!r}, task={self._task!r}, "
            f"quantization={q.mode!r})"
        )

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, float32 of shape (N, num_classes); binary gives [1 - p, p]."""
        if self._regression:
            raise TaskError(
                f"{self.path.name} is a regression model: predict_proba is for classifiers; "
                f"use predict() for its values"
            )
        y = self._outputs(x)
        if self._binary:
            return np.concatenate([1.0 - y, y], axis=1, dtype=np.float32)
        return y

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class indices, int64 (N,); 0/1 for binary; float32 (N, k) values for regression."""
        y = self._outputs(x)
        if self._regression:
            return y
        if self._binary:
            return (y[:, 0] > 0.5).astype(np.int64)
        return y.argmax(axis=1)

    def engine_input(self, x: np.ndarray) -> np.ndarray:
        """``x`` checked and converted exactly as the engine is fed it (e.g. quantized int8)."""
        x = self._to_model_input(x)
        return x

    def _general_outputs(self, x: np.ndarray) -> np.ndarray:
        """The artifact's output as float32 (N, outputs), for any accepted input."""
        x = self._to_model_input(x)
        rows = x.shape[0]
        if not rows:
            return np.empty((0, self._num_outputs), dtype=np.float32)
        try:
            return self._direct_run(x) if rows <= self._direct_rows else self._run(x)
        except InferenceError:
            raise
        except Exception as e:  # the engines raise RuntimeError and their own unexported types
            raise self._engine_failure(e) from e

    def _engine_failure(self, e: Exception) -> InferenceError:
        return InferenceError(f"{self.path}: {self.backend} failed: {type(e).__name__}: {' '.join(str(e).split())}")

    def _make_float_check(self) -> Callable[[np.ndarray], bool] | None:
        """``flagged(x)`` for a float32 batch: True if it may be out of the input contract. Float
        pixels: one integer scan of the bits for range, NaN and Inf together (see contract._UINT32;
        -0.0 is flagged too, and ``_check_floats`` then accepts it); other floats: finiteness."""
        if self._pixels:
            max_bits = self._float_max_bits

            def flagged(x: np.ndarray) -> bool:
                bits = x.view(_UINT32)
                return bits.item(bits.argmax()) > max_bits

            return flagged
        isfinite = np.isfinite
        return lambda x: not isfinite(x).all()

    def _make_outputs(self) -> Callable[[np.ndarray], np.ndarray]:
        """``_outputs(x)``, the per-call path, with everything known at load bound into it.

        A batch already in the model's own input type and item shape goes to the engine as it
        is, with no copy: to one engine instance, or above ``direct_rows`` to the thread policy
        and chunking. Its value check (``_flagged``, float input only) runs after the engine's
        call, on an input the engine has just read (in cache); a flagged batch never returns its
        output, but takes the general path, which refuses it (or accepts -0.0). Anything else
        takes the general path, which converts or refuses it. At batch 1 every lookup here is ~1% of the inference, hence the closure over
        locals. It holds the Model only weakly (no reference cycle); the Model is alive while called.
        """
        ndarray, native, item, direct_rows, direct_run, run = (
            np.ndarray, self._native_dtype, self._item_shape, self._direct_rows, self._direct_run, self._run
        )
        flagged = self._flagged if native is _FLOAT32 else None  # integer input: no value check
        model = weakref.ref(self)

        def outputs(x: np.ndarray) -> np.ndarray:
            if type(x) is ndarray and x.dtype is native:
                shape = x.shape
                if shape[1:] == item and shape[0]:
                    try:  # straight to one instance, or the thread policy and chunks decide
                        y = direct_run(x) if shape[0] <= direct_rows else run(x)
                    except InferenceError:
                        raise
                    except Exception as e:  # the engines raise RuntimeError and their own types
                        raise model()._engine_failure(e) from e
                    if flagged is None or not flagged(x):
                        return y
            return model()._general_outputs(x)

        return outputs

    def _warm_up(self) -> None:
        """One inference on zeros: surfaces engine-side rejections of the file, pays the first-call cost."""
        x = np.zeros((1, *self._item_shape), dtype=self._in_dtype)
        try:
            y = self._run(x)
        except Exception as e:  # e.g. XNNPACK's RuntimeError "unsupported zero-point value"
            raise ModelFileError(
                f"{self.path}: the {self.backend} engine rejected the model at its first inference "
                f"({type(e).__name__}: {' '.join(str(e).split())[:300]})"
            ) from e
        if np.shape(y) != (1, self._num_outputs):
            raise ModelFileError(
                f"{self.path}: the model's output has shape {np.shape(y)} for one input, expected "
                f"(1, {self._num_outputs}) from its metadata"
            )

    def _to_model_input(self, x: np.ndarray) -> np.ndarray:
        if type(x) is not np.ndarray:
            x = np.asarray(x)
        if x.shape[1:] != self._item_shape:
            x = self._reshape(x)
        dtype = x.dtype
        if dtype == np.uint8 and self._pixels:
            if self._raw_uint8_ok:
                return x
            if self._pixel_codes is not None:  # a quantized input: its codes by table
                return self._pixel_codes.take(x)
            x = x * self._pixel_scale  # float32, in range by construction
        elif self._raw_input and dtype.kind in "iu":
            if dtype != self._in_dtype:
                raise InvalidInputError(f"input dtype {dtype} is not supported: expected {self._expected_input()}")
            return x
        elif dtype.kind == "f" or (dtype.kind in "iu" and not self._pixels):
            if dtype != np.float32:
                x = self._check_floats(x).astype(np.float32)
            elif x.size and self._flagged(x):
                self._check_floats(x)
        else:
            raise InvalidInputError(f"input dtype {dtype} is not supported: expected {self._expected_input()}")
        if self._feeds_float:
            return x
        return self._quantize(x)

    def _expected_input(self) -> str:
        if self._pixels:
            return f"uint8 raw pixels (0..255) or floats in [0, {_g(self._float_max)}]"
        if self._raw_input:
            scale, zero_point = self._in_quant or (1.0, 0)
            return (f"{self._in_dtype} (the input's own quantized values) or finite floats (quantized with "
                    f"scale {_g(scale)}, zero point {zero_point})")
        return "finite numbers (float or integer)"

    def _check_floats(self, x: np.ndarray) -> np.ndarray:
        if not x.size:
            return x
        if self._pixels:
            lo, hi = x.min(), x.max()
            # NaN fails both comparisons, so one test catches NaN, Inf and range
            if not (lo >= 0.0 and hi <= self._float_max):
                raise InvalidInputError(_describe_bad_floats(x, self._float_max))
        elif not np.isfinite(x).all():
            raise InvalidInputError(_describe_bad_floats(x, None))
        return x

    def _reshape(self, x: np.ndarray) -> np.ndarray:
        shape = x.shape
        for form in self._shapes:
            if shape == form:  # one sample
                return x.reshape((1, *self._item_shape))
            if len(shape) == len(form) + 1 and shape[1:] == form:
                return x.reshape((shape[0], *self._item_shape))
        raise InvalidInputError(
            f"input shape {shape} is not supported: expected "
            + ", ".join(f"(N, {_dims(f)})" for f in self._shapes)
            + f", or one sample ({_dims(self._item_shape)})"
        )

    def _quantize(self, x: np.ndarray) -> np.ndarray:
        """float -> the input's integer type, with its scale and zero point (saturating)."""
        q = x * self._q_inv_scale
        q += self._q_offset
        q.clip(_ZERO32, self._q_span, out=q)  # after the shift, truncation == round half up
        codes = q.astype(self._q_unsigned)
        if self._q_flip:  # offset binary -> two's complement (see quantizer_constants)
            codes ^= self._q_flip
        return codes.view(self._in_dtype)


def _unpickle(path: str, load_args: dict[str, Any]) -> Model:
    return load(path, **load_args)


def load(
    path: str | os.PathLike,
    *,
    backend: str | None = None,
    num_threads: int | None = None,
    max_batch: int | None = None,
    trusted_keys: Sequence[str | os.PathLike | bytes] | None = None,
) -> Model:
    """Load an edgeport artifact (``.onnx`` or ``.tflite``) for inference.

    The backend follows the file suffix; ``backend`` may name it explicitly
    (one of ``BACKENDS``) but must agree with the suffix. ``num_threads=None``
    picks threads per batch size (1 thread for small batches, all cores for
    large ones); an int fixes it. Inputs above ``max_batch`` rows (default: from
    the input size, see ``runtime._dispatch``) run in chunks of that many rows.
    The file is read once and its integrity seal checked before an engine sees it.
    ``trusted_keys`` (Ed25519 public-key PEM files) require a signature by one of
    them (UntrustedModelError).
    """
    path = Path(path)
    expected = _check_load_args(path, backend, num_threads, max_batch)
    suffix = path.suffix.lower()
    problem = file_problem(path)
    if problem == NOT_FOUND:
        raise FileNotFoundError(f"{path}: model file not found")
    if problem is not None:
        raise ModelFileError(f"{path}: {problem}: expected a model file")
    trusted = None
    if trusted_keys is not None:
        from .signing import load_trusted_keys, verify_signature

        trusted = load_trusted_keys(trusted_keys)
    data = read_model_bytes(path, suffix)
    seal = verify_integrity(data, path)
    if trusted is not None:
        verify_signature(data, seal, trusted, path)
    if expected == "onnxruntime":
        from ._onnx import OnnxBackend as Backend
    else:
        from ._litert import LiteRTBackend as Backend
    engine = Dispatcher(
        lambda threads: Backend(str(path), num_threads=threads, data=data),
        num_threads=num_threads,
        max_batch=max_batch or 1,  # replaced below, once the input size is known
    )
    if engine.metadata_json is None:
        from .inferred import metadata_from_graph

        metadata = metadata_from_graph(path, suffix, data, engine, seal)
    else:
        metadata = ModelMetadata.from_json(engine.metadata_json, source=str(path))
        check_metadata_seal(seal, metadata.extra.get(SEAL_FIELD), path)
    metadata.check_against(engine.item_shape, engine.output_width, str(path))
    engine.max_batch = max_batch or default_max_batch(int(np.prod(metadata.input_shape)))
    model = Model(path, engine, metadata)
    model._load_args = {
        "backend": backend, "num_threads": num_threads, "max_batch": max_batch, "trusted_keys": trusted_keys,
    }
    model._warm_up()
    return model

