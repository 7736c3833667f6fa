"""Lower int8 ops to C steps: constants computed here exactly as TFLite Micro's Prepare()."""
from __future__ import annotations

import numpy as np

from ..errors import ConversionError
from .errors import UnsupportedOpError
from .graph import Graph, Op, Tensor
from .plan import Step, Table, View, check_int32, conv_geometry
from .quant import activation_range, conv_multipliers, logistic_params, quantize_multiplier, softmax_params


def lower_op(graph: Graph, op: Op, n: int, src: View, dst: View) -> Step:
    handler = {
        "FULLY_CONNECTED": _fully_connected, "CONV_2D": _conv, "DEPTHWISE_CONV_2D": _conv,
        "MAX_POOL_2D": _pool, "AVERAGE_POOL_2D": _pool, "SOFTMAX": _softmax, "LOGISTIC": _logistic,
        "QUANTIZE": _quantize,
    }[op.kind]
    x = graph.t(op.inputs[0])
    if op.kind != "QUANTIZE":
        _expect(op, x, "int8")
        _expect(op, graph.t(op.outputs[0]), "int8")
    return handler(graph, op, f"op{n}_{op.kind.lower()}", src, dst)


def _expect(op: Op, t: Tensor, dtype: str) -> None:
    if t.dtype != dtype or (dtype in ("int8", "uint8") and t.scale is None):
        raise UnsupportedOpError(op.kind, f"tensor {t.name!r} is {t.dtype}; expected quantized {dtype}")


def _weights(graph: Graph, op: Op) -> tuple[Tensor, np.ndarray]:
    w = graph.t(op.inputs[1])
    _expect(op, w, "int8")
    if w.data is None or np.any(w.zero_point != 0):
        raise UnsupportedOpError(op.kind, "weights must be constant int8 with zero point 0")
    bias = np.zeros(w.shape[0] if op.kind != "DEPTHWISE_CONV_2D" else w.shape[3], dtype=np.int64)
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        b = graph.t(op.inputs[2])
        if b.dtype != "int32" or b.data is None:
            raise UnsupportedOpError(op.kind, f"bias {b.name!r} is {b.dtype}; expected constant int32")
        bias = b.data.astype(np.int64).reshape(-1)
    return w, bias


def _quant_tables(name: str, x: Tensor, w: Tensor, y: Tensor, channels: int) -> list[Table]:
    tag = name.split("_", 1)[0]  # op<N>: prefix of this op's tables
    mult, shift = conv_multipliers(x.qscale, w.scale, y.qscale, channels)
    return [Table(f"{tag}_multiplier", "int32_t", np.array(mult, dtype=np.int32), "per-channel Q0.31 multipliers"),
            Table(f"{tag}_shift", "int8_t", np.array(shift, dtype=np.int8), "per-channel shifts (> 0: left)")]


def pack_fc_weights(w: np.ndarray) -> np.ndarray:
    """[rows][cols] int8 -> words: per group of 4 rows, per block of 4 columns, one word per row."""
    rows, cols = w.shape
    rows4, cols4 = -(-rows // 4) * 4, -(-cols // 4) * 4
    padded = np.zeros((rows4, cols4), dtype=np.int8)
    padded[:rows, :cols] = w
    blocks = padded.reshape(rows4 // 4, 4, cols4 // 4, 4).transpose(0, 2, 1, 3)
    return np.ascontiguousarray(blocks).view("<u4").reshape(-1).astype(np.uint32)


def _fully_connected(graph: Graph, op: Op, name: str, src: View, dst: View) -> Step:
    tag = name.split("_", 1)[0]  # op<N>: prefix of this op's tables
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    w, bias = _weights(graph, op)
    rows, cols = w.shape
    if x.size != cols or y.size != rows:
        raise UnsupportedOpError(op.kind, f"input of {x.size} values for {cols} columns (batch must be 1)")
    in_offset = -x.qzero + src.offset_adjust
    folded = bias + in_offset * w.data.astype(np.int64).sum(axis=1)
    padded = np.zeros(-(-rows // 4) * 4, dtype=np.int64)
    padded[:rows] = folded
    lo, hi = activation_range(op.activation, y.qscale, y.qzero)
    tables = [Table(f"{tag}_weights", "uint32_t", pack_fc_weights(w.data), f"{rows}x{cols} int8, packed 4 rows x 4 columns per block"),
              Table(f"{tag}_bias", "int32_t", check_int32(padded, f"{op.kind} bias"),
                    f"bias + ({in_offset}) * row sums (input zero point folded in), padded to 4 rows"),
              *_quant_tables(name, x, w, y, rows)]
    kernel = "fc_u8" if src.dtype == "uint8" else "fc_s8"
    body = [f"enum {{ COLS = {cols}, ROWS = {rows}, OUT_ZERO_POINT = {y.qzero}, ACT_MIN = {lo}, ACT_MAX = {hi} }};",
            f"{kernel}(in, out, {tag}_weights, {tag}_bias, {tag}_multiplier, {tag}_shift, COLS, ROWS,",
            "      OUT_ZERO_POINT, ACT_MIN, ACT_MAX);"]
    fold = ", uint8 input (QUANTIZE folded in)" if src.offset_adjust else ""
    comment = f"{op.kind} {cols} -> {rows}, activation {op.activation}{fold}"
    return Step(name, comment, body, [kernel], src, dst, tables)


def _conv_params(geo: dict, depth_multiplier: int, in_offset: int, y: Tensor, lo: int, hi: int) -> list[str]:
    fields = {**geo, "depth_multiplier": depth_multiplier, "in_offset": in_offset,
              "out_zero_point": y.qzero, "act_min": lo, "act_max": hi}
    names = list(fields)
    lines = ["static const struct conv_params params = {"]
    for i in range(0, len(names), 6):
        lines.append("    " + ", ".join(f".{k} = {fields[k]}" for k in names[i:i + 6]) + ",")
    return lines + ["};"]


def _conv(graph: Graph, op: Op, name: str, src: View, dst: View) -> Step:
    tag = name.split("_", 1)[0]  # op<N>: prefix of this op's tables
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    w, bias = _weights(graph, op)
    depthwise = op.kind == "DEPTHWISE_CONV_2D"
    k_h, k_w = w.shape[1], w.shape[2]
    geo = conv_geometry(op, x, y, k_h, k_w)
    dm = getattr(op.options, "depthMultiplier", 1) if depthwise else 1
    if depthwise and geo["out_c"] != geo["in_c"] * dm:
        raise ConversionError(f"{op.kind}: {geo['out_c']} output channels for {geo['in_c']} x {dm}")
    lo, hi = activation_range(op.activation, y.qscale, y.qzero)
    in_offset = -x.qzero + src.offset_adjust
    suffix = "u8" if src.dtype == "uint8" else "s8"
    quant = _quant_tables(tag, x, w, y, geo["out_c"])
    comment = (f"{op.kind} {k_h}x{k_w}, stride {geo['stride_h']}x{geo['stride_w']}, "
               f"{geo['in_h']}x{geo['in_w']}x{geo['in_c']} -> {geo['out_h']}x{geo['out_w']}x{geo['out_c']}, "
               f"activation {op.activation}")
    if depthwise:
        tables = [Table(f"{tag}_weights", "int8_t", w.data.reshape(-1), f"[k_h][k_w][out_c] = {list(w.shape)}"),
                  Table(f"{tag}_bias", "int32_t", check_int32(bias, "bias"), "bias"), *quant]
        body = _conv_params(geo, dm, in_offset, y, lo, hi) + [
            f"dwconv_{suffix}(in, out, {tag}_weights, {tag}_bias, {tag}_multiplier, {tag}_shift, &params);"]
        return Step(name, comment, body, [f"dwconv_{suffix}"], src, dst, tables)
    rows, cols = geo["out_c"], k_h * k_w * geo["in_c"]
    matrix = w.data.reshape(rows, cols)
    folded = np.zeros(-(-rows // 4) * 4, dtype=np.int64)
    folded[:rows] = bias + in_offset * matrix.astype(np.int64).sum(axis=1)
    tables = [Table(f"{tag}_weights", "uint32_t", pack_fc_weights(matrix),
                    f"{list(w.shape)} as {rows}x{cols}, packed 4 rows x 4 columns per block"),
              Table(f"{tag}_bias", "int32_t", check_int32(folded, f"{op.kind} bias"),
                    f"bias + ({in_offset}) * filter sums (input zero point folded in), padded to 4"), *quant]
    body = _conv_params(geo, dm, in_offset, y, lo, hi) + [
        f"conv_{suffix}(in, out, patch, {tag}_weights, {tag}_bias, {tag}_multiplier, {tag}_shift, &params);"]
    return Step(name, comment + ", im2col", body, [f"conv_{suffix}"], src, dst, tables, work_bytes=cols)


def _pool(graph: Graph, op: Op, name: str, src: View, dst: View) -> Step:
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    o = op.options
    geo = conv_geometry(op, x, y, o.filterHeight, o.filterWidth)
    if (x.qscale, x.qzero) != (y.qscale, y.qzero):
        raise UnsupportedOpError(op.kind, "input and output quantization differ")
    lo, hi = activation_range(op.activation, y.qscale, y.qzero)
    kind = "max" if op.kind == "MAX_POOL_2D" else "avg"
    body = _conv_params(geo, 1, 0, y, lo, hi) + [f"{kind}pool_s8(in, out, &params);"]
    comment = (f"{op.kind} {o.filterHeight}x{o.filterWidth}, stride {o.strideH}x{o.strideW}, "
               f"{geo['in_h']}x{geo['in_w']}x{geo['in_c']} -> {geo['out_h']}x{geo['out_w']}x{geo['out_c']}")
    return Step(name, comment, body, [f"{kind}pool_s8"], src, dst)


def _check_prob_output(op: Op, y: Tensor) -> None:
    if y.qzero != -128 or y.qscale != np.float32(1.0 / 256):
        raise UnsupportedOpError(op.kind, f"output scale {y.qscale}, zero point {y.qzero}; TFLite Micro needs 1/256, -128")


def _softmax(graph: Graph, op: Op, name: str, src: View, dst: View) -> Step:
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    _check_prob_output(op, y)
    mult, shift, diff_min = softmax_params(op.options.beta, x.qscale)
    depth = x.shape[-1]
    body = [f"enum {{ ROWS = {x.size // depth}, DEPTH = {depth}, LEFT_SHIFT = {shift} }};",
            f"const int32_t multiplier = {mult}, diff_min = {diff_min};",
            "softmax_s8(in, out, ROWS, DEPTH, multiplier, LEFT_SHIFT, diff_min);"]
    return Step(name, f"SOFTMAX over {depth} values, beta {op.options.beta:g}", body, ["softmax"], src, dst)


def _logistic(graph: Graph, op: Op, name: str, src: View, dst: View) -> Step:
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    _check_prob_output(op, y)
    try:
        mult, shift, radius = logistic_params(x.qscale)
    except ValueError as e:
        raise UnsupportedOpError(op.kind, str(e)) from e
    body = [f"enum {{ SIZE = {x.size}, IN_ZERO_POINT = {x.qzero}, SHIFT = {shift} }};",
            f"const int32_t multiplier = {mult}, radius = {radius};",
            "logistic_s8(in, out, SIZE, IN_ZERO_POINT, radius, multiplier, SHIFT);"]
    return Step(name, f"LOGISTIC over {x.size} values", body, ["logistic"], src, dst)


def _quantize(graph: Graph, op: Op, name: str, src: View, dst: View) -> Step:
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    if x.dtype not in ("int8", "uint8") or y.dtype not in ("int8", "uint8") or x.scale is None or y.scale is None:
        raise UnsupportedOpError(op.kind, f"{x.dtype} -> {y.dtype}; only int8/uint8 requantization is supported")
    mult, shift = quantize_multiplier(float(x.scale[0]) / float(y.scale[0]))
    kernel = f"requantize_{'s8' if x.dtype == 'int8' else 'u8'}_{'s8' if y.dtype == 'int8' else 'u8'}"
    body = [f"enum {{ SIZE = {x.size}, IN_ZERO_POINT = {x.qzero}, OUT_ZERO_POINT = {y.qzero}, SHIFT = {shift} }};",
            f"const int32_t multiplier = {mult};",
            f"{kernel}(in, out, SIZE, IN_ZERO_POINT, OUT_ZERO_POINT, multiplier, SHIFT);"]
    return Step(name, f"QUANTIZE {x.dtype} -> {y.dtype}", body, [kernel], src, dst)
