"""Map the ops of an ONNX or TFLite artifact back to the Keras layers they came from.

Both converters name ops after the TensorFlow name scopes of the traced model:
``<model scope>/<layer scope>/<op>``, e.g. ``fashion_mnist_mlp_1/hidden1_1/MatMul``
(TFLite joins fused ops with ``;``). Keras 3 under TensorFlow makes every scope unique
by appending one ``_<n>``: layer ``hidden1`` becomes ``hidden1_1`` and, in a model that
also has a layer ``dense_1``, layer ``dense`` becomes ``dense_1`` and ``dense_1`` becomes
``dense_1_2``. So one suffix is stripped first and the exact name is the fallback.
Ops with no scope (TFLite's final op is named after the signature, ONNX's Q/DQ pairs
after their tensors) inherit the layer of what they wrap, or the model's output layer.
Neither TensorFlow nor the onnx package is needed here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_SUFFIX = re.compile(r"_\d+$")
_SUFFIXES = re.compile(r"(_\d+)+$")
# ops that only move a tensor between number formats: they belong to the layer they wrap
PASS_THROUGH = frozenset({"QUANTIZE", "DEQUANTIZE", "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"})


@dataclass(frozen=True)
class Op:
    """One op of an artifact graph, in topological order."""

    name: str
    op_type: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class KerasLayout:
    """What the mapping needs from a Keras model: names, scope, output layer, predecessors."""

    model_name: str
    layer_names: tuple[str, ...]
    output_layer: str
    predecessors: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_model(cls, model) -> "KerasLayout":
        """Read a Sequential or Functional Keras model (its layers in execution order)."""
        layers = [l for l in model.layers if type(l).__name__ != "InputLayer"]
        names = tuple(l.name for l in layers)
        output_layer = model.outputs[0]._keras_history[0].name if getattr(model, "outputs", None) else names[-1]
        preds: dict[str, tuple[str, ...]] = {}
        for i, layer in enumerate(layers):
            parents = []
            for node in getattr(layer, "_inbound_nodes", [])[:1]:
                parents = [p.operation.name for p in node.parent_nodes if p.operation.name in names]
            preds[layer.name] = tuple(parents) if parents or i == 0 else (names[i - 1],)
        return cls(model.name, names, output_layer, preds)


def resolve_scope(component: str, names: tuple[str, ...] | frozenset[str]) -> str | None:
    """The layer a name-scope component stands for: one ``_<n>`` stripped, else exact."""
    stripped = _SUFFIX.sub("", component)
    if stripped != component and stripped in names:
        return stripped
    return component if component in names else None


def layer_of_name(op_name: str, layout: KerasLayout) -> str | None:
    """The Keras layer an op name's scope points to, or None."""
    names = frozenset(layout.layer_names)
    for part in op_name.split(";"):
        comps = part.split("/")
        if len(comps) < 2:
            continue
        top = comps[0]
        # the model's own scope may carry several suffixes (``functional_1_1``)
        if top != layout.model_name and not (top.startswith(layout.model_name) and _SUFFIXES.fullmatch(top[len(layout.model_name):])):
            continue
        layer = resolve_scope(comps[1], names)
        if layer is not None:
            return layer
    return None


def assign_layers(ops: list[Op], graph_outputs: set[str], layout: KerasLayout) -> list[str | None]:
    """The Keras layer of every op (None for graph plumbing such as the input QUANTIZE)."""
    layers = [layer_of_name(op.name, layout) for op in ops]
    producer = {t: i for i, op in enumerate(ops) for t in op.outputs}
    for i, op in enumerate(ops):
        if layers[i] is not None:
            continue
        if op.op_type in PASS_THROUGH:
            parents = {layers[producer[t]] for t in op.inputs if t in producer} - {None}
            if len(parents) == 1:
                layers[i] = parents.pop()
                continue
        if graph_outputs & set(op.outputs) or _feeds_only_output(op, ops, graph_outputs):
            layers[i] = layout.output_layer
    return layers


def _feeds_only_output(op: Op, ops: list[Op], graph_outputs: set[str]) -> bool:
    """True for the op right before a final DEQUANTIZE (TFLite int8 with float output)."""
    consumers = [o for o in ops if set(o.inputs) & set(op.outputs)]
    return bool(consumers) and all(c.op_type in PASS_THROUGH and graph_outputs & set(c.outputs) for c in consumers)


def layer_outputs(ops: list[Op], layers: list[str | None]) -> dict[str, str]:
    """Each layer's output tensor: the output of its last op in topological order.

    ONNX quantize ops are skipped: their outputs are integers with no scale attached (the
    float value is the DequantizeLinear after them, or the op before them).
    """
    out: dict[str, str] = {}
    for op, layer in zip(ops, layers):
        if layer is not None and op.outputs and op.op_type not in ("QuantizeLinear", "DynamicQuantizeLinear"):
            out[layer] = op.outputs[0]
    return out


def onnx_ops(proto) -> tuple[list[Op], set[str]]:
    """The nodes of an ONNX ModelProto as Ops, and the graph output names."""
    ops = [Op(n.name, n.op_type, tuple(n.input), tuple(n.output)) for n in proto.graph.node]
    return ops, {o.name for o in proto.graph.output}


def tflite_ops(flatbuffer: bytes) -> tuple[list[Op], set[str], dict[str, int]]:
    """The operators of subgraph 0 as Ops (named after their first output tensor).

    Tensors are named ``#<index>`` (TFLite tensor names are not unique); also returns
    {tensor id: tensor index}.
    """
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(flatbuffer, 0)
    graph = model.Subgraphs(0)
    codes = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    ops = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        outs = [op.Outputs(j) for j in range(op.OutputsLength())]
        ins = [op.Inputs(j) for j in range(op.InputsLength()) if op.Inputs(j) >= 0]
        name = graph.Tensors(outs[0]).Name().decode() if outs else ""
        ops.append(Op(name, codes.get(builtin, str(builtin)), tuple(f"#{t}" for t in ins), tuple(f"#{t}" for t in outs)))
    outputs = {f"#{graph.Outputs(j)}" for j in range(graph.OutputsLength())}
    ids = {f"#{t}": t for t in range(graph.TensorsLength())}
    return ops, outputs, ids
