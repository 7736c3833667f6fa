"""Exact graph simplifications (issue 17, item 2). Constant channels (``export/csrc/prune.py``): a
CONV_2D output channel with all-zero weights is one code everywhere; it goes, with the channels it
feeds, where the proof holds, and stays where a padded depthwise would see it differ at the
borders. A PAD with the zero point folds into the conv after it (``simplify.fold_pad``). Real
flatbuffers, the tflite-micro interpreter, the C on the host and on QEMU's Cortex-M4."""
from __future__ import annotations

import numpy as np

from benchmarks.mcu import cross_compile, run_qemu
from benchmarks.mcu.oneop import tflm_outputs
from tests.netbuilder import Net
from tests.tools import host_outputs, require_board


def _zeroed(rng, out_c: int, k: int, in_c: int, zero: dict[int, int], scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Random weights and bias with the channels of ``zero`` all-zero weights; their bias is
    ``zero[c]`` * ``scale`` (very negative: RELU gives the zero point; positive: another code)."""
    w = rng.integers(-127, 128, size=(out_c, k, k, in_c)).astype(np.int8)
    b = np.round(rng.normal(0, scale, size=out_c)).astype(np.int32)
    for c, sign in zero.items():
        w[c] = 0
        b[c] = int(sign * 20 * scale)
    return w, b


def _model(seed: int) -> tuple[bytes, tuple[int, int, int]]:
    """The model, its FULLY_CONNECTED set from the pooled codes of a first build without it."""
    rng = np.random.default_rng(seed)
    head, shape = _build(np.random.default_rng(seed))
    x = rng.integers(-128, 128, size=(32, *shape)).astype(np.int8)
    codes = np.stack([tflm_outputs(head, [row[None]]).reshape(-1) for row in x])
    return _build(np.random.default_rng(seed), codes)


def _build(rng, codes: np.ndarray | None = None) -> tuple[bytes, tuple[int, int, int]]:
    """stem 1x1 (channels 0 and 2 constant at the zero point, 1 at another code) -> depthwise 3x3
    SAME -> 1x1 (channel 3 constant, not the zero point) -> 1x1 (channels 0 and 5 constant) ->
    average pool -> reshape -> FULLY_CONNECTED."""
    shape = (6, 5, 8)
    net = Net(rng, shape)
    w, b = _zeroed(rng, 12, 1, 8, {0: -1, 1: 1, 2: -1}, 0.5 * np.sqrt(8) * 73 * 73)
    x = net.conv(net.input, 12, k=1, weights=w, bias=b)
    x = net.depthwise(x)
    x = net.conv(x, 8, k=1)
    w, b = _zeroed(rng, 8, 1, 8, {3: 1}, 0.5 * np.sqrt(8) * 18 * 73)
    x = net.conv(x, 8, k=1, weights=w, bias=b)
    x = net.conv(x, 8, k=1)
    w, b = _zeroed(rng, 8, 1, 8, {0: -1, 5: 1}, 0.5 * np.sqrt(8) * 18 * 73)
    x = net.conv(x, 8, k=1, weights=w, bias=b)
    pooled = net.global_avgpool(x)
    return net.finish(pooled if codes is None else net.fc(pooled, 6, codes)), shape


def test_constant_channels_go_where_proven_and_outputs_equal_tflite_micro(tmp_path):
    from export.csrc.reader import read_graph
    from export.csrc.simplify import simplify

    rng = np.random.default_rng(12)
    model, shape = _model(11)
    tflite = tmp_path / "prune.tflite"
    tflite.write_bytes(model)
    before = [read_graph(tflite).t(i).shape[-1] for i in (op.outputs[0] for op in read_graph(tflite).ops)]
    graph = simplify(read_graph(tflite))
    after = [graph.t(op.outputs[0]).shape[-1] for op in graph.ops]
    assert before == [12, 12, 8, 8, 8, 8, 8, 8, 6]
    # stem and depthwise lose channels 0 and 2 (1 stays: its code is not the depthwise's zero
    # point), the next 1x1 loses channel 3, the last 1x1, the pool and the reshape lose 0 and 5
    assert after == [10, 10, 8, 7, 8, 6, 6, 6, 6]
    _equal_to_tflite_micro(model, shape, tmp_path, rng)


def _equal_to_tflite_micro(model: bytes, shape: tuple[int, int, int], tmp_path, rng) -> None:
    """The generated C gives TFLite Micro's bytes on the host and on the Cortex-M4."""
    from export.csrc import export_c

    tflite = tmp_path / "model.tflite"
    tflite.write_bytes(model)
    c_path, _ = export_c(tflite, tmp_path, base_name="model")
    x = rng.integers(-128, 128, size=(16, int(np.prod(shape)))).astype(np.int8)
    ref = np.stack([tflm_outputs(model, [row.reshape(1, *shape)]).reshape(-1) for row in x])
    assert len(np.unique(ref)) > 20
    assert np.array_equal(host_outputs(c_path, x), ref)
    require_board("m4")
    assert np.array_equal(run_qemu(cross_compile(c_path, tmp_path / "arm").elf, x[:4]).outputs, ref[:4])


def test_pad_with_the_zero_point_folds_into_the_conv_after_it(tmp_path):
    """PAD -> CONV_2D 3x3 VALID (uneven padding) and PAD -> DEPTHWISE 3x3 SAME stride 2 fold; a
    PADV2 with another value, and a PAD whose output two ops read, stay."""
    from export.csrc.reader import read_graph
    from export.csrc.simplify import simplify

    rng = np.random.default_rng(4)
    shape = (7, 6, 4)
    net = Net(rng, shape)
    x = net.conv(net.input, 8, k=1)
    x = net.conv(net.pad(x, 1, 2, 0, 1), 8, padding="VALID")
    x = net.depthwise(net.pad(x, 1, 1, 1, 1), stride=2)
    x = net.conv(net.pad(x, 1, 1, 1, 1, value=5), 8, padding="VALID")
    padded = net.pad(x, 0, 1, 1, 0)
    x = net.add(net.conv(padded, 8, k=1, activation="NONE"), net.conv(padded, 8, k=1, activation="NONE"))
    model = net.finish(x)
    tflite = tmp_path / "pads.tflite"
    tflite.write_bytes(model)
    kinds = [op.kind for op in simplify(read_graph(tflite)).ops]
    assert kinds.count("PAD") == 1 and kinds.count("PADV2") == 1, kinds
    assert len(kinds) == len(read_graph(tflite).ops) - 2
    _equal_to_tflite_micro(model, shape, tmp_path, rng)
