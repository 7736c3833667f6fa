"""Residual blocks fused into one streamed kernel (issue 17, item 3: less RAM through in-place
execution): CONV_2D -> CONV_2D -> ADD with the block input or a 1x1 projection of it. Real
flatbuffers, the tflite-micro interpreter for the reference bytes, the C on the host (portable
path) and on QEMU's Cortex-M4 (DSP path)."""
from __future__ import annotations

import numpy as np

from benchmarks.mcu import cross_compile, run_qemu
from benchmarks.mcu.oneop import tflm_outputs
from export.csrc.fast.resblock import Layer, resblock_in_place_ok
from tests.netbuilder import Net
from tests.tools import host_outputs, require_board


def _blocks(rng: np.random.Generator) -> tuple[bytes, tuple[int, int, int]]:
    """stem 1x1 -> identity block (conv_b output as ADD's second operand) -> projection block,
    stride 2 (first operand) -> identity block with a 5x5 conv_a -> projection block with conv_b
    of stride 2 -> block on 6 channels -> 1x1."""
    shape = (7, 6, 4)
    net = Net(rng, shape)
    x = net.conv(net.input, 8, k=1)
    x = net.add(x, net.conv(net.conv(x, 8), 8, activation="NONE"))
    x = net.add(net.conv(net.conv(x, 12, stride=2), 12, activation="NONE"), net.conv(x, 12, k=1, stride=2,
                                                                                       padding="VALID"))
    x = net.add(net.conv(net.conv(x, 12, k=5), 12, activation="NONE"), x, activation="NONE")
    x = net.add(net.conv(net.conv(x, 16), 16, stride=2, activation="NONE"), net.conv(x, 16, k=1, stride=2,
                                                                                     padding="VALID"))
    y = net.conv(x, 6, k=1)
    y = net.add(net.conv(net.conv(y, 6), 6, activation="NONE"), y)
    return net.finish(net.conv(y, 8, k=1)), shape


def test_residual_blocks_fuse_stream_in_place_and_equal_tflite_micro(tmp_path):
    """Four blocks fuse (identity, stride-2 projection, 5x5 conv_a, stride-2 conv_b), the one on 6
    channels does not (not a multiple of 4); all but the 5x5 one may write over their input (its
    next conv_a row still reads the input row the output would overwrite). Every output byte
    equals TFLite Micro's on the host and on the Cortex-M4."""
    from export.csrc import export_c

    rng = np.random.default_rng(5)
    model, shape = _blocks(rng)
    tflite = tmp_path / "blocks.tflite"
    tflite.write_bytes(model)
    c_path, _ = export_c(tflite, tmp_path, base_name="blocks")
    text = c_path.read_text()
    comments = [line for line in text.splitlines() if line.startswith("/* residual block")]
    assert len(comments) == 4, comments
    assert comments[0].endswith(", in place */"), comments
    # the lowering offers in place where the proof holds (the plan keeps it where scratch shrinks)
    from export.csrc.lower import lower
    from export.csrc.reader import read_graph
    from export.csrc.simplify import simplify

    steps = [s for s in lower(simplify(read_graph(tflite))).steps if s.op_kind == "RESIDUAL_BLOCK"]
    assert [s.in_place for s in steps] == [0, 0, None, 0]
    assert "a 1x1 projection row" in comments[1] and text.count("ep_add_s8(in0, in1") == 1
    x = rng.integers(-128, 128, size=(12, int(np.prod(shape)))).astype(np.int8)
    ref = np.stack([tflm_outputs(model, [row.reshape(1, *shape)]).reshape(-1) for row in x])
    assert len(np.unique(ref)) > 20  # varied outputs, not a constant
    assert np.array_equal(host_outputs(c_path, x), ref)
    require_board("m4")
    assert np.array_equal(run_qemu(cross_compile(c_path, tmp_path / "arm").elf, x[:4]).outputs, ref[:4])


def _layer(in_shape, out_shape, k, stride, pad) -> Layer:
    w = np.zeros((out_shape[2], k, k, in_shape[2]), dtype=np.int8)
    return Layer(in_shape, out_shape, w, np.zeros(out_shape[2]), (), (), 0, 0, -128, 127, (stride, stride), (pad, pad))


def test_in_place_proof_follows_the_rows_the_kernel_still_reads():
    a3 = _layer((8, 8, 8), (8, 8, 8), 3, 1, 1)
    b3 = _layer((8, 8, 8), (8, 8, 8), 3, 1, 1)
    assert resblock_in_place_ok(a3, b3, None)  # conv_a row y + 2 starts at input row y + 1
    a5 = _layer((8, 8, 8), (8, 8, 8), 5, 1, 2)
    assert not resblock_in_place_ok(a5, b3, None)  # conv_a row y + 2 reads input row y
    down = _layer((8, 8, 8), (4, 4, 16), 3, 2, 0)
    b_down = _layer((4, 4, 16), (4, 4, 16), 3, 1, 1)
    proj = _layer((8, 8, 8), (4, 4, 16), 1, 2, 0)
    assert resblock_in_place_ok(down, b_down, proj)
    wide = _layer((8, 8, 8), (8, 8, 16), 3, 1, 1)  # more output bytes than input
    assert not resblock_in_place_ok(wide, _layer((8, 8, 16), (8, 8, 16), 3, 1, 1), _layer((8, 8, 8), (8, 8, 16), 1,
                                                                                           1, 0))


def test_mlperf_ic_scratch_is_one_activation_and_one_work_buffer(mlperf_dir):
    """MLPerf IC (ResNet-8): each residual block runs over its input, so scratch is the largest
    activation plus the largest work buffer: under half TFLite Micro's arena (54,996 B)."""
    from export.csrc.plan import lower_and_plan
    from export.csrc.reader import read_graph
    from export.csrc.simplify import simplify

    program, layout = lower_and_plan(simplify(read_graph(mlperf_dir / "pretrainedResnet_quant.tflite")))
    assert [s.op_kind for s in program.steps].count("RESIDUAL_BLOCK") == 3
    graph = program.graph
    largest = max(graph.t(program.views[a.tensor].base).nbytes for s in program.steps for a in s.args
                  if not a.table and program.views[a.tensor].base != graph.input)
    bound = largest + max(s.work_bytes for s in program.steps)
    assert layout.scratch_bytes <= bound and 2 * layout.scratch_bytes <= 54_996, (layout.scratch_bytes, bound)
