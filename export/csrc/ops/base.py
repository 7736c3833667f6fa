"""What every op module declares, and the helpers they share.

An op module defines ``OP = OpDef(...)`` (or ``OPS``) with:
- ``parse``: the builtin options -> the op's typed attributes (once, in the reader);
- ``check``: raise UnsupportedOpError for what the C code cannot do (dtypes, shapes, constants);
- ``lower_int8`` / ``lower_fp32``: the op -> a ``Step`` (or an ``Alias``), constants computed here;
- ``kernel_files``: the files in ``kernels/`` whose functions its steps may call;
- ``macs``: multiply-accumulates of one inference.
A lowering picks its kernel per target either inside the C kernel (``#if USE_DSP``) or by naming a
different kernel function; both are plain C in ``kernels/``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ...errors import ConversionError
from ..errors import UnsupportedOpError
from ..ir import Graph, Op, Tensor

if TYPE_CHECKING:
    from ..lower import Lowering
    from ..program import Alias, Step

ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
C_ACTIVATIONS = ("NONE", "RELU", "RELU_N1_TO_1", "RELU6")
PADDING = {0: "SAME", 1: "VALID"}


def no_macs(graph: Graph, op: Op) -> int:
    return 0


def no_attrs(options: Any) -> None:
    return None


@dataclass(frozen=True)
class OpDef:
    """One op's contract with the generator."""

    names: tuple[str, ...]
    parse: Callable[[Any], Any]
    check: Callable[[Graph, Op, bool], None]
    lower_int8: Callable[["Lowering", Op], "Step | Alias"] | None
    lower_fp32: Callable[["Lowering", Op], "Step | Alias"] | None
    kernel_files: tuple[str, ...] = ()
    macs: Callable[[Graph, Op], int] = no_macs


def activation(options: Any) -> str:
    """The fused activation of ``options`` by name (a name outside C_ACTIVATIONS is refused by checks)."""
    code = getattr(options, "fusedActivationFunction", 0) or 0
    return ACTIVATIONS.get(code, f"activation {code}")


def check_activation(op: Op, name: str) -> None:
    if name not in C_ACTIVATIONS:
        raise UnsupportedOpError(op.kind, f"fused activation {name}")


def expect(op: Op, t: Tensor, dtype: str) -> None:
    """``t`` must be ``dtype``, with quantization parameters when it is an 8-bit type."""
    if t.dtype != dtype or (dtype in ("int8", "uint8") and not t.quantized):
        raise UnsupportedOpError(op.kind, f"tensor {t.name!r} is {t.dtype}; expected "
                                          f"{'quantized ' if dtype in ('int8', 'uint8') else ''}{dtype}")


def expect_unary(graph: Graph, op: Op, quantized: bool) -> tuple[Tensor, Tensor]:
    """The op's first input and its output, both quantized int8 (``quantized``) or both float32."""
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    for t in (x, y):
        expect(op, t, "int8" if quantized else "float32")
    return x, y


def expect_const(op: Op, t: Tensor, what: str) -> None:
    if t.data is None:
        raise UnsupportedOpError(op.kind, f"{what} {t.name!r} is not a constant")


def check_int32(values: np.ndarray, what: str) -> np.ndarray:
    if values.size and (values.min() < -(2**31) or values.max() > 2**31 - 1):
        raise ConversionError(f"{what} overflows int32 after folding the input zero point")
    return values.astype(np.int32)


def struct_init(struct: str, fields: dict, width: int = 112) -> list[str]:
    """``static const struct <struct> params = {...};``, fields packed into lines of at most ``width``."""
    lines, line = [f"static const struct {struct} params = {{"], ""
    for item in (f".{k} = {v}," for k, v in fields.items()):
        if line and len(line) + 1 + len(item) > width - 4:
            lines.append("    " + line)
            line = ""
        line = f"{line} {item}" if line else item
    return lines + ["    " + line, "};"]


@dataclass(frozen=True)
class Window:
    """Strides, dilations and padding of a convolution or pooling op (TFLite SAME/VALID rules, or
    EXPLICIT: ``explicit`` rows/columns (top, bottom, left, right), a PAD folded in by ``simplify``)."""

    padding: str
    stride_h: int
    stride_w: int
    dilation_h: int = 1
    dilation_w: int = 1
    explicit: tuple[int, int, int, int] | None = None

    def pads(self, in_hw: tuple[int, int], out_hw: tuple[int, int],
             k_hw: tuple[int, int]) -> tuple[tuple[int, int], ...]:
        """(before, after) padding along h and w for these sizes (SAME: TFLite's rule)."""
        if self.explicit is not None:
            return (self.explicit[0], self.explicit[1]), (self.explicit[2], self.explicit[3])
        out = []
        for size_in, size_out, stride, dil, k in zip(in_hw, out_hw, (self.stride_h, self.stride_w),
                                                     (self.dilation_h, self.dilation_w), k_hw):
            total = max(0, (size_out - 1) * stride + (k - 1) * dil + 1 - size_in) if self.padding == "SAME" else 0
            out.append((total // 2, total - total // 2))
        return tuple(out)


def conv_geometry(op: Op, win: Window, x: Tensor, y: Tensor, k_h: int, k_w: int) -> dict:
    """Explicit dims, strides and padding of a CONV/DEPTHWISE/POOL op."""
    if len(x.shape) != 4 or len(y.shape) != 4 or x.shape[0] != 1:
        raise UnsupportedOpError(op.kind, f"input shape {x.shape}; expected NHWC with batch 1")
    geo = {"in_h": x.shape[1], "in_w": x.shape[2], "in_c": x.shape[3], "out_h": y.shape[1],
           "out_w": y.shape[2], "out_c": y.shape[3], "k_h": k_h, "k_w": k_w, "stride_h": win.stride_h,
           "stride_w": win.stride_w, "dilation_h": win.dilation_h, "dilation_w": win.dilation_w}
    for axis, stride, dil, k in (("h", win.stride_h, win.dilation_h, k_h), ("w", win.stride_w, win.dilation_w, k_w)):
        if stride < 1 or dil < 1:
            raise UnsupportedOpError(op.kind, f"stride {stride}, dilation {dil}")
        size_in, size_out = geo[f"in_{axis}"], geo[f"out_{axis}"]
        eff = (k - 1) * dil + 1
        same = win.padding == "SAME"
        if win.explicit is not None:
            before, after = win.explicit[:2] if axis == "h" else win.explicit[2:]
            expect_out = (size_in + before + after - eff) // stride + 1
        else:
            expect_out = (size_in + stride - 1) // stride if same else (size_in + stride - eff) // stride
        if expect_out != size_out:
            raise ConversionError(f"{op.kind}: output {axis} {size_out} does not match padding rules ({expect_out})")
        if win.explicit is not None:
            geo[f"pad_{axis}"] = before
        else:
            geo[f"pad_{axis}"] = max(0, ((size_out - 1) * stride + eff - size_in) // 2) if same else 0
    return geo


def geometry_text(geo: dict) -> str:
    return f"{geo['in_h']}x{geo['in_w']}x{geo['in_c']} -> {geo['out_h']}x{geo['out_w']}x{geo['out_c']}"
