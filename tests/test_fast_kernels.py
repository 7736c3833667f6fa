"""The fast int8 kernels (export/csrc/kernels/fast/) against TFLite Micro, byte for byte.

Each grid is one suite of single-op models (built as flatbuffers, run by the tflite-micro
interpreter for the reference bytes). The same C runs on the host (portable path), and on QEMU's
Cortex-M4 twice: the DSP path and, built with -DEDGEPORT_PORTABLE, the portable path. Without the
ARM tools the QEMU half skips, except in CI.
"""
from __future__ import annotations


import numpy as np
import pytest

from benchmarks.mcu import cross_compile, run_qemu
from benchmarks.mcu.kernels import (Case, add_case, avgpool_case, conv_case, fc_case, maxpool_case, outputs_match,
                                    suite_inputs, write_suite)
from export.csrc.fast.channels import fast_requant_ok, rounds
from export.csrc.fast.fixedpoint import mbqm
from export.csrc.host import HostCModel
from tests.tools import require_board


def _conv_grid() -> list[Case]:
    rng = np.random.default_rng(17)
    c = conv_case
    return [
        c(rng, "1x1 5x5x64->64 (KWS pointwise)", (5, 5, 64), 64, activation="RELU"),
        c(rng, "1x1 3x3x13->7, odd channels, 9 pixels", (3, 3, 13), 7),
        c(rng, "1x1 2x3x8->16, pixels < 4, RELU6", (2, 3, 8), 16, activation="RELU6"),
        c(rng, "1x1 s2 7x7x16->12", (7, 7, 16), 12, (1, 1), (2, 2)),
        c(rng, "3x3 same 6x6x16->16", (6, 6, 16), 16, (3, 3), activation="RELU"),
        c(rng, "3x3 same s2 9x9x3->8 (VWW first)", (9, 9, 3), 8, (3, 3), (2, 2), activation="RELU"),
        c(rng, "10x4 same s2 13x6x1->20 (KWS first)", (13, 6, 1), 20, (10, 4), (2, 2), activation="RELU"),
        c(rng, "3x3 valid 7x6x5->6", (7, 6, 5), 6, (3, 3), padding="VALID"),
        c(rng, "2x5 same s(1,2) 5x9x4->3", (5, 9, 4), 3, (2, 5), (1, 2)),
        c(rng, "1x1 zero point -128", (4, 4, 12), 8, in_zero_point=-128),
        c(rng, "3x3 zero point 127", (5, 5, 4), 4, (3, 3), in_zero_point=127),
        c(rng, "1x1 left shifts (multipliers >= 0.5)", (3, 3, 8), 8, out_scale=0.002),
        c(rng, "3x3 huge bias: exact requantization", (4, 4, 4), 4, (3, 3), bias_offset=1_200_000_000),
        c(rng, "1x1 uint8 input (folded QUANTIZE)", (3, 5, 8), 8, in_u8=True),
        c(rng, "3x3 s2 uint8 input, 3 channels", (6, 6, 3), 8, (3, 3), (2, 2), in_u8=True),
        c(rng, "3x3 per-tensor weight scale", (5, 4, 8), 6, (3, 3), per_tensor=True),
        c(rng, "1x1 in place 5x3x16->16", (5, 3, 16), 16, in_place=True),
        c(rng, "1x1 in place 3x3x24->8 (fewer channels out)", (3, 3, 24), 8, in_place=True),
        c(rng, "3x3 + maxpool 2x2, 8x8x1->16 uint8 (CNN first)", (8, 8, 1), 16, (3, 3), activation="RELU",
          in_u8=True, maxpool=(2, 2)),
        c(rng, "3x3 + maxpool 2x2, odd 7x9x8->6", (7, 9, 8), 6, (3, 3), maxpool=(2, 2)),
        c(rng, "3x3 s2 + maxpool 3x3, 12x12x4->8", (12, 12, 4), 8, (3, 3), (2, 2), activation="RELU6", maxpool=(3, 3)),
    ]


def _depthwise_grid() -> list[Case]:
    rng = np.random.default_rng(18)

    def d(*args, **kwargs) -> Case:
        return conv_case(rng, *args, depthwise=True, **kwargs)

    return [
        d("s1 same 25x5x64 (KWS)", (25, 5, 64), 64, (3, 3), activation="RELU"),
        d("s1 same 6x7x8", (6, 7, 8), 8, (3, 3), activation="RELU6"),
        d("s2 same 8x8x16 (pad only bottom/right)", (8, 8, 16), 16, (3, 3), (2, 2), activation="RELU"),
        d("s2 same 7x7x5 (pad all sides)", (7, 7, 5), 5, (3, 3), (2, 2)),
        d("s1 valid 6x5x3", (6, 5, 3), 3, (3, 3), padding="VALID"),
        d("s2 valid 7x8x3", (7, 8, 3), 3, (3, 3), (2, 2), padding="VALID"),
        d("s1 same 1x4x3 (one row)", (1, 4, 3), 3, (3, 3)),
        d("s1 same 4x1x3 (one column)", (4, 1, 3), 3, (3, 3)),
        d("s2 same 2x2x3", (2, 2, 3), 3, (3, 3), (2, 2)),
        d("s1 zero point 127", (4, 4, 4), 4, (3, 3), in_zero_point=127),
        d("s1 left shifts", (4, 4, 4), 4, (3, 3), out_scale=0.002),
        d("s1 huge bias: exact requantization", (3, 3, 4), 4, (3, 3), bias_offset=1_500_000_000),
        d("s2 per-tensor weight scale", (6, 5, 6), 6, (3, 3), (2, 2), per_tensor=True),
        d("s1 in place 6x7x8", (6, 7, 8), 8, (3, 3), in_place=True),
        d("s1 in place, taller than wide (columns) 9x4x8", (9, 4, 8), 8, (3, 3), in_place=True),
        d("s1 in place valid 6x7x4", (6, 7, 4), 4, (3, 3), padding="VALID", in_place=True),
        d("s2 in place 8x8x4", (8, 8, 4), 4, (3, 3), (2, 2), in_place=True),
    ]


def _elementwise_grid() -> list[Case]:
    """ADD, AVERAGE_POOL_2D, MAX_POOL_2D and FULLY_CONNECTED."""
    rng = np.random.default_rng(19)
    return [
        add_case(rng, "add 8x8x16", (8, 8, 16)),
        add_case(rng, "add RELU 4x4x32", (4, 4, 32), "RELU"),
        add_case(rng, "add RELU6 1x3x5", (1, 3, 5), "RELU6"),
        add_case(rng, "add 7 values", (7,)),
        add_case(rng, "add in place of a 4x4x8", (4, 4, 8), in_place=0),
        add_case(rng, "add in place of b 4x4x8", (4, 4, 8), "RELU", in_place=1),
        avgpool_case(rng, "avgpool global 25x5x64 (KWS)", (25, 5, 64), (25, 5), (1, 1)),
        avgpool_case(rng, "avgpool 2x2 s2 6x6x8", (6, 6, 8)),
        avgpool_case(rng, "avgpool 3x3 s2 same 7x7x6", (7, 7, 6), (3, 3), (2, 2), "SAME"),
        avgpool_case(rng, "avgpool 17x17 RELU 18x18x5 (> 256 values: scalar)", (18, 18, 5), (17, 17), (1, 1),
                     activation="RELU"),
        maxpool_case(rng, "maxpool 2x2 s2 6x6x16", (6, 6, 16)),
        maxpool_case(rng, "maxpool 3x3 s2 same RELU6 7x7x6", (7, 7, 6), (3, 3), (2, 2), "SAME", "RELU6"),
        maxpool_case(rng, "maxpool 2x2 s1 RELU 5x5x5", (5, 5, 5), (2, 2), (1, 1), activation="RELU"),
        maxpool_case(rng, "maxpool in place 2x2 s2 6x6x8", (6, 6, 8), in_place=True),
        avgpool_case(rng, "avgpool in place global 5x5x8", (5, 5, 8), (5, 5), (1, 1), in_place=True),
        fc_case(rng, "fc 64 -> 12", 64, 12),
        fc_case(rng, "fc 30 -> 7 RELU, odd sizes", 30, 7, "RELU"),
        fc_case(rng, "fc 3 -> 5, one partial block", 3, 5),
        fc_case(rng, "fc 21 -> 6 uint8 input", 21, 6, in_u8=True),
        fc_case(rng, "fc 16 -> 8 left shifts", 16, 8, out_scale=0.002),
    ]


GRIDS = {"conv": _conv_grid, "depthwise": _depthwise_grid, "other": _elementwise_grid}


@pytest.fixture(scope="module", params=list(GRIDS))
def suite(request, tmp_path_factory):
    cases = GRIDS[request.param]()
    folder = tmp_path_factory.mktemp(f"suite-{request.param}")
    return cases, write_suite(cases, folder), suite_inputs(cases)


def test_portable_path_on_host_equals_tflite_micro(suite):
    cases, c_path, inputs = suite
    model = HostCModel(c_path)
    try:
        got = model.predict_raw(inputs)
    finally:
        model.close()
    assert not outputs_match(cases, got)


@pytest.mark.parametrize("path", ["dsp", "portable"])
def test_cortex_m4_equals_tflite_micro(suite, path):
    require_board("m4")
    cases, c_path, inputs = suite
    flags = ("-O2",) if path == "dsp" else ("-O2", "-DEDGEPORT_PORTABLE")
    build = cross_compile(c_path, c_path.parent / f"arm-{path}", opt_flags=flags)
    run = run_qemu(build.elf, inputs)
    assert not outputs_match(cases, run.outputs)
    assert np.all(run.instructions > 0)


def test_in_place_cases_are_what_the_generator_allows():
    """The in-place cases are shapes the lowering would run in place (and a refused one fails)."""
    from export.csrc.fast import depthwise_in_place_ok, pool_in_place_ok

    assert depthwise_in_place_ok((6, 7, 8), (6, 7, 8), (1, 1), (1, 1))
    assert depthwise_in_place_ok((9, 4, 8), (9, 4, 8), (1, 1), (1, 1))
    assert depthwise_in_place_ok((6, 7, 4), (4, 5, 4), (1, 1), (0, 0))
    assert not depthwise_in_place_ok((7, 6, 4), (5, 4, 4), (1, 1), (0, 0))  # columns, not the same shape
    assert depthwise_in_place_ok((8, 8, 4), (4, 4, 4), (2, 2), (0, 0))
    assert not depthwise_in_place_ok((9, 4, 8), (5, 2, 8), (2, 2), (1, 1))  # columns, strided
    assert pool_in_place_ok((6, 6, 8), (3, 3, 8), (2, 2), (2, 2), (0, 0))
    assert pool_in_place_ok((5, 5, 8), (1, 1, 8), (5, 5), (1, 1), (0, 0))
    assert not pool_in_place_ok((5, 5, 8), (5, 5, 8), (3, 3), (1, 1), (1, 1))  # SAME: reads behind


def test_grids_reach_both_requantizations():
    """The grids hold layers on the DSP requantization and layers that must stay exact-only."""
    fast = [c.call.body[-1].rstrip(");").split(",")[-1].strip() for c in _conv_grid() + _depthwise_grid()]
    assert "1" in fast and "0" in fast


def _dsp_requant(acc: int, multiplier: int, shift: int, zero_point: int) -> int:
    """ep_requant's DSP form on Python ints: (SMMLAR(2 acc, M, round + [acc < 0]) >> -shift)."""
    rnd = int(rounds(np.array([shift]), zero_point)[0])
    high = (2 * acc * multiplier + (1 << 31)) >> 32
    return (rnd - (1 if acc < 0 else 0) + high) >> -shift


def test_dsp_requantization_equals_tflite_arithmetic():
    """Where fast_requant_ok holds, the DSP form equals MultiplyByQuantizedMultiplier + zero point,
    including accumulators on exact rounding ties of either rounding step."""
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(300):
        multiplier = int(rng.integers(1 << 30, 1 << 31))
        shift = -int(rng.integers(1, 20))
        zero_point = int(rng.integers(-128, 128))
        bound = int(rng.integers(1, 1 << 24))
        assert fast_requant_ok(np.array([shift]), np.array([bound]), zero_point)
        accs = list(rng.integers(-bound, bound + 1, size=200))
        # accumulators whose SRDHM lands on a tie of the second rounding (x = k * 2^r +- 2^(r-1))
        for k in rng.integers(-50, 50, size=20):
            for sign in (-1, 1):
                x = int(k) * (1 << -shift) + sign * (1 << (-shift - 1))
                accs.append(max(-bound, min(bound, round(x * 2**31 / multiplier))))
        for acc in accs:
            acc = int(acc)
            assert _dsp_requant(acc, multiplier, shift, zero_point) == mbqm(acc, multiplier, shift) + zero_point
            checked += 1
    assert checked > 60_000


def test_fast_requant_refuses_what_it_cannot_prove():
    assert not fast_requant_ok(np.array([-3, 0]), np.array([10, 10]), 0)  # a shift >= 0
    assert not fast_requant_ok(np.array([-3]), np.array([1 << 30]), 0)  # 2 * acc overflows
    assert not fast_requant_ok(np.array([-25]), np.array([1000]), 127)  # round overflows
    assert fast_requant_ok(np.array([-3, -9]), np.array([1 << 29, 5]), -128)


# ---------------------------------------------------------------- whole graphs: in-place planning

def _separable_chain(rng: np.random.Generator, shape=(10, 4, 16), blocks=2, residual=True) -> bytes:
    """x -> [DEPTHWISE 3x3 RELU -> CONV 1x1 RELU (-> ADD the block input)] x blocks, int8."""
    from benchmarks.mcu.oneop import ACTIVATIONS, Builder, Quant

    b = Builder()
    s = b.s
    h, w, c = shape

    def act(name):
        return b.tensor(name, (1, h, w, c), "int8", Quant((float(rng.uniform(0.02, 0.05)),), (-128,)))

    def weighted(kind, x, name):
        taps = 9 if kind == "dw" else c
        shape_w = (1, 3, 3, c) if kind == "dw" else (c, 1, 1, c)
        sw = rng.uniform(0.002, 0.01, size=c)
        wt = b.tensor(f"{name}_w", shape_w, "int8", Quant(tuple(sw), (0,) * c, 3 if kind == "dw" else 0),
                      rng.integers(-127, 128, size=shape_w).astype(np.int8))
        sx = float(b.tensors[x].quantization.scale[0])
        bias = np.round(rng.normal(0, 40 * np.sqrt(taps) * 70, size=c)).astype(np.int32)
        bt = b.tensor(f"{name}_b", (c,), "int32", Quant(tuple(float(np.float32(sx) * np.float32(v)) for v in sw),
                                                        (0,) * c), bias)
        y = act(name)
        y_scale = float(np.median(np.sqrt(taps) * 70 * 73 * sx * sw) / 30)
        b.tensors[y].quantization.scale = np.array([y_scale], dtype=np.float32)
        if kind == "dw":
            opt = s.DepthwiseConv2DOptionsT()
            opt.depthMultiplier = 1
            code, otype = s.BuiltinOperator.DEPTHWISE_CONV_2D, s.BuiltinOptions.DepthwiseConv2DOptions
        else:
            opt = s.Conv2DOptionsT()
            code, otype = s.BuiltinOperator.CONV_2D, s.BuiltinOptions.Conv2DOptions
        opt.padding, opt.strideH, opt.strideW = 0, 1, 1
        opt.dilationHFactor = opt.dilationWFactor = 1
        opt.fusedActivationFunction = ACTIVATIONS["RELU"]
        b.op(code, [x, wt, bt], [y], otype, opt)
        return y

    x0 = b.tensor("x", (1, h, w, c), "int8", Quant((0.03,), (-5,)))
    x = x0
    for k in range(blocks):
        y = weighted("pw", weighted("dw", x, f"dw{k}"), f"pw{k}")
        if residual:
            z = act(f"add{k}")
            opt = s.AddOptionsT()
            b.op(s.BuiltinOperator.ADD, [x, y], [z], s.BuiltinOptions.AddOptions, opt)
            y = z
        x = y
    return b.finish(graph_inputs=[x0], graph_outputs=[x])


@pytest.mark.parametrize("residual", [False, True])
def test_chain_runs_in_place_exact_with_tflite_micro(tmp_path, residual):
    """A depthwise-separable chain (with residual ADDs) plans its activations over one another:
    scratch is one activation plus the depthwise pending rows and the patch buffer (two and the
    buffers with the residual), and every output byte equals TFLite Micro's."""
    from benchmarks.mcu.oneop import tflm_outputs
    from export.csrc import export_c
    from export.csrc.host import read_api

    rng = np.random.default_rng(3)
    shape = (10, 4, 16)
    tflite = tmp_path / "chain.tflite"
    tflite.write_bytes(_separable_chain(rng, shape, residual=residual))
    c_path, h_path = export_c(tflite, tmp_path, base_name="chain")
    act = int(np.prod(shape))
    patch = 4 * 2 * shape[2]  # the 1x1 conv's 4 pixels as int16
    pending = 2 * shape[0]  # the depthwise walks the 10-row columns
    scratch = read_api(h_path)["SCRATCH_BYTES"]
    assert scratch == (2 if residual else 1) * act + max(patch, pending), scratch
    # in place: pw0 and dw1 (dw0 reads the caller's input, pw1 writes the caller's output); with the
    # residual, pw0, add0 and pw1 (dw1's input is still read by add1)
    assert c_path.read_text().count(", in place") == (3 if residual else 2)
    x = rng.integers(-128, 128, size=(8, act)).astype(np.int8)
    ref = np.stack([tflm_outputs(tflite.read_bytes(), [row.reshape(1, *shape)]).reshape(-1) for row in x])
    model = HostCModel(c_path)
    try:
        assert np.array_equal(model.predict_raw(x), ref)
    finally:
        model.close()
    require_board("m4")
    build = cross_compile(c_path, tmp_path / "arm")
    assert np.array_equal(run_qemu(build.elf, x).outputs, ref)


def test_pointwise_conv_to_more_channels_runs_around_its_input(tmp_path):
    """A 1x1 conv to more channels writes its output around its input (the input at the output's
    end): the plan shifts the chain's buffer, claims per step only the live tensors' bytes, and
    reaches the peak of live bytes; every output byte equals TFLite Micro's (host, Cortex-M4)."""
    from benchmarks.mcu.oneop import tflm_outputs
    from export.csrc import export_c
    from export.csrc.plan import lower_and_plan
    from export.csrc.reader import read_graph
    from export.csrc.simplify import simplify
    from tests.netbuilder import Net
    from tests.tools import host_outputs

    rng = np.random.default_rng(8)
    shape = (8, 6, 4)
    net = Net(rng, shape)
    x = net.depthwise(net.conv(net.input, 8, k=1))
    x = net.depthwise(net.conv(x, 16, k=1), stride=2)
    model = net.finish(net.conv(net.conv(x, 32, k=1), 8, k=1))
    tflite = tmp_path / "grow.tflite"
    tflite.write_bytes(model)
    program, layout = lower_and_plan(simplify(read_graph(tflite)))
    grows = [s for s in program.steps if s.in_place_tail]
    assert len(grows) == 2 and layout.scratch_bytes == layout.lower_bound
    # the 8 -> 16 conv holds 8x6x16 around its 8x6x8 input: no more than its own output plus patches
    assert layout.scratch_bytes <= 8 * 6 * 16 + max(s.work_bytes for s in program.steps), layout.scratch_bytes
    c_path, _ = export_c(tflite, tmp_path, base_name="grow")
    assert c_path.read_text().count("1x1 conv as 4-pixel matrix blocks, DSP requantization, in place") >= 2
    x = rng.integers(-128, 128, size=(12, int(np.prod(shape)))).astype(np.int8)
    ref = np.stack([tflm_outputs(model, [row.reshape(1, *shape)]).reshape(-1) for row in x])
    assert len(np.unique(ref)) > 20
    assert np.array_equal(host_outputs(c_path, x), ref)
    require_board("m4")
    assert np.array_equal(run_qemu(cross_compile(c_path, tmp_path / "arm").elf, x[:4]).outputs, ref[:4])
