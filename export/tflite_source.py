"""A ``.tflite`` given to ``--model``: taken as it is.

- Its mode is its own (``runtime.inferred.graph_facts``): a float, float16, dynamic, int8 or
  int16x8 graph is never re-quantized.
- Its input contract is the one ``runtime`` gives it: its own edgeport metadata if it has some,
  else the contract inferred from the graph (an integer input takes its own codes, or floats
  quantized with its scale and zero point).
- The reference is the tflite-micro interpreter for integer models (TFLite Micro's bytes, which
  the generated C must equal) and LiteRT for float ones, both run on the file itself.
- ``--format tflite`` writes a copy with edgeport's metadata and seal (``write_tflite_copy``), so
  ``runtime`` loads it under the same contract.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import runtime
from runtime.inferred import INFERRED_FIELD, GraphFacts, graph_facts
from runtime.metadata import RAW_INPUT_FIELD, ModelMetadata

from .data import RANDOM_SAMPLES, Dataset, contract_inputs
from .errors import ExportError, ModelLoadError
from .seal import seal_artifact

INTEGER_MODES = ("int8", "int16x8")  # run by the tflite-micro interpreter for reference


@dataclass(frozen=True, eq=False)
class TfliteSource:
    """A .tflite file with its graph facts and the runtime's view of its input."""

    path: Path
    data: bytes
    facts: GraphFacts
    contract: runtime.Model  # the file loaded by runtime: input shape, dtype, quantization, task

    @property
    def mode(self) -> str:
        return self.facts.mode

    @property
    def item_shape(self) -> tuple[int, ...]:
        return self.contract.metadata.input_shape

    @property
    def outputs(self) -> int:
        return self.contract.metadata.num_outputs

    @property
    def input_dtype(self) -> np.dtype:
        return np.dtype(self.contract.input_details["dtype"])

    @property
    def own_metadata(self) -> ModelMetadata | None:
        """The file's edgeport metadata, if it was written by edgeport (else None)."""
        meta = self.contract.metadata
        return None if meta.extra.get(INFERRED_FIELD) else meta

    def reference_outputs(self, x: np.ndarray) -> np.ndarray:
        """(N, outputs) float32: tflite-micro's (integer graphs, dequantized) or LiteRT's outputs on ``x``,
        given as users feed the model (converted to the input's type by ``runtime``)."""
        native = self.contract.engine_input(x)
        raw = _tflm_outputs(self.path, native) if self.mode in INTEGER_MODES else _litert_outputs(self.data, native)
        return _dequantize(raw.reshape(len(native), -1), self.contract.engine_session.get_output_details()[0])


def open_tflite(path: Path) -> TfliteSource:
    """Read ``path`` and describe it; ModelLoadError if runtime cannot run it or it has custom ops."""
    try:
        data = path.read_bytes()
        facts = graph_facts(data, str(path))
        contract = runtime.load(path, num_threads=1)
    except (OSError, runtime.ModelFileError, runtime.BackendUnavailableError) as e:
        raise ModelLoadError(f"{path}: cannot run the .tflite ({' '.join(str(e).split())})") from e
    if facts.custom_ops:
        raise ModelLoadError(f"{path}: uses custom ops {sorted(set(facts.custom_ops))}: only builtin ops are supported")
    return TfliteSource(path, data, facts, contract)


def tflite_mode(path: Path) -> str:
    """The mode of the .tflite at ``path``, read from its graph alone (no interpreter); ModelLoadError if unreadable."""
    try:
        return graph_facts(Path(path).read_bytes(), str(path)).mode
    except (OSError, runtime.ModelFileError, runtime.BackendUnavailableError) as e:
        raise ModelLoadError(f"{path}: cannot read the .tflite ({' '.join(str(e).split())})") from e


def random_tflite_inputs(src: TfliteSource, seed: int, n: int = RANDOM_SAMPLES) -> Dataset:
    """``n`` random inputs from the .tflite's input domain (``export.data.contract_inputs``)."""
    x, what = contract_inputs(src.contract, n, seed)
    return Dataset(source=f"random ({n} inputs, {what})", x_test=x, synthetic=True)


def tflite_io_metadata(src: TfliteSource) -> dict:
    """The metadata entries that describe the file's own input and output quantization."""
    details = src.contract.engine_session
    (inp,), (out,) = details.get_input_details(), details.get_output_details()
    extra: dict = {RAW_INPUT_FIELD: src.contract.metadata.takes_raw_input}  # the contract it was run under
    for key, d in (("input_quantization", inp), ("output_quantization", out)):
        scale, zero_point = d["quantization"]
        if scale:
            extra[key] = {"scale": float(scale), "zero_point": int(zero_point)}
    return extra


def write_tflite_copy(src: TfliteSource, path: str | os.PathLike, metadata: ModelMetadata) -> Path:
    """Write the .tflite's graph unchanged with ``metadata`` embedded, then seal it."""
    from .metadata import embed_tflite

    path = Path(path)
    path.write_bytes(embed_tflite(src.data, metadata))
    seal_artifact(path)
    return path


def _tflm_outputs(path: Path, x: np.ndarray) -> np.ndarray:
    try:
        from tflite_micro.python.tflite_micro import runtime as tflm
    except ImportError as e:
        from .tflm import INSTALL_HINT

        raise ExportError(f"the reference of an integer .tflite is TFLite Micro: {INSTALL_HINT}") from e

    interp = tflm.Interpreter.from_file(str(path))
    outs = []
    for row in x:
        interp.set_input(row[None], 0)
        interp.invoke()
        outs.append(np.array(interp.get_output(0)).reshape(-1))
    return np.stack(outs) if outs else np.empty((0, 0))


def _litert_outputs(data: bytes, x: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=data, num_threads=1)
    (inp,), (out,) = interp.get_input_details(), interp.get_output_details()
    interp.resize_tensor_input(inp["index"], [1, *x.shape[1:]])
    interp.allocate_tensors()
    outs = []
    for row in x:
        interp.set_tensor(inp["index"], row[None])
        interp.invoke()
        outs.append(interp.get_tensor(out["index"]).reshape(-1).copy())
    return np.stack(outs) if outs else np.empty((0, 0))


def _dequantize(y: np.ndarray, detail: dict) -> np.ndarray:
    """Integer outputs to float32 as the runtime does: (q - zero_point) * scale."""
    scale, zero_point = detail["quantization"]
    if y.dtype.kind in "iu" and scale:
        return ((y.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)).astype(np.float32)
    return y.astype(np.float32)
