"""Small int8 graphs built op by op as .tflite flatbuffers, for the tests of the C generator's graph
passes (fused residual blocks, removed constant channels): random weights, output scales that keep
the int8 codes varied, and any weights or biases a test needs."""
from __future__ import annotations

import numpy as np

from benchmarks.mcu.oneop import ACTIVATIONS, PADDINGS, Builder, Quant


class Net:
    """A small int8 graph built op by op: convolutions with random weights and output scales that
    keep the int8 codes varied, and ADDs."""

    def __init__(self, rng: np.random.Generator, shape: tuple[int, int, int]) -> None:
        self.rng, self.b = rng, Builder()
        self.shapes: dict[int, tuple[int, int, int]] = {}
        self.spread: dict[int, float] = {}  # rough standard deviation of a tensor's codes
        self.input = self._act("x", shape, 0.03, -5)
        self.spread[self.input] = 73.0

    def _act(self, name: str, shape, scale: float, zero_point: int = -128) -> int:
        t = self.b.tensor(name, (1, *shape), "int8", Quant((scale,), (zero_point,)))
        self.shapes[t] = tuple(shape)
        return t

    def scale(self, t: int) -> float:
        return float(self.b.tensors[t].quantization.scale[0])

    def conv(self, x: int, out_c: int, k: int = 3, stride: int = 1, padding: str = "SAME", activation: str = "RELU",
             weights: np.ndarray | None = None, bias: np.ndarray | None = None) -> int:
        s, rng = self.b.s, self.rng
        h, w, c = self.shapes[x]
        out_h, out_w = ((h + stride - 1) // stride, (w + stride - 1) // stride) if padding == "SAME" else (
            (h - k) // stride + 1, (w - k) // stride + 1)
        taps = k * k * c
        sw = rng.uniform(0.002, 0.01, size=out_c)
        if weights is None:
            weights = rng.integers(-127, 128, size=(out_c, k, k, c)).astype(np.int8)
        if bias is None:
            bias = np.round(rng.normal(0, 0.5 * np.sqrt(taps) * self.spread[x] * 73, size=out_c)).astype(np.int32)
        n = len(self.b.tensors)
        wt = self.b.tensor(f"w{n}", weights.shape, "int8", Quant(tuple(sw), (0,) * out_c, 0), weights)
        sx = self.scale(x)
        bt = self.b.tensor(f"b{n}", (out_c,), "int32",
                           Quant(tuple(float(np.float32(sx) * np.float32(v)) for v in sw), (0,) * out_c), bias)
        y = self._act(f"y{n}", (out_h, out_w, out_c),
                      float(np.median(np.sqrt(taps) * self.spread[x] * 73 * sx * sw) / 30),
                      int(rng.integers(-64, 0)) if activation == "NONE" else -128)
        self.spread[y] = 30.0 if activation == "NONE" else 18.0
        opt = s.Conv2DOptionsT()
        opt.padding, opt.strideH, opt.strideW = PADDINGS[padding], stride, stride
        opt.dilationHFactor = opt.dilationWFactor = 1
        opt.fusedActivationFunction = ACTIVATIONS[activation]
        self.b.op(s.BuiltinOperator.CONV_2D, [x, wt, bt], [y], s.BuiltinOptions.Conv2DOptions, opt)
        return y

    def add(self, a: int, b: int, activation: str = "RELU") -> int:
        s = self.b.s
        y = self._act(f"add{len(self.b.tensors)}", self.shapes[a], 1.5 * max(self.scale(a), self.scale(b)),
                      -128 if activation == "RELU" else -20)
        self.spread[y] = 20.0
        opt = s.AddOptionsT()
        opt.fusedActivationFunction = ACTIVATIONS[activation]
        self.b.op(s.BuiltinOperator.ADD, [a, b], [y], s.BuiltinOptions.AddOptions, opt)
        return y

    def depthwise(self, x: int, stride: int = 1, padding: str = "SAME", activation: str = "RELU",
                  bias: np.ndarray | None = None) -> int:
        """3x3 DEPTHWISE_CONV_2D, multiplier 1."""
        s, rng = self.b.s, self.rng
        h, w, c = self.shapes[x]
        out_h, out_w = ((h + stride - 1) // stride, (w + stride - 1) // stride) if padding == "SAME" else (
            (h - 3) // stride + 1, (w - 3) // stride + 1)
        sw = rng.uniform(0.002, 0.01, size=c)
        n = len(self.b.tensors)
        weights = rng.integers(-127, 128, size=(1, 3, 3, c)).astype(np.int8)
        if bias is None:
            bias = np.round(rng.normal(0, 0.5 * 3 * self.spread[x] * 73, size=c)).astype(np.int32)
        wt = self.b.tensor(f"w{n}", weights.shape, "int8", Quant(tuple(sw), (0,) * c, 3), weights)
        sx = self.scale(x)
        bt = self.b.tensor(f"b{n}", (c,), "int32",
                           Quant(tuple(float(np.float32(sx) * np.float32(v)) for v in sw), (0,) * c), bias)
        y = self._act(f"y{n}", (out_h, out_w, c), float(np.median(3 * self.spread[x] * 73 * sx * sw) / 30),
                      int(rng.integers(-64, 0)) if activation == "NONE" else -128)
        self.spread[y] = 30.0 if activation == "NONE" else 18.0
        opt = s.DepthwiseConv2DOptionsT()
        opt.padding, opt.strideH, opt.strideW, opt.depthMultiplier = PADDINGS[padding], stride, stride, 1
        opt.dilationHFactor = opt.dilationWFactor = 1
        opt.fusedActivationFunction = ACTIVATIONS[activation]
        self.b.op(s.BuiltinOperator.DEPTHWISE_CONV_2D, [x, wt, bt], [y], s.BuiltinOptions.DepthwiseConv2DOptions, opt)
        return y

    def global_avgpool(self, x: int) -> int:
        """AVERAGE_POOL_2D over the whole image, then RESHAPE to [1, channels]."""
        s = self.b.s
        h, w, c = self.shapes[x]
        q = self.b.tensors[x].quantization
        pooled = self._act(f"pool{len(self.b.tensors)}", (1, 1, c), float(q.scale[0]), int(q.zeroPoint[0]))
        opt = s.Pool2DOptionsT()
        opt.padding, opt.strideH, opt.strideW, opt.filterHeight, opt.filterWidth = PADDINGS["VALID"], 1, 1, h, w
        self.b.op(s.BuiltinOperator.AVERAGE_POOL_2D, [x], [pooled], s.BuiltinOptions.Pool2DOptions, opt)
        flat = self.b.tensor(f"flat{len(self.b.tensors)}", (1, c), "int8", Quant((float(q.scale[0]),),
                                                                             (int(q.zeroPoint[0]),)))
        shape = self.b.tensor(f"shape{len(self.b.tensors)}", (2,), "int32", None, np.array([1, c], dtype=np.int32))
        ropt = s.ReshapeOptionsT()
        ropt.newShape = [1, c]
        self.b.op(s.BuiltinOperator.RESHAPE, [pooled, shape], [flat], s.BuiltinOptions.ReshapeOptions, ropt)
        self.spread[flat] = self.spread[x] / 2
        return flat

    def fc(self, x: int, rows: int, codes: np.ndarray | None = None) -> int:
        """FULLY_CONNECTED of a [1, cols] tensor, per-tensor weights. ``codes``: sample input codes
        (n x cols); bias and output scale are then set from them, so the outputs vary."""
        s, rng = self.b.s, self.rng
        cols = self.b.tensors[x].shape[-1]
        n = len(self.b.tensors)
        weights = rng.integers(-127, 128, size=(rows, cols)).astype(np.int8)
        sw, sx = 0.005, self.scale(x)
        wt = self.b.tensor(f"w{n}", weights.shape, "int8", Quant((sw,), (0,)), weights)
        bias = np.round(rng.normal(0, 0.5 * np.sqrt(cols) * self.spread[x] * 73, size=rows)).astype(np.int32)
        spread = np.sqrt(cols) * self.spread[x] * 73
        if codes is not None:
            zp = int(self.b.tensors[x].quantization.zeroPoint[0])
            acc = (codes.astype(np.int64) - zp) @ weights.T.astype(np.int64)
            bias = np.round(-acc.mean(axis=0)).astype(np.int32)
            spread = max(float((acc - acc.mean(axis=0)).std()), 1.0)
        bt = self.b.tensor(f"b{n}", (rows,), "int32", Quant((float(np.float32(sx) * np.float32(sw)),), (0,)), bias)
        y = self.b.tensor(f"y{n}", (1, rows), "int8", Quant((float(spread * sx * sw / 30),), (-3,)))
        opt = s.FullyConnectedOptionsT()
        self.b.op(s.BuiltinOperator.FULLY_CONNECTED, [x, wt, bt], [y], s.BuiltinOptions.FullyConnectedOptions, opt)
        return y

    def pad(self, x: int, top: int, bottom: int, left: int, right: int, value: int | None = None) -> int:
        """PAD of the height and width (the zero point), or PADV2 with the int8 constant ``value``."""
        s = self.b.s
        h, w, c = self.shapes[x]
        q = self.b.tensors[x].quantization
        n = len(self.b.tensors)
        amounts = self.b.tensor(f"pads{n}", (4, 2), "int32", None,
                                np.array([[0, 0], [top, bottom], [left, right], [0, 0]], dtype=np.int32))
        y = self._act(f"padded{n}", (h + top + bottom, w + left + right, c), float(q.scale[0]), int(q.zeroPoint[0]))
        self.spread[y] = self.spread[x]
        if value is None:
            self.b.op(s.BuiltinOperator.PAD, [x, amounts], [y], s.BuiltinOptions.PadOptions, s.PadOptionsT())
        else:
            const = self.b.tensor(f"value{n}", (), "int8", Quant((float(q.scale[0]),), (int(q.zeroPoint[0]),)),
                                  np.array(value, dtype=np.int8))
            self.b.op(s.BuiltinOperator.PADV2, [x, amounts, const], [y], s.BuiltinOptions.PadV2Options,
                      s.PadV2OptionsT())
        return y

    def finish(self, output: int) -> bytes:
        return self.b.finish(graph_inputs=[self.input], graph_outputs=[output])
