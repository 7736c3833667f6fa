"""onnxruntime backend."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .contract import output_decoder
from .errors import BackendUnavailableError, ModelFileError, first_line
from .metadata import METADATA_KEY


def _import_onnxruntime():
    try:
        import onnxruntime
    except ImportError as e:
        raise BackendUnavailableError(
            "running .onnx models needs onnxruntime: pip install 'edgeport[runtime]' "
            "(or pip install onnxruntime)"
        ) from e
    return onnxruntime


SPINNING_KEY = "session.intra_op.allow_spinning"


def session_options(num_threads: int | None = None):
    """The onnxruntime SessionOptions every edgeport session uses (runtime, benchmarks, export).

    Explicit thread settings: the default intra-op pool spins, burning a core while idle; here
    it never spins, the inter-op pool is one thread and execution is sequential.
    """
    ort = _import_onnxruntime()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = num_threads or 0
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.add_session_config_entry(SPINNING_KEY, "0")
    opts.log_severity_level = 3
    return opts


class OnnxBackend:
    """One onnxruntime InferenceSession; ``session.run`` is thread-safe."""

    name = "onnxruntime"

    def __init__(self, path: str, num_threads: int | None = None, *, data: bytes | None = None) -> None:
        """``data``: the file's bytes, already read and verified by ``load`` (else read from ``path``)."""
        ort = _import_onnxruntime()
        opts = session_options(num_threads)
        try:
            self.session = ort.InferenceSession(
                path if data is None else data, sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime raises its own, unexported exception types
            raise ModelFileError(
                f"{path}: not a loadable ONNX model ({type(e).__name__}: {first_line(e)})"
            ) from e
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelFileError(
                f"{path}: expected 1 input and 1 output, got {len(inputs)} and {len(outputs)}"
            )
        self.input_name = inputs[0].name
        self.output_names = [outputs[0].name]
        self.io_names = (inputs[0].name, outputs[0].name)
        self.input_dtype = np.dtype(_ORT_TYPES.get(inputs[0].type, np.float32))
        self.input_quant = None  # onnxruntime quantization keeps float I/O
        self.output_quant = None
        self.output_dtype = np.dtype(_ORT_TYPES.get(outputs[0].type, np.float32))
        self.item_shape = tuple(d if isinstance(d, int) else 0 for d in inputs[0].shape[1:])
        out_dims = outputs[0].shape
        self.output_width = out_dims[-1] if len(out_dims) == 2 and isinstance(out_dims[-1], int) else None
        self.metadata_json = self.session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
        self.thread_settings = {
            "intra_op_num_threads": num_threads or "default (physical cores)",
            "inter_op_num_threads": 1,
            "execution_mode": "sequential",
            "allow_spinning": False,
        }

        self._decode = output_decoder(self.output_dtype, None, fresh=True)
        # run(x): the per-call path, bound here once (see _make_run)
        self.run = self._make_run()

    def _make_run(self) -> Callable[[np.ndarray], np.ndarray]:
        """``run(x)``: the model's output for ``x`` as float32 (onnxruntime quantization keeps float I/O).

        A closure over locals rather than a method: a frame and the attribute lookups fewer on
        a ~12-25 us call. ``InferenceSession.run`` re-validates the feed's names and value types
        in Python on every call (1-3 us at batch 1, measured: docs/benchmarks.md); the names
        are fixed here, so the C++ session underneath is called directly when this onnxruntime
        build has it (thread-safe, as ``run``), else the public method.
        """
        native = getattr(self.session, "_sess", None)
        if native is not None and callable(getattr(native, "run", None)):
            session_run = native.run
        else:  # another onnxruntime build: the public method
            session_run = self.session.run
        output_names, input_name, decode = self.output_names, self.input_name, self._decode
        if decode is None:
            return lambda x: session_run(output_names, {input_name: x}, None)[0]

        def run(x: np.ndarray) -> np.ndarray:
            return decode(session_run(output_names, {input_name: x}, None)[0])

        return run


_ORT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
    "tensor(int16)": np.int16,
    "tensor(uint16)": np.uint16,
}
