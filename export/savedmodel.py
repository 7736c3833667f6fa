"""A TensorFlow SavedModel folder as a source: loaded, run and converted through its serving signature.

TF 1's loader is used (``tf.compat.v1.saved_model.loader.load``, tag ``serve``): it also opens
SavedModels that TF 2's loader refuses, such as MLPerf Tiny's ``kws_ref_model`` (saved with its
optimizer's slot variables). The ``serving_default`` signature must map one input of fixed item
shape to one (batch, k) output. Conversions use TF's own converters on the same graph:

- TFLite: ``tf.compat.v1.lite.TFLiteConverter.from_saved_model``;
- ONNX: tf2onnx from the graph frozen at the signature's output.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelLoadError

logger = logging.getLogger(__name__)

SIGNATURE = "serving_default"
TAGS = ("serve",)
BATCH_ROWS = 256
# TF op types that end a model in a known activation; any other op is "linear"
_ACTIVATION_OPS = {"Softmax": "softmax", "Sigmoid": "sigmoid"}
_PASS_THROUGH_OPS = ("Identity", "IdentityN")
_CALL_OPS = ("StatefulPartitionedCall", "PartitionedCall")


@dataclass(eq=False)
class SavedModelGraph:
    """One loaded SavedModel: its session, signature tensors and facts."""

    path: Path
    session: Any
    input_name: str  # e.g. "serving_default_input_1:0"
    output_name: str  # e.g. "StatefulPartitionedCall:0"
    item_shape: tuple[int, ...]
    outputs: int
    activation: str
    _frozen: Any = field(default=None, repr=False)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The signature's outputs on float32 inputs ``x`` (N, *item_shape), as (N, outputs) float32."""
        x = np.asarray(x, dtype=np.float32)
        parts = [
            self.session.run(self.output_name, {self.input_name: x[i : i + BATCH_ROWS]})
            for i in range(0, len(x), BATCH_ROWS)
        ]
        y = np.concatenate(parts) if parts else np.empty((0, self.outputs), np.float32)
        return np.asarray(y, dtype=np.float32).reshape(len(x), self.outputs)

    def frozen_graph_def(self):
        """The graph with its variables folded into constants, cut at the signature's output."""
        if self._frozen is None:
            import tensorflow as tf

            v1 = tf.compat.v1
            node = self.output_name.split(":")[0]
            frozen = v1.graph_util.convert_variables_to_constants(self.session, self.session.graph.as_graph_def(), [node])
            self._frozen = v1.graph_util.extract_sub_graph(frozen, [node])
        return self._frozen


def load_saved_model(path: Path) -> SavedModelGraph:
    """Load ``path`` with TF 1's loader and read its serving signature; ModelLoadError if it does not fit."""
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    session = v1.Session(graph=graph)
    try:
        with graph.as_default():
            meta_graph = v1.saved_model.loader.load(session, list(TAGS), str(path))
    except Exception as e:  # TF raises RuntimeError, ValueError, its own OpError types
        session.close()
        raise ModelLoadError(f"{path}: cannot load the SavedModel with tags {list(TAGS)} ({type(e).__name__}: "
                             f"{_first_line(e)})") from e
    signatures = meta_graph.signature_def
    if SIGNATURE not in signatures:
        session.close()
        raise ModelLoadError(f"{path}: the SavedModel has no {SIGNATURE!r} signature (it has {sorted(signatures)})")
    sig = signatures[SIGNATURE]
    if len(sig.inputs) != 1 or len(sig.outputs) != 1:
        session.close()
        raise ModelLoadError(
            f"{path}: the {SIGNATURE!r} signature has {len(sig.inputs)} inputs and {len(sig.outputs)} outputs: "
            f"edgeport exports single-input, single-output models"
        )
    (inp,), (out,) = sig.inputs.values(), sig.outputs.values()
    in_dims = [d.size for d in inp.tensor_shape.dim]
    out_dims = [d.size for d in out.tensor_shape.dim]
    if len(in_dims) < 2 or any(d < 1 for d in in_dims[1:]) or inp.dtype != tf.float32.as_datatype_enum:
        session.close()
        raise ModelLoadError(f"{path}: the signature's input is {tf.as_dtype(inp.dtype).name} {in_dims}: "
                             f"expected float32 (batch, fixed sizes...)")
    if len(out_dims) != 2 or out_dims[1] < 1:
        session.close()
        raise ModelLoadError(f"{path}: the signature's output shape {out_dims} must be (batch, k)")
    activation = output_activation(graph.as_graph_def(), out.name)
    return SavedModelGraph(
        path=path, session=session, input_name=inp.name, output_name=out.name,
        item_shape=tuple(in_dims[1:]), outputs=out_dims[1], activation=activation,
    )


def output_activation(graph_def, tensor_name: str) -> str:
    """The op type that produces ``tensor_name``, followed through Identity ops and function calls."""
    functions = {f.signature.name: f for f in graph_def.library.function}
    nodes = {n.name: n for n in graph_def.node}
    split = _split  # graph tensors are "node:port"; inside a function, "node:output_arg:index"
    name, port = split(tensor_name)
    for _ in range(10_000):  # a bound on the walk, far above any real graph's depth
        node = nodes.get(name)
        if node is None:  # a function's input argument, or a name this walk cannot follow
            return "linear"
        if node.op in _PASS_THROUGH_OPS:
            name, port = split(node.input[port if node.op == "IdentityN" else 0])
        elif node.op in _CALL_OPS and node.attr["f"].func.name in functions:
            function = functions[node.attr["f"].func.name]
            out_arg = function.signature.output_arg[port].name
            nodes = {n.name: n for n in function.node_def}
            split = _split_function_ref
            name, port = split(function.ret[out_arg])
        else:
            return _ACTIVATION_OPS.get(node.op, "linear")
    return "linear"


def _split(ref: str) -> tuple[str, int]:
    """``node:port`` (a graph's tensor name) -> (node, port)."""
    name, _, port = ref.lstrip("^").partition(":")
    return name, int(port or 0)


def _split_function_ref(ref: str) -> tuple[str, int]:
    """``node:output_arg:index`` (a tensor inside a function) -> (node, index)."""
    parts = ref.lstrip("^").split(":")
    return parts[0], int(parts[-1]) if len(parts) == 3 else 0


def tflite_converter(graph: SavedModelGraph):
    """TF's v1 TFLite converter for the SavedModel (configured further by ``export.litert``)."""
    import tensorflow as tf

    return tf.compat.v1.lite.TFLiteConverter.from_saved_model(str(graph.path), signature_key=SIGNATURE)


def onnx_proto(graph: SavedModelGraph, opset: int):
    """The fp32 ONNX ModelProto of the signature, converted by tf2onnx from the frozen graph."""
    import tf2onnx

    proto, _ = tf2onnx.convert.from_graph_def(
        graph.frozen_graph_def(), input_names=[graph.input_name], output_names=[graph.output_name], opset=opset,
    )
    return proto


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else ""
