"""Lower float32 ops to C steps."""
from __future__ import annotations

import numpy as np

from .errors import UnsupportedOpError
from .graph import Graph, Op, Tensor
from .plan import Step, Table, View, conv_geometry

ACT_RANGE = {"NONE": ("-3.402823466e+38f", "3.402823466e+38f"), "RELU": ("0.0f", "3.402823466e+38f"),
             "RELU6": ("0.0f", "6.0f"), "RELU_N1_TO_1": ("-1.0f", "1.0f")}


def lower_op(graph: Graph, op: Op, n: int, src: View, dst: View) -> Step:
    handler = {
        "FULLY_CONNECTED": _fully_connected, "CONV_2D": _conv, "DEPTHWISE_CONV_2D": _conv,
        "MAX_POOL_2D": _pool, "AVERAGE_POOL_2D": _pool, "SOFTMAX": _softmax, "LOGISTIC": _logistic,
    }.get(op.kind)
    if handler is None:
        raise UnsupportedOpError(op.kind, "in a float32 model")
    for i in [op.inputs[0], op.outputs[0], *op.inputs[1:3]]:
        if i >= 0 and graph.t(i).dtype != "float32":
            raise UnsupportedOpError(op.kind, f"tensor {graph.t(i).name!r} is {graph.t(i).dtype} in a float32 model")
    return handler(graph, op, f"op{n}_{op.kind.lower()}", src, dst)


def _weights(graph: Graph, op: Op, channels_axis: int) -> tuple[Tensor, np.ndarray]:
    w = graph.t(op.inputs[1])
    if w.data is None:
        raise UnsupportedOpError(op.kind, "weights must be constant")
    bias = np.zeros(w.shape[channels_axis], dtype=np.float32)
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        bias = graph.t(op.inputs[2]).data.reshape(-1).astype(np.float32)
    return w, bias


def _fully_connected(graph: Graph, op: Op, name: str, src: View, dst: View) -> Step:
    tag = name.split("_", 1)[0]  # op<N>: prefix of this op's tables
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    w, bias = _weights(graph, op, 0)
    rows, cols = w.shape
    if x.size != cols or y.size != rows:
        raise UnsupportedOpError(op.kind, f"input of {x.size} values for {cols} columns (batch must be 1)")
    lo, hi = ACT_RANGE[op.activation]
    tables = [Table(f"{tag}_weights", "float", w.data.reshape(-1), f"[{rows}][{cols}], row-major"),
              Table(f"{tag}_bias", "float", bias, "bias")]
    body = [f"enum {{ COLS = {cols}, ROWS = {rows} }};",
            f"fc_f32(in, out, {tag}_weights, {tag}_bias, COLS, ROWS, {lo}, {hi});"]
    return Step(name, f"{op.kind} {cols} -> {rows}, activation {op.activation}", body, ["fc_f32"], src, dst, tables)


def _params(geo: dict, dm: int, activation: str) -> list[str]:
    lo, hi = ACT_RANGE[activation]
    fields = {**geo, "depth_multiplier": dm, "act_min_f": lo, "act_max_f": hi}
    names = list(fields)
    lines = ["static const struct fconv_params params = {"]
    for i in range(0, len(names), 6):
        lines.append("    " + ", ".join(f".{k} = {fields[k]}" for k in names[i:i + 6]) + ",")
    return lines + ["};"]


def _conv(graph: Graph, op: Op, name: str, src: View, dst: View) -> Step:
    tag = name.split("_", 1)[0]  # op<N>: prefix of this op's tables
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    depthwise = op.kind == "DEPTHWISE_CONV_2D"
    w, bias = _weights(graph, op, 3 if depthwise else 0)
    geo = conv_geometry(op, x, y, w.shape[1], w.shape[2])
    dm = getattr(op.options, "depthMultiplier", 1) if depthwise else 1
    kernel = "dwconv_f32" if depthwise else "conv_f32"
    tables = [Table(f"{tag}_weights", "float", w.data.reshape(-1), f"{list(w.shape)}"),
              Table(f"{tag}_bias", "float", bias, "bias")]
    body = _params(geo, dm, op.activation) + [f"{kernel}(in, out, {tag}_weights, {tag}_bias, &params);"]
    comment = (f"{op.kind} {w.shape[1]}x{w.shape[2]}, {geo['in_h']}x{geo['in_w']}x{geo['in_c']} -> "
               f"{geo['out_h']}x{geo['out_w']}x{geo['out_c']}, activation {op.activation}")
    return Step(name, comment, body, [kernel], src, dst, tables)


def _pool(graph: Graph, op: Op, name: str, src: View, dst: View) -> Step:
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    o = op.options
    geo = conv_geometry(op, x, y, o.filterHeight, o.filterWidth)
    kind = "max" if op.kind == "MAX_POOL_2D" else "avg"
    body = _params(geo, 1, op.activation) + [f"{kind}pool_f32(in, out, &params);"]
    comment = f"{op.kind} {o.filterHeight}x{o.filterWidth}, stride {o.strideH}x{o.strideW}"
    return Step(name, comment, body, [f"{kind}pool_f32"], src, dst)


def _softmax(graph: Graph, op: Op, name: str, src: View, dst: View) -> Step:
    x = graph.t(op.inputs[0])
    depth = x.shape[-1]
    body = [f"enum {{ ROWS = {x.size // depth}, DEPTH = {depth} }};",
            f"softmax_f32(in, out, ROWS, DEPTH, {float(op.options.beta)!r}f);"]
    return Step(name, f"SOFTMAX over {depth} values", body, ["softmax_f32"], src, dst)


def _logistic(graph: Graph, op: Op, name: str, src: View, dst: View) -> Step:
    x = graph.t(op.inputs[0])
    body = [f"enum {{ SIZE = {x.size} }};", "logistic_f32(in, out, SIZE);"]
    return Step(name, f"LOGISTIC over {x.size} values", body, ["logistic_f32"], src, dst)
