"""The C generator's ops one by one, and its graph machinery (issue 16): real TF conversions, real
tflite-micro, real compilers. Each small model is converted once (module fixture) with random
calibration; int8 C output bytes must equal the tflite-micro interpreter's, fp32 within tolerance
of LiteRT. The per-op grid over settings lives in test_op_matrix.py; these are the few fast ones.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from export.csrc import SUPPORTED_OPS, UnsupportedOpError, count_macs, export_c, validate_c
from export.csrc.host import STRICT_FLAGS, find_cc

MLPERF = Path(os.environ.get("MLPERF_TINY_DIR") or Path(__file__).resolve().parents[2] / "shared/data/mlperf-tiny")
SHAPE = (1, 6, 5, 8)
N_INPUTS = 200


def _require(ok: bool, what: str) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is required in CI")
        pytest.skip(f"{what} not found on this machine")


def _models() -> dict:
    """name -> (function of the input, ops the converted int8 graph must hold)."""
    import tensorflow as tf

    rng = np.random.default_rng(3)
    const = tf.constant(rng.normal(size=SHAPE[-1]).astype(np.float32))

    def gap(x):
        return tf.reduce_mean(x, axis=[1, 2], keepdims=True)

    return {
        "add": (lambda x: x + tf.nn.relu(x), {"ADD", "RELU"}),
        "add_broadcast": (lambda x: x + gap(x), {"ADD", "MEAN"}),
        "add_constant": (lambda x: x + const, {"ADD"}),
        "sub_broadcast": (lambda x: x - gap(x), {"SUB", "MEAN"}),
        "mul_broadcast": (lambda x: x * gap(x), {"MUL", "MEAN"}),
        "mul_constant": (lambda x: x * const, {"MUL"}),
        "mean": (lambda x: tf.reduce_mean(x, axis=[1, 2]), {"MEAN"}),
        "pad": (lambda x: tf.pad(x, [[0, 0], [1, 2], [0, 1], [0, 0]]), {"PAD"}),
        "concatenation": (lambda x: tf.concat([x, tf.nn.relu6(x), tf.tanh(x)], axis=3), {"CONCATENATION"}),
        "relu": (tf.nn.relu, {"RELU"}),
        "relu6": (tf.nn.relu6, {"RELU6"}),
        "leaky_relu": (lambda x: tf.nn.leaky_relu(x, alpha=0.2), {"LEAKY_RELU"}),
        "hard_swish": (lambda x: x * tf.nn.relu6(x + 3.0) / 6.0, {"HARD_SWISH"}),
        "tanh": (tf.tanh, {"TANH"}),
    }


def _convert(fn, int8: bool, float_output: bool = False, float_input: bool = False) -> bytes:
    import tensorflow as tf

    func = tf.function(fn, input_signature=[tf.TensorSpec(SHAPE, tf.float32)])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([func.get_concrete_function()])
    if int8:
        rng = np.random.default_rng(0)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([rng.normal(size=SHAPE).astype(np.float32) * 2] for _ in range(64))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.float32 if float_input else tf.int8
        converter.inference_output_type = tf.float32 if float_output else tf.int8
    return converter.convert()


@pytest.fixture(scope="module")
def op_models(tmp_path_factory) -> dict:
    """name -> (int8 .tflite, fp32 .tflite, expected ops); plus 'dequantize' (int8 in, float out) and
    'float_io' (float in and out: QUANTIZE float -> int8 first, DEQUANTIZE last)."""
    out = tmp_path_factory.mktemp("op_models")
    paths = {}
    for name, (fn, ops) in _models().items():
        for mode, int8 in (("int8", True), ("fp32", False)):
            path = out / f"{name}.{mode}.tflite"
            path.write_bytes(_convert(fn, int8))
            paths[name, mode] = path
        paths[name, "ops"] = ops
    path = out / "dequantize.int8.tflite"
    path.write_bytes(_convert(lambda x: x * 2.0 + 1.0, True, float_output=True))
    paths["dequantize", "int8"], paths["dequantize", "ops"] = path, {"DEQUANTIZE"}
    path = out / "float_io.int8.tflite"  # an int8 model with float input and output
    path.write_bytes(_convert(lambda x: x * 0.5 + 0.25, True, float_output=True, float_input=True))
    paths["float_io", "int8"], paths["float_io", "ops"] = path, {"QUANTIZE", "DEQUANTIZE"}
    return paths


def _inputs(dtype, n: int = N_INPUTS, shape=SHAPE) -> np.ndarray:
    rng = np.random.default_rng(1)
    if dtype == np.float32:
        return (rng.normal(size=(n, *shape[1:])) * 3).astype(np.float32)
    return rng.integers(-128, 128, (n, *shape[1:])).astype(np.int8)


def _op_kinds(tflite: Path) -> set[str]:
    from export.csrc.reader import read_graph

    return {op.kind for op in read_graph(tflite).ops}


@pytest.fixture(scope="module")
def cc() -> str:
    path = find_cc()
    _require(path is not None, "a C compiler (cc/gcc/clang)")
    return path


@pytest.mark.parametrize("name", sorted(_models()) + ["dequantize", "float_io"])
def test_op_int8_equals_tflite_micro(op_models, name, tmp_path, cc):
    tflite = op_models[name, "int8"]
    assert op_models[name, "ops"] <= _op_kinds(tflite), _op_kinds(tflite)  # the op is really there
    c_path, _ = export_c(tflite, tmp_path)
    report = validate_c(c_path, tflite, _inputs(np.float32 if name == "float_io" else np.int8))
    assert report.passed and report.mode == "int8", report.failures
    assert report.images == N_INPUTS and report.max_abs_diff == 0
    assert len(np.unique(report.outputs)) > 8  # varied outputs, not a constant


@pytest.mark.parametrize("name", sorted(_models()))
def test_op_fp32_matches_litert(op_models, name, tmp_path, cc):
    tflite = op_models[name, "fp32"]
    c_path, _ = export_c(tflite, tmp_path, base_name="model")
    report = validate_c(c_path, tflite, _inputs(np.float32))
    assert report.passed and report.mode == "fp32", report.failures


# ---------------------------------------------------------------- MLPerf Tiny models
# (the ResNet-8 with its ADD, to C against TFLite Micro on the host and the Cortex-M4: test_mlperf.py)

def test_macs_of_the_mlperf_models_through_the_ops():
    _require((MLPERF / "ad01_int8.tflite").is_file(), f"MLPerf Tiny models in {MLPERF}")
    expected = {"ad01_int8.tflite": 264_192, "kws_ref_model.tflite": 2_656_768, "vww_96_int8.tflite": 7_489_664,
                "pretrainedResnet_quant.tflite": 12_501_632}
    assert {name: count_macs(MLPERF / name) for name in expected} == expected


# ---------------------------------------------------------------- graph machinery

def test_supported_ops_is_the_registry_and_an_unknown_op_names_itself(tmp_path):
    import tensorflow as tf

    assert {"ADD", "CONV_2D", "MEAN", "DEQUANTIZE"} <= SUPPORTED_OPS and "EXP" not in SUPPORTED_OPS
    tflite = tmp_path / "exp.tflite"
    tflite.write_bytes(_convert(tf.exp, False))
    with pytest.raises(UnsupportedOpError, match="op EXP is not supported") as info:
        export_c(tflite, tmp_path / "out")
    assert "--format tflm" in str(info.value)


def test_scratch_plan_is_checked_and_optimal_on_a_chain_and_a_residual_graph():
    from export.csrc.plan import buffers_of, check_plan, lower_and_plan
    from export.csrc.reader import read_graph
    from export.csrc.simplify import simplify

    _require((MLPERF / "pretrainedResnet_quant.tflite").is_file(), f"MLPerf Tiny models in {MLPERF}")
    # KWS runs its depthwise and pointwise convs in place: one 8,000-byte activation and the patch
    # buffer; ResNet-8's fused residual blocks run over their input: one 32x32x16 activation and the
    # last block's work buffer (patch, conv_a window, projection row)
    for name, expected in (("kws_ref_model.tflite", 8_512), ("pretrainedResnet_quant.tflite", 23_296)):
        program, layout = lower_and_plan(simplify(read_graph(MLPERF / name)))
        assert layout.scratch_bytes == layout.lower_bound == expected  # no smaller plan for these buffers
        _, buffers, _ = buffers_of(program)
        offsets = {b.key: layout.storage.get(b.key, layout.work.get(b.key[1]) if isinstance(b.key, tuple) else None)
                   for b in buffers}
        assert check_plan(buffers, offsets) == expected
        with pytest.raises(AssertionError, match="overlap"):
            check_plan(buffers, {key: 0 for key in offsets})


def test_every_kernel_file_compiles_alone_with_its_dependencies(cc, tmp_path):
    """The units of each kernel file, with exactly what the library collects for them, make a
    warning-free C99 file on the host (portable path) and, where the cross compiler exists, for the
    Cortex-M4 (DSP path): a dependency the library misses fails here."""
    import shutil

    from export.csrc.library import library

    lib = library()
    cross = shutil.which("arm-none-eabi-gcc")
    m4 = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard")
    for file in lib.files():
        names = [u.names[0] for u in lib.units if u.file == file]
        src = tmp_path / (file.replace("/", "_") + ".c")
        src.write_text("#include <stddef.h>\n#include <stdint.h>\n#include <math.h>\n" +
                       "\n".join(u.text for u in lib.collect(names)))
        for compiler, flags in ((cc, STRICT_FLAGS), (cross, m4)):
            if compiler is None:
                continue
            # compiled alone, the static functions are unused: that one warning is expected
            cmd = [compiler, *flags, "-Wno-unused-function", "-c", "-o", str(src.with_suffix(".o")), str(src)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            assert proc.returncode == 0, f"kernels/{file}\n{proc.stderr[-2000:]}"
