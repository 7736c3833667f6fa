"""The fast kernels on their own: each case is one op, checked against TFLite Micro and counted on QEMU.

A suite is one C "model" with the harness API: ``invoke`` runs the case whose number is in
``input[0]`` on the inputs that follow (from byte 4), so one build runs a whole grid and the
harness counts each case's instructions (QEMU ``mps2-an386``, ``-icount shift=0``: instructions,
not cycles). The same source builds for the host (portable path) and, with ``-DEDGEPORT_PORTABLE``,
for the portable path on the Cortex-M4.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UsageError

PREFIX = "kbench"
HEADER = f"{PREFIX}.h"
_LITERAL = {"int8_t": str, "int32_t": str, "uint32_t": lambda v: f"0x{int(v):08x}u"}


@dataclass
class Case:
    """One op: its .tflite (the reference), int8 inputs in op order, and its lowering."""

    name: str
    tflite: bytes
    inputs: list[np.ndarray]
    call: object  # export.csrc.fast.KernelCall
    out_size: int
    macs: int = 0
    kernel_inputs: list[np.ndarray] | None = None  # the bytes the kernel reads, when not ``inputs``
    in_place: int | None = None   # run with the output written over this input
    expected: np.ndarray | None = field(default=None, repr=False)

    def c_inputs(self) -> list[np.ndarray]:
        return self.inputs if self.kernel_inputs is None else self.kernel_inputs

    def reference(self) -> np.ndarray:
        """TFLite Micro's output bytes (computed once)."""
        if self.expected is None:
            from .oneop import tflm_outputs

            self.expected = tflm_outputs(self.tflite, self.inputs).reshape(-1)
        return self.expected


def _table(name: str, ctype: str, values: np.ndarray, comment: str) -> str:
    fmt = _LITERAL[ctype]
    vals = [fmt(int(v)) for v in np.asarray(values).reshape(-1)] or ["0"]
    int32_min = str(-(2**31))
    vals = ["INT32_MIN" if v == int32_min else v for v in vals]
    rows = [", ".join(vals[i:i + 12]) for i in range(0, len(vals), 12)]
    return f"/* {comment} */\nstatic const {ctype} {name}[{len(vals)}] = {{\n    " + ",\n    ".join(rows) + "\n};\n"


def suite_source(cases: list[Case]) -> tuple[str, str]:
    """(C source, header) running ``cases``; each case's tables are renamed c<i>_..."""
    from export.csrc.library import library

    if not cases or len(cases) > 127:
        raise UsageError(f"a suite takes 1 to 127 cases, got {len(cases)}")
    in_size = 4 + max(sum(x.size for x in c.inputs) for c in cases)
    out_size = max(c.out_size for c in cases)
    work = max((c.call.work_bytes + 3) // 4 * 4 + (c.inputs[c.in_place].size if c.in_place is not None else 0)
               for c in cases)
    units = library().collect(sorted({k for c in cases for k in c.call.kernels}))
    out = [f"/* edgeport fast-kernel suite: {len(cases)} cases, one per invoke (input[0]) */",
           f'#include "{HEADER}"', "", "#include <stddef.h>", "#include <stdint.h>", ""]
    out += [u.text for u in units]
    calls = []
    for i, c in enumerate(cases):
        tag = f"c{i}"
        body = "\n".join(c.call.body)
        for t in c.call.tables:
            out.append(_table(f"{tag}_{t.name}", t.ctype, t.values, t.comment))
            body = body.replace(t.name, f"{tag}_{t.name}")
        names = ["in"] if len(c.inputs) == 1 else [f"in{k}" for k in range(len(c.inputs))]
        params = [f"const int8_t *{n}" for n in names] + ["int8_t *out", f"{c.call.work_ctype} *work"]
        lines = ["(void)work;", *body.splitlines()]
        if c.in_place is not None:  # copy the input behind the work buffer, run there, copy the output out
            k, size = c.in_place, c.inputs[c.in_place].size
            io = f"(int8_t *)work + {(c.call.work_bytes + 3) // 4 * 4}"
            params[k] = f"const int8_t *{names[k]}_src"
            params[len(names)] = "int8_t *result"
            lines = [f"int8_t *const io = {io};", "int i;", f"for (i = 0; i < {size}; i++) {{",
                     f"    io[i] = {names[k]}_src[i];", "}", "{",
                     f"    const int8_t *{names[k]} = io;", "    int8_t *out = io;",
                     *[f"    {line}" for line in lines], "}", f"for (i = 0; i < {c.out_size}; i++) {{",
                     "    result[i] = io[i];", "}"]
        out.append(f"/* {c.name}: {c.call.comment} */\nstatic void case{i}({', '.join(params)})\n{{\n"
                   + "".join(f"    {line}\n" for line in lines) + "}\n")
        offsets, at = [], 4
        for x in c.inputs:
            offsets.append(f"input + {at}")
            at += x.size
        calls += [f"    case {i}:", f"        case{i}({', '.join(offsets)}, output, ({c.call.work_ctype} *)scratch);",
                  "        break;"]
    lines = [f"int {PREFIX}_invoke(const {PREFIX}_input_t *input, {PREFIX}_output_t *output, void *scratch)", "{",
             "    if (input == NULL || output == NULL || scratch == NULL) {", "        return -1;", "    }",
             "    switch (input[0]) {", *calls,
             "    default:", "        return -2;", "    }", "    return 0;", "}", "",
             f"int {PREFIX}_verify(void)", "{", "    return 0;", "}", ""]
    out.append("\n".join(lines))
    P = PREFIX.upper()
    header = (f"#ifndef {P}_H\n#define {P}_H\n#include <stdint.h>\n"
              f"#define {P}_INPUT_SIZE {in_size}\n#define {P}_OUTPUT_SIZE {out_size}\n"
              f"#define {P}_SCRATCH_BYTES {max(work, 4)}\n"
              f"typedef int8_t {PREFIX}_input_t;\ntypedef int8_t {PREFIX}_output_t;\n"
              f"int {PREFIX}_invoke(const {PREFIX}_input_t *input, {PREFIX}_output_t *output, void *scratch);\n"
              f"int {PREFIX}_verify(void);\n#endif\n")
    return "\n".join(out), header


def suite_inputs(cases: list[Case]) -> np.ndarray:
    """One input row per case: the case number, 3 bytes of padding, then the case's inputs."""
    width = 4 + max(sum(x.size for x in c.inputs) for c in cases)
    rows = np.zeros((len(cases), width), dtype=np.int8)
    for i, c in enumerate(cases):
        flat = np.concatenate([x.reshape(-1).view(np.int8) for x in c.c_inputs()])
        rows[i, 0] = i
        rows[i, 4:4 + flat.size] = flat
    return rows


def write_suite(cases: list[Case], folder: Path) -> Path:
    """Write kbench.c and kbench.h into ``folder``; return the .c path."""
    c_text, h_text = suite_source(cases)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / HEADER).write_text(h_text)
    path = folder / f"{PREFIX}.c"
    path.write_text(c_text)
    return path


def outputs_match(cases: list[Case], outputs: np.ndarray) -> list[str]:
    """Names (with the first differing index) of the cases whose bytes differ from TFLite Micro's."""
    bad = []
    for i, c in enumerate(cases):
        ref = c.reference()
        got = outputs[i, :c.out_size]
        if not np.array_equal(got, ref):
            first = int(np.flatnonzero(got != ref)[0])
            bad.append(f"{c.name} (index {first}: {int(got[first])} vs TFLM {int(ref[first])}, "
                       f"{int((got != ref).sum())} of {ref.size} differ)")
    return bad


def _same_pad(size_in: int, size_out: int, stride: int, k: int) -> int:
    return max(0, ((size_out - 1) * stride + k - size_in) // 2)


def _out_size(size_in: int, stride: int, k: int, padding: str) -> int:
    return (size_in + stride - 1) // stride if padding == "SAME" else (size_in - k + stride) // stride


def conv_case(rng: np.random.Generator, name: str, in_shape: tuple[int, int, int], out_c: int, kernel=(1, 1),
              stride=(1, 1), padding="SAME", activation="NONE", *, depthwise: bool = False,
              in_zero_point: int | None = None, out_scale: float = 1.0, bias_offset: int = 0,
              in_u8: bool = False, per_tensor: bool = False, in_place: bool = False,
              maxpool: tuple[int, int] | None = None) -> Case:
    """A CONV_2D (or DEPTHWISE_CONV_2D) with random int8 weights and plausible per-channel quantization.

    ``out_scale`` scales the output scale (below ~0.02 the multipliers exceed 1: left shifts);
    ``bias_offset`` is added to every bias; ``in_u8`` feeds the kernel uint8 bytes (x + 128), as
    for a folded uint8 -> int8 QUANTIZE; ``per_tensor`` gives the weights one scale; ``in_place``
    runs the kernel with its output over its input; ``maxpool`` adds a MAX_POOL_2D (window =
    stride, VALID) after the conv, folded into the kernel."""
    from export.csrc.quant import activation_range, conv_multipliers

    from .oneop import Quant, conv_model

    in_h, in_w, in_c = in_shape
    k_h, k_w = kernel
    out_h, out_w = _out_size(in_h, stride[0], k_h, padding), _out_size(in_w, stride[1], k_w, padding)
    zx = int(rng.integers(-128, 128)) if in_zero_point is None else in_zero_point
    sx = float(rng.uniform(0.01, 0.1))
    if depthwise:
        w = rng.integers(-127, 128, size=(1, k_h, k_w, out_c)).astype(np.int8)
        taps = k_h * k_w
    else:
        w = rng.integers(-127, 128, size=(out_c, k_h, k_w, in_c)).astype(np.int8)
        taps = k_h * k_w * in_c
    sw = rng.uniform(0.002, 0.02, size=1 if per_tensor else out_c)
    acc_std = np.sqrt(taps) * 74.0 * 73.0  # std of (uniform int8 - zero point) * uniform int8 weight
    bias = (np.round(rng.normal(0, acc_std, size=out_c) * 0.5) + bias_offset).astype(np.int32)
    sy = float(np.median(acc_std * sx * sw) / 40.0) * out_scale
    zy = -128 if activation in ("RELU", "RELU6") else int(rng.integers(-20, 21))
    x_q, y_q = Quant((sx,), (zx,)), Quant((sy,), (zy,))
    tflite = conv_model(in_shape, w, bias, x_q, sw, y_q, (out_h, out_w, out_c), stride=stride, padding=padding,
                        activation=activation, depthwise=depthwise, maxpool=maxpool)
    x = rng.integers(-128, 128, size=(1, *in_shape)).astype(np.int8)
    mult, shift = conv_multipliers(np.float32(sx), sw.astype(np.float32), np.float32(sy), out_c)
    sw = np.broadcast_to(sw, (out_c,))
    lo, hi = activation_range(activation, np.float32(sy), zy)
    pad = (_same_pad(in_h, out_h, stride[0], k_h), _same_pad(in_w, out_w, stride[1], k_w)) if padding == "SAME" else (0, 0)
    common = dict(in_offset=-zx - (128 if in_u8 else 0), in_u8=in_u8, out_zero_point=zy, act_min=lo, act_max=hi, stride=stride, pad=pad)
    if depthwise:
        from export.csrc.fast.depthwise import depthwise_call

        call = depthwise_call("k", in_shape, (out_h, out_w, out_c), w, bias, mult, shift, in_place=in_place, **common)
        macs = k_h * k_w * out_h * out_w * out_c
    else:
        from export.csrc.fast.conv import conv_call

        fused = None if maxpool is None else (*maxpool, -128, 127)
        call = conv_call("k", in_shape, (out_h, out_w, out_c), w, bias, mult, shift, maxpool=fused, **common)
        macs = k_h * k_w * in_c * out_h * out_w * out_c
    kernel_x = [(x.astype(np.int16) + 128).astype(np.uint8)] if in_u8 else None
    size = out_h * out_w * out_c if maxpool is None else (out_h // maxpool[0]) * (out_w // maxpool[1]) * out_c
    return Case(name, tflite, [x], call, size, macs, kernel_x, 0 if in_place else None)


def add_case(rng: np.random.Generator, name: str, shape: tuple[int, ...], activation="NONE",
             in_place: int | None = None) -> Case:
    """ADD of two int8 tensors with different random quantizations."""
    from export.csrc.fast.add import add_call
    from export.csrc.quant import activation_range

    from .oneop import Quant, add_model

    qa = (float(rng.uniform(0.02, 0.2)), int(rng.integers(-128, 128)))
    qb = (float(rng.uniform(0.02, 0.2)), int(rng.integers(-128, 128)))
    qo = (float(rng.uniform(0.05, 0.4)), -128 if activation == "RELU" else int(rng.integers(-40, 40)))
    tflite = add_model((1, *shape), Quant((qa[0],), (qa[1],)), Quant((qb[0],), (qb[1],)), Quant((qo[0],), (qo[1],)),
                       activation=activation)
    a = rng.integers(-128, 128, size=(1, *shape)).astype(np.int8)
    b = rng.integers(-128, 128, size=(1, *shape)).astype(np.int8)
    lo, hi = activation_range(activation, np.float32(qo[0]), qo[1])
    size = int(np.prod(shape))
    return Case(name, tflite, [a, b], add_call("k", size, qa, qb, qo, lo, hi), size, in_place=in_place)


def avgpool_case(rng: np.random.Generator, name: str, in_shape: tuple[int, int, int], k_hw=(2, 2), stride=(2, 2),
                 padding="VALID", activation="NONE", in_place: bool = False) -> Case:
    """AVERAGE_POOL_2D with random int8 input and quantization."""
    from export.csrc.fast.pool import avgpool_call
    from export.csrc.quant import activation_range

    from .oneop import Quant, avgpool_model

    in_h, in_w, c = in_shape
    out_h, out_w = _out_size(in_h, stride[0], k_hw[0], padding), _out_size(in_w, stride[1], k_hw[1], padding)
    q = (float(rng.uniform(0.02, 0.2)), int(rng.integers(-128, 128)))
    tflite = avgpool_model(in_shape, (out_h, out_w, c), Quant((q[0],), (q[1],)), filter_hw=k_hw, stride=stride,
                           padding=padding, activation=activation)
    x = rng.integers(-128, 128, size=(1, *in_shape)).astype(np.int8)
    lo, hi = activation_range(activation, np.float32(q[0]), q[1])
    pad = ((_same_pad(in_h, out_h, stride[0], k_hw[0]), _same_pad(in_w, out_w, stride[1], k_hw[1]))
           if padding == "SAME" else (0, 0))
    call = avgpool_call(in_shape, (out_h, out_w, c), k_hw, stride, pad, lo, hi)
    return Case(name, tflite, [x], call, out_h * out_w * c, in_place=0 if in_place else None)


def fc_case(rng: np.random.Generator, name: str, cols: int, rows: int, activation="NONE", *, in_u8: bool = False,
            out_scale: float = 1.0) -> Case:
    """FULLY_CONNECTED with random int8 weights (one scale) and plausible quantization."""
    from export.csrc.fast.fc import fc_call
    from export.csrc.quant import activation_range, conv_multipliers

    from .oneop import Quant, fc_model

    zx, sx = int(rng.integers(-128, 128)), float(rng.uniform(0.01, 0.1))
    w = rng.integers(-127, 128, size=(rows, cols)).astype(np.int8)
    sw = float(rng.uniform(0.002, 0.02))
    acc_std = np.sqrt(cols) * 74.0 * 73.0
    bias = np.round(rng.normal(0, acc_std, size=rows) * 0.5).astype(np.int32)
    sy = float(acc_std * sx * sw / 40.0) * out_scale
    zy = -128 if activation in ("RELU", "RELU6") else int(rng.integers(-20, 21))
    tflite = fc_model(cols, w, bias, Quant((sx,), (zx,)), sw, Quant((sy,), (zy,)), activation=activation)
    x = rng.integers(-128, 128, size=(1, cols)).astype(np.int8)
    mult, shift = conv_multipliers(np.float32(sx), np.array([sw], dtype=np.float32), np.float32(sy), rows)
    lo, hi = activation_range(activation, np.float32(sy), zy)
    call = fc_call("k", w, bias, mult, shift, in_offset=-zx - (128 if in_u8 else 0), in_u8=in_u8, out_zero_point=zy,
                   act_min=lo, act_max=hi)
    kernel_x = [(x.astype(np.int16) + 128).astype(np.uint8)] if in_u8 else None
    return Case(name, tflite, [x], call, rows, rows * cols, kernel_x)


def maxpool_case(rng: np.random.Generator, name: str, in_shape: tuple[int, int, int], k_hw=(2, 2), stride=(2, 2),
                 padding="VALID", activation="NONE", in_place: bool = False) -> Case:
    """MAX_POOL_2D with random int8 input and quantization."""
    from export.csrc.fast.pool import maxpool_call
    from export.csrc.quant import activation_range

    from .oneop import Quant, pool_model

    in_h, in_w, c = in_shape
    out_h, out_w = _out_size(in_h, stride[0], k_hw[0], padding), _out_size(in_w, stride[1], k_hw[1], padding)
    q = (float(rng.uniform(0.02, 0.2)), int(rng.integers(-100, 100)))
    tflite = pool_model("MAX_POOL_2D", in_shape, (out_h, out_w, c), Quant((q[0],), (q[1],)), filter_hw=k_hw,
                        stride=stride, padding=padding, activation=activation)
    x = rng.integers(-128, 128, size=(1, *in_shape)).astype(np.int8)
    lo, hi = activation_range(activation, np.float32(q[0]), q[1])
    pad = ((_same_pad(in_h, out_h, stride[0], k_hw[0]), _same_pad(in_w, out_w, stride[1], k_hw[1]))
           if padding == "SAME" else (0, 0))
    call = maxpool_call(in_shape, (out_h, out_w, c), k_hw, stride, pad, lo, hi)
    return Case(name, tflite, [x], call, out_h * out_w * c, in_place=0 if in_place else None)
