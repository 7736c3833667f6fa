"""Per-op test models (issue 16 item 5): one op, or an op with its natural neighbours, with random
weights, over a grid of settings; as CMSIS-NN's conv_settings.py and onnx2c's per-op tests do.

``python -m tests.opmodels`` regenerates ``tests/fixtures/ops/*.tflite`` and ``manifest.json``
deterministically (same TensorFlow, same bytes). Each case is converted by TFLiteConverter with
random calibration data: full-integer int8 (int8 or uint8 I/O, per-channel or per-tensor weights),
or float. The manifest names each case's settings and the ops the converter actually wrote, which
the generator checks against what the case asked for. The test (tests/test_op_matrix.py) reads only
the files: it needs no TensorFlow.

Unreachable settings, left out: a fused activation on MEAN or CONCATENATION (the converter keeps a
separate RELU op) or on PAD (no such option); dilation with a stride above 1 (TensorFlow refuses it).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ops"
MANIFEST = FIXTURES / "manifest.json"
CALIBRATION_SAMPLES = 16
IO_MODES = ("int8", "uint8", "fp32", "int8_fout", "float_io")  # int8_fout: int8 in, float out (DEQUANTIZE)
ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Case:
    """One model: a builder (``BUILDERS`` key) with its settings, an I/O mode and a weight granularity."""

    name: str
    op: str  # the op under test, as the .tflite names it
    builder: str
    input_shape: tuple[int, ...]
    settings: dict = field(default_factory=dict)
    io: str = "int8"
    per_channel: bool = True
    activation: str = "NONE"  # fused into ``op``

    def manifest_settings(self) -> dict:
        weights = "per-channel" if self.per_channel else "per-tensor"
        return {**self.settings, "activation": self.activation, "io": self.io,
                **({"weights": weights} if self.builder in WEIGHTED else {})}


# ---------------------------------------------------------------- builders: tf functions with constants

def _seed(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _channel_spread(n: int) -> np.ndarray:
    """Per-output-channel weight magnitudes 0.25 .. 2: per-channel and per-tensor scales differ."""
    return np.geomspace(0.25, 2.0, n).astype(np.float32)


def _act(tf, y, activation: str):
    return {"NONE": lambda v: v, "RELU": tf.nn.relu, "RELU6": tf.nn.relu6,
            "RELU_N1_TO_1": lambda v: tf.clip_by_value(v, -1.0, 1.0)}[activation](y)


def _conv(tf, case: Case, rng):
    s = case.settings
    k_h, k_w = s["kernel"]
    c_in, c_out = case.input_shape[-1], s["filters"]
    w = (rng.normal(size=(k_h, k_w, c_in, c_out)) / np.sqrt(k_h * k_w * c_in) * _channel_spread(c_out)).astype(np.float32)
    b = (rng.normal(size=c_out) * 0.2).astype(np.float32)
    return lambda x: _act(tf, tf.nn.conv2d(x, w, strides=[1, *s["stride"], 1], padding=s["padding"],
                                           dilations=[1, *s["dilation"], 1]) + b, case.activation)


def _depthwise(tf, case: Case, rng):
    s = case.settings
    k_h, k_w = s["kernel"]
    c_in, dm = case.input_shape[-1], s["depth_multiplier"]
    w = (rng.normal(size=(k_h, k_w, c_in, dm)) / np.sqrt(k_h * k_w)
         * _channel_spread(c_in * dm).reshape(c_in, dm)).astype(np.float32)
    b = (rng.normal(size=c_in * dm) * 0.2).astype(np.float32)
    return lambda x: _act(tf, tf.nn.depthwise_conv2d(x, w, strides=[1, *s["stride"], 1], padding=s["padding"],
                                                     dilations=s["dilation"]) + b, case.activation)


def _dense(tf, case: Case, rng):
    s = case.settings
    cols, rows = int(np.prod(case.input_shape[1:])), s["units"]
    w = (rng.normal(size=(cols, rows)) / np.sqrt(cols) * _channel_spread(rows)).astype(np.float32)
    b = (rng.normal(size=rows) * 0.2).astype(np.float32)

    def f(x):
        if len(case.input_shape) > 2:  # Flatten: the RESHAPE in front of FULLY_CONNECTED
            x = tf.reshape(x, [1, cols])
        y = _act(tf, tf.matmul(x, w) + b, case.activation)
        return tf.nn.softmax(y) if s.get("then") == "softmax" else y
    return f


def _pool(tf, case: Case, rng):
    s = case.settings
    pool = tf.nn.max_pool2d if case.op == "MAX_POOL_2D" else tf.nn.avg_pool2d
    return lambda x: _act(tf, pool(x, ksize=s["kernel"], strides=s["stride"], padding=s["padding"]), case.activation)


def _softmax(tf, case: Case, rng):
    beta = case.settings.get("beta", 1.0)
    return lambda x: tf.nn.softmax(x * beta if beta != 1.0 else x)


def _unary(tf, case: Case, rng):
    op = case.op
    alpha = case.settings.get("alpha", 0.2)
    fn = {"LOGISTIC": tf.sigmoid, "TANH": tf.tanh, "RELU": tf.nn.relu, "RELU6": tf.nn.relu6,
          "LEAKY_RELU": lambda v: tf.nn.leaky_relu(v, alpha=alpha),
          "HARD_SWISH": lambda v: v * tf.nn.relu6(v + 3.0) * (1.0 / 6.0)}[op]
    return fn


def _reshape(tf, case: Case, rng):
    target = case.settings["to"]
    then = case.settings.get("then")
    return lambda x: tf.nn.softmax(tf.reshape(x, target)) if then == "softmax" else tf.reshape(x, target)


def _elementwise(tf, case: Case, rng):
    """ADD / SUB / MUL of the input with a constant (``other``: its shape), with itself reduced
    (``other: "mean"``, a broadcast [1,1,1,C] activation), or with a conv of itself (``other: "conv"``)."""
    s = case.settings
    fn = {"ADD": tf.add, "SUB": tf.subtract, "MUL": tf.multiply}[case.op]
    other = s["other"]
    if other == "conv":
        c = case.input_shape[-1]
        w = (rng.normal(size=(3, 3, c, c)) / np.sqrt(9 * c)).astype(np.float32)
        return lambda x: _act(tf, fn(tf.nn.conv2d(x, w, strides=1, padding="SAME"), x), case.activation)
    if other == "mean":
        return lambda x: _act(tf, fn(x, tf.reduce_mean(x, axis=[1, 2], keepdims=True)), case.activation)
    const = rng.uniform(-1.5, 1.5, size=other).astype(np.float32)
    if s.get("const_first"):
        return lambda x: _act(tf, fn(const, x), case.activation)
    return lambda x: _act(tf, fn(x, const), case.activation)


def _mean(tf, case: Case, rng):
    s = case.settings
    return lambda x: tf.reduce_mean(x, axis=s["axis"], keepdims=s["keepdims"])


def _pad(tf, case: Case, rng):
    s = case.settings
    if s.get("then") == "conv":
        c = case.input_shape[-1]
        w = (rng.normal(size=(3, 3, c, 4)) / np.sqrt(9 * c)).astype(np.float32)
        return lambda x: tf.nn.conv2d(tf.pad(x, s["paddings"]), w, strides=1, padding="VALID")
    return lambda x: tf.pad(x, s["paddings"])


def _concat(tf, case: Case, rng):
    """The input concatenated with a scaled copy of itself (other scale) or with a constant."""
    s = case.settings
    if s["other"] == "scaled":
        return lambda x: tf.concat([x, tf.nn.relu(x) * 3.0], axis=s["axis"])  # MUL makes another scale
    const = rng.uniform(-2, 2, size=s["other"]).astype(np.float32)
    return lambda x: tf.concat([x, const], axis=s["axis"])


def _mlp(tf, case: Case, rng):
    """The reference MLP's shape, small: FULLY_CONNECTED x3 (RELU fused into two), SOFTMAX."""
    layers = []
    cols = case.input_shape[-1]
    for rows in case.settings["units"]:
        w = (rng.normal(size=(cols, rows)) / np.sqrt(cols)).astype(np.float32)
        layers.append((w, (rng.normal(size=rows) * 0.2).astype(np.float32)))
        cols = rows

    def f(x):
        for i, (w, b) in enumerate(layers):
            x = tf.matmul(x, w) + b
            x = tf.nn.relu(x) if i < len(layers) - 1 else x
        return tf.nn.softmax(x)
    return f


def _cnn(tf, case: Case, rng):
    """CONV_2D (RELU) -> DEPTHWISE_CONV_2D (RELU6) -> MAX_POOL_2D -> AVERAGE_POOL_2D -> RESHAPE ->
    FULLY_CONNECTED -> LOGISTIC or SOFTMAX (``head``): every kernel of a chain CNN in one file."""
    c = case.input_shape[-1]
    w1 = (rng.normal(size=(3, 3, c, 4)) / np.sqrt(9 * c)).astype(np.float32)
    w2 = (rng.normal(size=(3, 3, 4, 2)) / 3).astype(np.float32)
    b1, b2 = (rng.normal(size=4) * 0.1).astype(np.float32), (rng.normal(size=8) * 0.1).astype(np.float32)
    h = case.input_shape[1] // 4
    w3 = (rng.normal(size=(h * h * 8, 3)) / np.sqrt(h * h * 8)).astype(np.float32)

    def f(x):
        x = tf.nn.relu(tf.nn.conv2d(x, w1, strides=1, padding="SAME") + b1)
        x = tf.nn.relu6(tf.nn.depthwise_conv2d(x, w2, strides=[1, 1, 1, 1], padding="SAME") + b2)
        x = tf.nn.avg_pool2d(tf.nn.max_pool2d(x, 2, 2, "VALID"), 2, 2, "VALID")
        y = tf.matmul(tf.reshape(x, [1, h * h * 8]), w3)
        return tf.sigmoid(y) if case.settings["head"] == "logistic" else tf.nn.softmax(y)
    return f


def _graph(tf, case: Case, rng):
    """A branching graph of the newer ops: PAD, CONV_2D, LEAKY_RELU, HARD_SWISH, ADD, MUL, SUB, MEAN,
    TANH, RELU6, CONCATENATION, FULLY_CONNECTED, SOFTMAX."""
    c = case.input_shape[-1]
    w1 = (rng.normal(size=(3, 3, c, 4)) / np.sqrt(9 * c)).astype(np.float32)
    w2 = (rng.normal(size=(1, 1, 4, 4)) / 2).astype(np.float32)
    scale = rng.uniform(0.5, 1.5, size=4).astype(np.float32)
    w3 = (rng.normal(size=(8, 5)) / np.sqrt(8)).astype(np.float32)

    def f(x):
        x = tf.nn.conv2d(tf.pad(x, [[0, 0], [2, 1], [0, 2], [0, 0]]), w1, strides=1, padding="VALID")
        a = tf.nn.leaky_relu(x, alpha=0.1)
        b = tf.nn.conv2d(a, w2, strides=1, padding="SAME")
        b = b * tf.nn.relu6(b + 3.0) * (1.0 / 6.0)
        y = (a + b) * scale
        y = tf.tanh(y - tf.reduce_mean(y, axis=[1, 2], keepdims=True))
        z = tf.concat([y, tf.nn.relu6(a)], axis=3)
        return tf.nn.softmax(tf.matmul(tf.reduce_mean(z, axis=[1, 2]), w3))
    return f


def _identity_quantize(tf, case: Case, rng):
    """uint8 I/O around a MAX_POOL_2D: QUANTIZE uint8 -> int8 in front (not folded), int8 -> uint8 after."""
    return lambda x: tf.nn.max_pool2d(x, ksize=2, strides=2, padding="VALID")


BUILDERS = {"conv": _conv, "depthwise": _depthwise, "dense": _dense, "pool": _pool, "softmax": _softmax,
            "unary": _unary, "reshape": _reshape, "elementwise": _elementwise, "mean": _mean, "pad": _pad,
            "concat": _concat, "quantize": _identity_quantize, "mlp": _mlp, "cnn": _cnn, "graph": _graph}
WEIGHTED = ("conv", "depthwise", "dense", "mlp", "cnn")


# ---------------------------------------------------------------- the grid

def _name(*parts) -> str:
    return "_".join(str(p).lower() for p in parts if p not in ("", None))


def _geo_tag(shape: tuple[int, ...], s: dict) -> str:
    k, st, d = s["kernel"], s["stride"], s.get("dilation", (1, 1))
    tag = f"{shape[1]}x{shape[2]}k{k[0]}x{k[1]}s{st[0]}x{st[1]}"
    if tuple(d) != (1, 1):
        tag += f"d{d[0]}x{d[1]}"
    return tag + s["padding"].lower()


CONV_GEOMETRIES = (  # (input shape, kernel, stride, dilation, padding)
    ((1, 7, 7, 3), (3, 3), (1, 1), (1, 1), "SAME"),
    ((1, 7, 7, 3), (3, 3), (1, 1), (1, 1), "VALID"),
    ((1, 7, 7, 3), (3, 3), (2, 2), (1, 1), "SAME"),
    ((1, 8, 8, 3), (3, 3), (2, 2), (1, 1), "SAME"),
    ((1, 8, 8, 3), (3, 3), (2, 2), (1, 1), "VALID"),
    ((1, 7, 9, 2), (2, 3), (1, 2), (1, 1), "SAME"),
    ((1, 7, 7, 3), (1, 1), (1, 1), (1, 1), "VALID"),
    ((1, 8, 8, 2), (3, 3), (1, 1), (2, 2), "SAME"),
    ((1, 8, 8, 2), (3, 3), (1, 1), (2, 2), "VALID"),
    ((1, 7, 9, 2), (3, 2), (1, 1), (1, 2), "SAME"),
)
DW_GEOMETRIES = (  # (input shape, kernel, stride, dilation, padding, depth multiplier)
    ((1, 7, 7, 3), (3, 3), (1, 1), (1, 1), "SAME", 1),
    ((1, 7, 7, 3), (3, 3), (1, 1), (1, 1), "VALID", 2),
    ((1, 8, 8, 3), (3, 3), (2, 2), (1, 1), "SAME", 1),
    ((1, 7, 7, 3), (3, 3), (2, 2), (1, 1), "VALID", 1),
    ((1, 7, 9, 2), (2, 3), (2, 1), (1, 1), "SAME", 3),
    ((1, 8, 8, 2), (3, 3), (1, 1), (2, 2), "SAME", 1),
    ((1, 8, 8, 4), (3, 3), (1, 1), (2, 1), "VALID", 2),
)
POOL_GEOMETRIES = (  # (input shape, kernel, stride, padding)
    ((1, 8, 8, 3), (2, 2), (2, 2), "VALID"),
    ((1, 7, 7, 3), (3, 3), (2, 2), "SAME"),
    ((1, 7, 7, 3), (3, 3), (1, 1), "SAME"),
    ((1, 7, 9, 2), (2, 3), (1, 2), "VALID"),
    ((1, 5, 5, 4), (5, 5), (1, 1), "VALID"),  # global pooling
)
DENSE_SHAPES = (  # (input shape, units)
    ((1, 16), 8), ((1, 16), 10), ((1, 13), 3), ((1, 4, 4, 2), 6),
)
ELEMENTWISE_OTHERS = (  # input shape, other operand (a constant's shape, "mean" or "conv"), constant first
    ((1, 4, 4, 3), (1, 4, 4, 3), False),
    ((1, 4, 4, 3), (3,), False),
    ((1, 4, 4, 3), (1, 1, 1, 3), False),
    ((1, 4, 4, 3), (4, 1, 1), False),
    ((1, 4, 4, 3), (1, 4, 1, 3), False),
    ((1, 4, 4, 3), (), False),
    ((1, 12), (12,), True),
    ((1, 4, 4, 3), "mean", False),
    ((1, 4, 4, 3), "conv", False),
)


def cases() -> list[Case]:
    """Every case of the matrix, in a fixed order."""
    out: list[Case] = []

    def add(op, builder, shape, settings, *, ios=("int8",), per_channel=(True,), acts=("NONE",), tag="", label=None):
        for io in ios:
            for pc in per_channel if io != "fp32" else (True,):  # float weights have no granularity
                for act in acts:
                    w = ("pc" if pc else "pt") if builder in WEIGHTED and io != "fp32" else ""
                    name = _name(label or op.replace("_2D", ""), tag, act if act != "NONE" else "", w, io)
                    out.append(Case(name, op, builder, shape, settings, io, pc, act))

    for shape, k, st, d, pad in CONV_GEOMETRIES:
        s = {"kernel": k, "stride": st, "dilation": d, "padding": pad, "filters": 4}
        add("CONV_2D", "conv", shape, s, ios=("int8", "fp32"), per_channel=(True, False), tag=_geo_tag(shape, s))
    shape, k, st, d, pad = CONV_GEOMETRIES[2]
    s = {"kernel": k, "stride": st, "dilation": d, "padding": pad, "filters": 4}
    add("CONV_2D", "conv", shape, s, ios=("int8", "fp32"), acts=ACTIVATIONS[1:], tag=_geo_tag(shape, s))
    add("CONV_2D", "conv", shape, s, ios=("uint8",), per_channel=(True, False), acts=("NONE", "RELU"), tag=_geo_tag(shape, s))

    for shape, k, st, d, pad, dm in DW_GEOMETRIES:
        s = {"kernel": k, "stride": st, "dilation": d, "padding": pad, "depth_multiplier": dm}
        add("DEPTHWISE_CONV_2D", "depthwise", shape, s, ios=("int8", "fp32"), per_channel=(True, False),
            tag=_geo_tag(shape, s) + f"m{dm}")
    shape, k, st, d, pad, dm = DW_GEOMETRIES[1]
    s = {"kernel": k, "stride": st, "dilation": d, "padding": pad, "depth_multiplier": dm}
    add("DEPTHWISE_CONV_2D", "depthwise", shape, s, ios=("int8", "fp32"), acts=ACTIVATIONS[1:], tag=_geo_tag(shape, s) + f"m{dm}")
    add("DEPTHWISE_CONV_2D", "depthwise", shape, s, ios=("uint8",), acts=("RELU6",), tag=_geo_tag(shape, s) + f"m{dm}")

    for shape, units in DENSE_SHAPES:
        tag = f"{int(np.prod(shape[1:]))}x{units}" + ("flat" if len(shape) > 2 else "")
        add("FULLY_CONNECTED", "dense", shape, {"units": units}, ios=("int8", "fp32", "uint8"), per_channel=(True, False), tag=tag)
    add("FULLY_CONNECTED", "dense", (1, 16), {"units": 8}, ios=("int8", "fp32"), acts=ACTIVATIONS[1:], tag="16x8")
    add("FULLY_CONNECTED", "dense", (1, 16), {"units": 10, "then": "softmax"}, ios=("int8", "uint8", "fp32"),
        tag="16x10softmax")

    for op in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        for shape, k, st, pad in POOL_GEOMETRIES:
            s = {"kernel": k, "stride": st, "padding": pad}
            add(op, "pool", shape, s, ios=("int8", "fp32"), tag=_geo_tag(shape, s))
        shape, k, st, pad = POOL_GEOMETRIES[1]
        s = {"kernel": k, "stride": st, "padding": pad}
        add(op, "pool", shape, s, ios=("uint8",), tag=_geo_tag(shape, s))
        add(op, "pool", shape, s, ios=("int8", "fp32"), acts=ACTIVATIONS[1:], tag=_geo_tag(shape, s))

    for shape in ((1, 10), (1, 3), (1, 4, 5)):
        add("SOFTMAX", "softmax", shape, {}, ios=("int8", "fp32"), tag="x".join(map(str, shape[1:])))
    add("SOFTMAX", "softmax", (1, 10), {"beta": 2.0}, ios=("int8", "fp32"), tag="10beta2")
    for op, shapes in (("LOGISTIC", ((1, 10), (1, 2, 3, 4))), ("TANH", ((1, 10), (1, 2, 3, 4))),
                       ("RELU", ((1, 4, 4, 3),)), ("RELU6", ((1, 4, 4, 3),)), ("HARD_SWISH", ((1, 4, 4, 3), (1, 10)))):
        for shape in shapes:
            add(op, "unary", shape, {}, ios=("int8", "fp32"), tag="x".join(map(str, shape[1:])))
    for alpha in (0.2, 0.01):
        add("LEAKY_RELU", "unary", (1, 4, 4, 3), {"alpha": alpha}, ios=("int8", "fp32"), tag=f"a{alpha}")
    add("LOGISTIC", "unary", (1, 10), {}, ios=("uint8",), tag="10")

    add("RESHAPE", "reshape", (1, 2, 5), {"to": [1, 10], "then": "softmax"}, ios=("int8", "fp32"), tag="2x5to10softmax")
    add("RESHAPE", "reshape", (1, 4, 6), {"to": [1, 24]}, ios=("int8", "fp32"), tag="4x6to24")

    add("QUANTIZE", "quantize", (1, 8, 8, 3), {"around": "MAX_POOL_2D"}, ios=("uint8",), tag="u8pool")
    add("DEQUANTIZE", "dense", (1, 16), {"units": 8}, ios=("int8_fout",), tag="fc16x8")
    add("DEQUANTIZE", "dense", (1, 16), {"units": 10, "then": "softmax"}, ios=("int8_fout",), tag="softmax")
    add("QUANTIZE", "dense", (1, 16), {"units": 8}, ios=("float_io",), tag="fc16x8")

    for op in ("ADD", "SUB", "MUL"):
        for shape, other, first in ELEMENTWISE_OTHERS:
            if first and op != "SUB":
                continue
            tag = other if isinstance(other, str) else "c" + ("x".join(map(str, other)) or "scalar")
            s = {"other": list(other) if isinstance(other, tuple) else other, **({"const_first": True} if first else {})}
            add(op, "elementwise", shape, s, ios=("int8", "fp32"), tag=tag + ("first" if first else ""))
    s = {"other": [3]}
    add("ADD", "elementwise", (1, 4, 4, 3), s, ios=("int8", "fp32"), acts=ACTIVATIONS[1:], tag="c3")
    add("MUL", "elementwise", (1, 4, 4, 3), s, ios=("int8",), acts=("RELU",), tag="c3")
    add("ADD", "elementwise", (1, 4, 4, 3), s, ios=("uint8",), tag="c3")

    add("MEAN", "mean", (1, 5, 5, 8), {"axis": [1, 2], "keepdims": True}, ios=("int8", "fp32", "uint8"), tag="hw_keep")
    add("MEAN", "mean", (1, 4, 4, 3), {"axis": [1, 2], "keepdims": False}, ios=("int8", "fp32"), tag="hw")
    add("PAD", "pad", (1, 5, 5, 3), {"paddings": [[0, 0], [1, 1], [1, 1], [0, 0]]}, ios=("int8", "fp32", "uint8"), tag="hw1")
    add("PAD", "pad", (1, 5, 5, 3), {"paddings": [[0, 0], [0, 1], [2, 0], [0, 0]]}, ios=("int8", "fp32"), tag="asym")
    add("PAD", "pad", (1, 5, 5, 3), {"paddings": [[0, 0], [2, 2], [0, 1], [0, 0]], "then": "conv"}, ios=("int8", "fp32"),
        tag="conv")
    add("CONCATENATION", "concat", (1, 4, 4, 3), {"other": "scaled", "axis": 3}, ios=("int8", "fp32"), tag="c_scaled")
    add("CONCATENATION", "concat", (1, 4, 4, 3), {"other": [1, 4, 4, 2], "axis": 3}, ios=("int8", "fp32"), tag="c_const")
    add("CONCATENATION", "concat", (1, 4, 4, 3), {"other": [1, 2, 4, 3], "axis": 1}, ios=("int8", "fp32"), tag="h_const")
    # whole small models: every kernel inlined with its neighbours (also the C warning matrix's inputs)
    add("FULLY_CONNECTED", "mlp", (1, 24), {"units": [16, 12, 10]}, ios=("uint8", "fp32"), label="model", tag="mlp")
    add("CONV_2D", "cnn", (1, 12, 12, 1), {"head": "logistic"}, ios=("uint8",), label="model", tag="cnn")
    add("CONV_2D", "cnn", (1, 12, 12, 1), {"head": "softmax"}, ios=("fp32",), label="model", tag="cnn")
    add("ADD", "graph", (1, 6, 6, 3), {}, ios=("int8", "fp32"), label="model", tag="graph")
    names = [c.name for c in out]
    assert len(set(names)) == len(names), sorted(n for n in names if names.count(n) > 1)
    return out


# ---------------------------------------------------------------- conversion

def _convert(case: Case) -> bytes:
    import tensorflow as tf

    rng = _seed(case.name)
    fn = BUILDERS[case.builder](tf, case, rng)

    class OneOp(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec(case.input_shape, tf.float32, name="x")])
        def serve(self, x):
            return fn(x)

    module = OneOp()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([module.serve.get_concrete_function()], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if case.io != "fp32":
        calibration = rng.normal(0.0, 1.0, size=(CALIBRATION_SAMPLES, *case.input_shape)).astype(np.float32)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([row] for row in calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        io_in, io_out = {"int8": ("int8", "int8"), "uint8": ("uint8", "uint8"), "int8_fout": ("int8", "float32"),
                         "float_io": ("float32", "float32")}[case.io]
        converter.inference_input_type = getattr(tf, io_in)
        converter.inference_output_type = getattr(tf, io_out)
        if not case.per_channel:
            converter._experimental_disable_per_channel = True  # the converter's only per-tensor switch
    return converter.convert()


def read_ops(flatbuffer: bytes) -> dict:
    """Ops (name, fused activation, weight scales) and I/O tensors of a .tflite, read with LiteRT's schema."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(flatbuffer, 0))
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    acts = {v: k for k, v in vars(schema.ActivationFunctionType).items() if not k.startswith("_")}
    types = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    sub = model.subgraphs[0]
    ops = []
    for op in sub.operators:
        code = model.operatorCodes[op.opcodeIndex]
        entry = {"op": names[max(code.builtinCode, code.deprecatedBuiltinCode)]}
        act = getattr(op.builtinOptions, "fusedActivationFunction", None)
        if act:
            entry["activation"] = acts[act]
        if entry["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            q = sub.tensors[op.inputs[1]].quantization
            entry["weight_scales"] = 0 if q is None or q.scale is None else len(q.scale)
        ops.append(entry)
    tensor = lambda i: {"shape": [int(d) for d in sub.tensors[i].shape], "dtype": types[sub.tensors[i].type]}
    return {"ops": ops, "input": tensor(sub.inputs[0]), "output": tensor(sub.outputs[0])}


def _check(case: Case, facts: dict) -> None:
    """The converter wrote the op asked for, with the activation, weights and I/O types asked for."""
    ops = facts["ops"]
    main = [o for o in ops if o["op"] == case.op]
    if not main:
        raise ValueError(f"{case.name}: no {case.op} in {[o['op'] for o in ops]}")
    if case.activation != "NONE" and not any(o.get("activation") == case.activation for o in main):
        raise ValueError(f"{case.name}: {case.activation} not fused into {case.op}: {ops}")
    for o in ops:
        if "weight_scales" in o and case.io != "fp32":
            channels = o["weight_scales"]
            if (channels > 1) != case.per_channel:
                raise ValueError(f"{case.name}: {o['op']} has {channels} weight scales; per_channel={case.per_channel}")
    want_in = {"int8": "int8", "uint8": "uint8", "fp32": "float32", "int8_fout": "int8", "float_io": "float32"}[case.io]
    if facts["input"]["dtype"] != want_in:
        raise ValueError(f"{case.name}: input {facts['input']['dtype']}, expected {want_in}")


def generate(out_dir: Path = FIXTURES, only: list[str] | None = None) -> dict:
    """Convert every case (or those named in ``only``) into ``out_dir``; write and return the manifest."""
    from runtime.files import write_atomic

    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for case in cases():
        if only and case.name not in only:
            continue
        flatbuffer = _convert(case)
        facts = read_ops(flatbuffer)
        _check(case, facts)
        path = out_dir / f"{case.name}.tflite"
        write_atomic(path, lambda f: f.write(flatbuffer), "wb")
        entries.append({"name": case.name, "file": path.name, "op": case.op,
                        "settings": case.manifest_settings(), "input_shape": list(case.input_shape),
                        **facts, "sha256": hashlib.sha256(flatbuffer).hexdigest()})
        logger.info("%s: %s (%d bytes)", case.name, " ".join(o["op"] for o in facts["ops"]), len(flatbuffer))
    manifest = {"about": "per-op test models; regenerate with `python -m tests.opmodels`", "cases": entries}
    if not only:
        for stale in set(p.name for p in out_dir.glob("*.tflite")) - {e["file"] for e in entries}:
            (out_dir / stale).unlink()
        lines = ",\n".join(f"  {json.dumps(e)}" for e in entries)  # one case per line
        text = f'{{"about": {json.dumps(manifest["about"])},\n "cases": [\n{lines}\n]}}\n'
        write_atomic(out_dir / MANIFEST.name, lambda f: f.write(text))
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.opmodels", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=FIXTURES, help="folder for the .tflite files and manifest.json")
    parser.add_argument("--only", nargs="*", help="case names to convert (no manifest is written)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    manifest = generate(args.out, args.only)
    logger.info("%d cases in %s", len(manifest["cases"]), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
