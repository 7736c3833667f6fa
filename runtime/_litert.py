"""LiteRT (TFLite) backend, with a fallback to tflite_runtime."""
from __future__ import annotations

import threading
import weakref
from typing import Callable

import numpy as np

from .contract import output_decoder
from .errors import BackendUnavailableError, InferenceError, ModelFileError
from .metadata import METADATA_KEY

_HINT = "running .tflite models needs LiteRT: pip install 'edgeport[runtime]' (or pip install ai-edge-litert)"


def _import_interpreter():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError as e:
            raise BackendUnavailableError(_HINT) from e
    return Interpreter


def read_tflite_metadata(data: bytes, path: str) -> dict[str, bytes]:
    """Return the flatbuffer's ``metadata`` entries as {name: bytes}, without TensorFlow."""
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError as e:
        raise BackendUnavailableError(
            f"reading TFLite metadata needs the flatbuffer schema from ai-edge-litert: {_HINT}"
        ) from e
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelFileError(
            f"{path}: not a TFLite flatbuffer (expected file identifier 'TFL3' at bytes 4-8, "
            f"got {data[4:8]!r})"
        )
    try:
        model = schema.Model.GetRootAs(data, 0)
        entries = {}
        for i in range(model.MetadataLength()):
            entry = model.Metadata(i)
            buffer = model.Buffers(entry.Buffer())
            entries[entry.Name().decode()] = buffer.DataAsNumpy().tobytes() if buffer.DataLength() else b""
        return entries
    except Exception as e:  # a corrupt flatbuffer raises struct/index/unicode errors
        raise ModelFileError(f"{path}: corrupt TFLite flatbuffer ({type(e).__name__}: {e})") from e


class LiteRTBackend:
    """One LiteRT interpreter, guarded by a lock: an interpreter is not thread-safe.

    ``run(x)`` returns the output as float32 (dequantized when the output is quantized).
    """

    name = "litert"

    def __init__(self, path: str, num_threads: int | None = None, *, data: bytes | None = None) -> None:
        """``data``: the file's bytes, already read and verified by ``load`` (else read from ``path``)."""
        Interpreter = _import_interpreter()
        if data is None:
            with open(path, "rb") as f:
                data = f.read()
        self.metadata_json = read_tflite_metadata(data, path).get(METADATA_KEY)
        try:
            self.interpreter = Interpreter(model_content=data, num_threads=num_threads)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            raise ModelFileError(f"{path}: not a loadable TFLite model ({e})") from e
        inputs = self.interpreter.get_input_details()
        outputs = self.interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelFileError(
                f"{path}: expected 1 input and 1 output, got {len(inputs)} and {len(outputs)}"
            )
        signature = next(iter(self.interpreter.get_signature_list().values()), None)
        if signature and len(signature["inputs"]) == 1 and len(signature["outputs"]) == 1:
            self.io_names = (signature["inputs"][0], signature["outputs"][0])
        else:
            self.io_names = (inputs[0]["name"], outputs[0]["name"])
        self._in = inputs[0]["index"]
        self._out = outputs[0]["index"]
        self._rows = [int(inputs[0]["shape"][0])]
        # A graph built for a fixed batch (e.g. 1, as most published MCU models) cannot be
        # resized: bigger batches run through it in slices of that many rows.
        signature = inputs[0].get("shape_signature")
        fixed = signature is not None and len(signature) and int(signature[0]) > 0
        self.fixed_batch = self._rows[0] if fixed else None
        self._item_shape = tuple(int(d) for d in inputs[0]["shape"][1:])
        self.item_shape = self._item_shape
        out_shape = outputs[0]["shape"]
        self.output_shape = tuple(int(d) for d in out_shape)
        self.output_width = int(out_shape[-1]) if len(out_shape) == 2 else None
        self.input_dtype = np.dtype(inputs[0]["dtype"])
        self.input_quant = _quant(inputs[0])
        self.output_quant = _quant(outputs[0])
        self.output_dtype = np.dtype(outputs[0]["dtype"])
        self._lock = threading.Lock()
        self.thread_settings = {"num_threads": num_threads or "default", "delegate": "XNNPACK (default CPU)"}
        # float32 from the output tensor, decided once (8-bit: a 256-entry table); GetTensor
        # returns a copy of its own, so a float32 output needs nothing (None)
        self._decode = output_decoder(self.output_dtype, self.output_quant, fresh=True)
        # The public set_tensor/invoke/get_tensor/resize_tensor_input are thin Python shims
        # over the C++ wrapper, and several re-check (by reference count) that no numpy view
        # into the arena is alive; this class never hands one out. Calling the wrapper
        # directly, and only it after this point, saves ~0.5 us of a ~5 us int8 call.
        # (Views into the arena would save another ~0.5 us, but LiteRT moves the input and
        # output tensors on the first invoke after an allocation: a held view would point
        # into freed memory.)
        native = getattr(self.interpreter, "_interpreter", None)
        methods = ("SetTensor", "Invoke", "GetTensor", "ResizeInputTensor", "AllocateTensors")
        if native is not None and all(hasattr(native, m) for m in methods):
            self._set, self._invoke, self._get = native.SetTensor, native.Invoke, native.GetTensor
            self._resize_input = lambda i, shape: native.ResizeInputTensor(i, np.array(shape, np.int32), True)
            self._allocate = native.AllocateTensors
        else:  # e.g. an older tflite_runtime: the public API only
            it = self.interpreter
            self._set, self._invoke, self._get = it.set_tensor, it.invoke, it.get_tensor
            self._resize_input = lambda i, shape: it.resize_tensor_input(i, shape, strict=True)
            self._allocate = it.allocate_tensors

        # run(x): the per-call path, with everything it touches bound here, once
        self.run = self._make_run()

    def _make_run(self) -> Callable[[np.ndarray], np.ndarray]:
        """``run(x)``: the model's output for ``x`` (the input's dtype and item shape) as new float32.

        A closure over locals rather than a method: at batch 1 every attribute lookup and frame
        is a measurable part of a ~10 us call. It holds the backend only weakly (no cycle); the
        rare paths (a new batch size, a fixed-batch graph) go through the backend's methods.
        """
        acquire, release = self._lock.acquire, self._lock.release
        set_tensor, invoke, get_tensor = self._set, self._invoke, self._get
        in_index, out_index, decode = self._in, self._out, self._decode
        rows_now = self._rows  # [rows the input tensor holds now], updated by _resize
        backend = weakref.ref(self)

        def run(x: np.ndarray) -> np.ndarray:
            acquire()
            try:
                if x.shape[0] != rows_now[0]:  # resize and re-allocate only when the batch changes
                    y = backend()._run_other_batch(x)
                else:
                    set_tensor(in_index, x)
                    invoke()
                    y = get_tensor(out_index, 0)
            except RuntimeError as e:
                if isinstance(e, InferenceError):
                    raise
                raise InferenceError(f"LiteRT failed on a batch of {x.shape[0]} rows ({e})") from e
            finally:
                release()
            return y if decode is None else decode(y)

        return run

    @property
    def _batch(self) -> int:
        """Rows the input tensor holds now."""
        return self._rows[0]

    def _run_other_batch(self, x: np.ndarray) -> np.ndarray:
        """The raw output for a batch of another size than the input tensor's (lock held)."""
        if self.fixed_batch is not None:
            return self._run_fixed(x)
        self._resize(x.shape[0])
        self._set(self._in, x)
        self._invoke()
        return self._get(self._out, 0)

    def _run_fixed(self, x: np.ndarray) -> np.ndarray:
        """Run ``x`` through a fixed-batch graph, ``fixed_batch`` rows at a time (the last slice padded)."""
        step = self.fixed_batch
        outs = []
        for start in range(0, x.shape[0], step):
            part = x[start : start + step]
            rows = part.shape[0]
            if rows < step:
                part = np.concatenate([part, np.zeros((step - rows, *part.shape[1:]), part.dtype)])
            self._set(self._in, np.ascontiguousarray(part))
            self._invoke()
            outs.append(self._get(self._out, 0)[:rows])
        return np.concatenate(outs) if outs else np.empty((0, *self._get(self._out, 0).shape[1:]), self.output_dtype)

    def _resize(self, rows: int) -> None:
        """Resize the input to ``rows`` rows; on failure leave a usable interpreter and raise."""
        try:
            self._resize_input(self._in, (rows, *self._item_shape))
            self._allocate()
        except (RuntimeError, ValueError, MemoryError) as e:
            previous, self._rows[0] = self._rows[0], -1  # -1: the next call resizes again
            try:
                self._resize_input(self._in, (max(previous, 1), *self._item_shape))
                self._allocate()
                self._rows[0] = max(previous, 1)
            except (RuntimeError, ValueError, MemoryError):
                pass
            detail = str(e).strip().splitlines()[0] if str(e).strip() else "no message from LiteRT"
            raise InferenceError(
                f"LiteRT could not prepare a batch of {rows} rows of {self._item_shape} "
                f"({type(e).__name__}: {detail}; out of memory?); the model is still usable: "
                f"pass smaller batches"
            ) from e
        self._rows[0] = rows


def _quant(detail: dict) -> tuple[float, int] | None:
    scale, zero_point = detail["quantization"]
    return (float(scale), int(zero_point)) if scale else None
