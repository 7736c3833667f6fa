"""C code generation (issue 8): real compilers, real TFLite Micro, real Fashion-MNIST. No mocks."""
from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from export.csrc import CPrefixError, HostCModel, UnsupportedOpError, export_c, validate_c
from export.csrc.host import STRICT_FLAGS, find_cc, read_api
from export.errors import ConversionError
from export.tflite_source import tflm_outputs
from tests.tools import require


@pytest.fixture(scope="module")
def cc() -> str:
    return require(find_cc(), "a C compiler (cc/gcc/clang)")


# ---------------------------------------------------------------- the reference MLP

@pytest.fixture(scope="module")
def mlp_c(exported_dir: Path, tmp_path_factory, cc) -> Path:
    c_path, _ = export_c(exported_dir / "model.int8.tflite", tmp_path_factory.mktemp("mlp_c"))
    return c_path


def test_mlp_int8_bit_exact_with_tflite_micro_on_every_test_image(mlp_c, exported_dir, test_set):
    images = test_set[0]
    model = HostCModel(mlp_c)
    got = model.predict_raw(images)
    ref = tflm_outputs(exported_dir / "model.int8.tflite", images)
    assert got.dtype == np.uint8 and got.shape == (10_000, 10)
    mismatched = np.flatnonzero(np.any(got != ref, axis=1))
    assert mismatched.size == 0, f"{mismatched.size} images differ, first {mismatched[:5]}"
    assert model.verify() == 0


def test_mlp_scratch_is_the_two_largest_consecutive_activations(mlp_c):
    api = read_api(mlp_c.with_suffix(".h"))
    assert api["INPUT_SIZE"] == 784 and api["OUTPUT_SIZE"] == 10
    assert api["SCRATCH_BYTES"] <= 400


def test_header_api_and_class_names(mlp_c, cc, tmp_path):
    header = mlp_c.with_suffix(".h").read_text()
    for needle in ("#define EDGEPORT_MODEL_INPUT_SIZE 784", "#define EDGEPORT_MODEL_OUTPUT_SIZE 10",
                   "EDGEPORT_MODEL_INPUT_SCALE", "EDGEPORT_MODEL_OUTPUT_ZERO_POINT",
                   "typedef uint8_t edgeport_model_input_t;", "typedef uint8_t edgeport_model_output_t;",
                   "int edgeport_model_invoke(const edgeport_model_input_t *input, edgeport_model_output_t *output, void *scratch);",
                   "int edgeport_model_verify(void);", "extern const char *const edgeport_model_class_names["):
        assert needle in header
    source = mlp_c.read_text()
    portable, dsp = source.split("#if defined(__ARM_FEATURE_DSP)", 1)
    assert re.findall(r"#include <([^>]+)>", portable) == ["stddef.h", "stdint.h"]
    assert re.findall(r"#include <([^>]+)>", dsp) == ["arm_acle.h", "arm_mve.h"]  # only on DSP / Helium cores
    assert "malloc" not in source
    # reads like hand-written C: only the constant tables may have long lines; one comment per op
    code = re.sub(r"static const \w+ op\d+_\w+\[\d+\] = \{.*?\n\};", "", source, flags=re.S)
    assert max(len(line) for line in code.splitlines()) <= 120
    ops = re.findall(r"/\* ([A-Z_0-9]+) [^\n]*\*/\nstatic void op\d+_\w+\(", source)
    assert ops == ["FULLY_CONNECTED"] * 3 + ["SOFTMAX", "QUANTIZE"]
    lib = HostCModel(mlp_c)
    so = ctypes.CDLL(str(lib.lib_path))
    names = ctypes.c_char_p * 10
    assert [n.decode() for n in names.in_dll(so, "edgeport_model_class_names")][:2] == ["T-shirt/top", "Trouser"]
    invoke = so.edgeport_model_invoke
    invoke.argtypes = [ctypes.c_void_p] * 3
    buf, out, scratch = (ctypes.create_string_buffer(1024) for _ in range(3))
    assert invoke(None, out, scratch) < 0
    assert invoke(buf, None, scratch) < 0
    assert invoke(buf, out, None) < 0
    assert invoke(buf, buf, buf) == -3  # EDGEPORT_MODEL_ERROR_OVERLAP: one buffer for everything
    assert invoke(buf, out, scratch) == 0


def _sanitized_run(cc: str, c_path: Path, x: np.ndarray, work: Path) -> np.ndarray:
    """Outputs of an -fsanitize=address,undefined executable of ``c_path``; fails on any report."""
    api = read_api(c_path.with_suffix(".h"))
    prefix = api["prefix"]
    main = work / "main.c"
    main.write_text(f"""\
#include <stdio.h>
#include <stdlib.h>
#include "{c_path.with_suffix('.h')}"
int main(void)
{{
    static {prefix}_input_t in[{prefix.upper()}_INPUT_SIZE];
    static {prefix}_output_t out[{prefix.upper()}_OUTPUT_SIZE];
    void *scratch = malloc({prefix.upper()}_SCRATCH_BYTES > 0 ? {prefix.upper()}_SCRATCH_BYTES : 1); /* exact: ASan sees overruns */
    while (fread(in, sizeof in, 1, stdin) == 1) {{
        if ({prefix}_invoke(in, out, scratch) != 0) return 1;
        fwrite(out, sizeof out, 1, stdout);
    }}
    free(scratch);
    return {prefix}_verify();
}}
""")
    exe = work / "model_asan"
    subprocess.run([cc, *STRICT_FLAGS, "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                    "-o", str(exe), str(c_path), str(main), "-lm"], check=True, capture_output=True)
    proc = subprocess.run([str(exe)], input=np.ascontiguousarray(x).tobytes(), capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert proc.stderr == b""
    return np.frombuffer(proc.stdout, dtype=x.dtype if api["output_t"] != "float" else np.float32).reshape(len(x), -1)


def test_sanitizers_find_nothing(mlp_c, exported_dir, test_set, cc, tmp_path):
    """-fsanitize=address,undefined executable over 300 images: same bytes as TFLite Micro, no report."""
    images = test_set[0][:300]
    got = _sanitized_run(cc, mlp_c, images, tmp_path)
    np.testing.assert_array_equal(got, tflm_outputs(exported_dir / "model.int8.tflite", images))


def test_no_writable_globals(mlp_c, cc, tmp_path):
    size_tool = require(shutil.which("size"), "binutils' size")
    for pic in ("-fno-pic", "-fPIC"):
        obj = tmp_path / f"model{pic}.o"
        subprocess.run([cc, *STRICT_FLAGS, pic, "-c", "-o", str(obj), str(mlp_c)], check=True)
        sections = {}
        for line in subprocess.run([size_tool, "-A", str(obj)], capture_output=True, text=True, check=True).stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                sections[parts[0]] = int(parts[1])
        assert sections.get(".data", 0) == 0 and sections.get(".bss", 0) == 0, sections
        if pic == "-fno-pic":  # with -fPIC the class-name pointers sit in .data.rel.ro (read-only after load)
            nm = subprocess.run(["nm", str(obj)], capture_output=True, text=True, check=True).stdout
            assert not re.search(r" [bBdDcC] ", nm), nm


def test_verify_detects_one_changed_weight_byte(mlp_c, tmp_path):
    tampered_dir = tmp_path / "tampered"
    tampered_dir.mkdir()
    shutil.copy(mlp_c.with_suffix(".h"), tampered_dir / mlp_c.with_suffix(".h").name)
    source = mlp_c.read_text()
    start = source.index("_weights[")
    m = re.compile(r"0x([0-9a-f]{8})u").search(source, start)
    word = int(m.group(1), 16) ^ 0x01  # one bit of one weight byte
    (tampered_dir / mlp_c.name).write_text(source[: m.start()] + f"0x{word:08x}u" + source[m.end():])
    assert HostCModel(tampered_dir / mlp_c.name).verify() != 0


def test_validate_c_reports_a_pass_and_a_tampered_failure(mlp_c, exported_dir, test_set, tmp_path):
    images = test_set[0][:200]
    good = validate_c(mlp_c, exported_dir / "model.int8.tflite", images)
    assert good.passed and good.mode == "int8" and good.mismatched_images == 0 and good.verify_result == 0
    shutil.copy(mlp_c.with_suffix(".h"), tmp_path / mlp_c.with_suffix(".h").name)
    source = mlp_c.read_text()
    # change the first layer's output zero point: outputs move, CRCs still match
    bad_source = re.sub(r"(ep_fc_s8\([^;]*?,\s*)-128(, -128, 127, \d\);)", r"\1-120\2", source, count=1)
    assert bad_source != source
    (tmp_path / mlp_c.name).write_text(bad_source)
    bad = validate_c(tmp_path / mlp_c.name, exported_dir / "model.int8.tflite", images)
    assert not bad.passed and bad.mismatched_images > 0 and "TFLite Micro" in bad.failures[0]


def test_fp32_mlp_matches_keras(exported_dir, keras_proba, test_set, tmp_path, cc):
    c_path, _ = export_c(exported_dir / "model.tflite", tmp_path, base_name="model")
    assert c_path.name == "model.c" and "#include <math.h>" in c_path.read_text()
    model = HostCModel(c_path)
    from train.model import preprocess

    got = model.predict_raw(preprocess(test_set[0]))
    assert np.mean(got.argmax(1) == keras_proba.argmax(1)) == 1.0
    assert np.abs(got - keras_proba).max() <= 1e-5
    assert model.verify() == 0


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("prefix", ["", "1model", "my-model", "model name", "__x", "_", None])
def test_bad_prefix_is_a_typed_error(exported_dir, tmp_path, prefix):
    with pytest.raises(CPrefixError, match="not a C identifier"):
        export_c(exported_dir / "model.int8.tflite", tmp_path, prefix=prefix)
    assert list(tmp_path.iterdir()) == []


def test_custom_prefix(exported_dir, tmp_path, cc):
    c_path, h_path = export_c(exported_dir / "model.int8.tflite", tmp_path, prefix="fmnist")
    assert "int fmnist_invoke(" in h_path.read_text() and "#define FMNIST_SCRATCH_BYTES" in h_path.read_text()
    assert HostCModel(c_path).verify() == 0


def test_not_a_tflite_file_is_a_typed_error(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(ConversionError, match="bad.tflite"):
        export_c(bad, tmp_path / "out")
    assert not (tmp_path / "out" / "model.int8.c").exists()


# ---------------------------------------------------------------- small Keras models

def _metadata(task: str = "classification", outputs: int = 10):
    from export.metadata import build_metadata
    from runtime.metadata import Quantization

    names = tuple(f"class_{i}" for i in range(2 if task == "binary" else outputs))
    return build_metadata(fmt="tflite", source_sha256="0" * 64, quantization=Quantization("int8", "uint8"),
                          task=task, class_names=names, item_shape=(28, 28), outputs=outputs,
                          pixel_scale=1 / 255)


@pytest.fixture(scope="module")
def small_models(data_dir, tmp_path_factory):
    """Two tiny models trained for a few seconds, each exported int8 (uint8 I/O) and fp32."""
    import keras

    from export.litert import export_litert
    from train.data import load_split
    from train.model import preprocess

    keras.utils.set_random_seed(7)
    x, y = load_split("train", data_dir)
    x, y = preprocess(x[:4000]), y[:4000]
    L = keras.layers
    cnn = keras.Sequential([keras.Input((28, 28)), L.Reshape((28, 28, 1)), L.Conv2D(8, 3, activation="relu"),
                            L.MaxPooling2D(2), L.Flatten(), L.Dense(10, activation="softmax")])
    cnn.compile("adam", "sparse_categorical_crossentropy")
    cnn.fit(x, y, epochs=1, batch_size=64, verbose=0)
    # depthwise + average pooling + strided SAME conv + relu6, binary sigmoid output (LOGISTIC)
    dw = keras.Sequential([keras.Input((28, 28)), L.Reshape((28, 28, 1)), L.Conv2D(4, 3, strides=2, padding="same"),
                           L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="relu6"),
                           L.AveragePooling2D(2), L.Flatten(), L.Dense(16, activation="relu6"),
                           L.Dense(1, activation="sigmoid")])
    dw.compile("adam", "binary_crossentropy")
    dw.fit(x, (y == 0).astype("float32"), epochs=1, batch_size=64, verbose=0)
    out = tmp_path_factory.mktemp("small_models")
    paths = {}
    for name, model, meta in (("cnn", cnn, _metadata()), ("dw", dw, _metadata("binary", 1))):
        paths[name, "int8"] = export_litert(model, out / f"{name}.int8.tflite", metadata=meta,
                                            quantize="int8", io_dtype="uint8", calibration=x[:300])
        paths[name, "fp32"] = export_litert(model, out / f"{name}.tflite", metadata=meta)
        paths[name, "keras"] = model
    return paths


@pytest.mark.parametrize("name", ["cnn", "dw"])
def test_small_model_int8_bit_exact(small_models, name, test_set, tmp_path, cc):
    tflite = small_models[name, "int8"]
    c_path, _ = export_c(tflite, tmp_path)
    source = c_path.read_text()
    expected_ops = {"cnn": ["CONV_2D", "MAX_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"],
                    "dw": ["CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "activation RELU6", "LOGISTIC"]}[name]
    for op in expected_ops:
        assert op in source
    images = test_set[0][:1500]
    report = validate_c(c_path, tflite, images)
    assert report.passed, report.failures
    assert report.images == 1500 and report.max_abs_diff == 0
    # padding, strides and the im2col patch under the sanitizers
    sanitized = _sanitized_run(cc, c_path, images[:100], tmp_path)
    np.testing.assert_array_equal(sanitized, tflm_outputs(tflite, images[:100]))


@pytest.mark.parametrize("name", ["cnn", "dw"])
def test_small_model_fp32_matches_keras(small_models, name, test_set, tmp_path, cc):
    from train.model import preprocess

    c_path, _ = export_c(small_models[name, "fp32"], tmp_path, base_name="model")
    x = preprocess(test_set[0][:2000])
    got = HostCModel(c_path).predict_raw(x)
    ref = np.asarray(small_models[name, "keras"].predict(x, verbose=0, batch_size=500)).reshape(len(x), -1)
    assert np.abs(got - ref).max() <= 1e-5
    if ref.shape[1] > 1:
        assert np.mean(got.argmax(1) == ref.argmax(1)) == 1.0
    else:
        assert np.mean((got > 0.5) == (ref > 0.5)) == 1.0


def test_unsupported_op_is_a_typed_error_naming_it(tmp_path):
    import keras

    from export.litert import export_litert

    L = keras.layers
    model = keras.Sequential([keras.Input((28, 28)), L.Flatten(), L.Dense(8, activation="exponential"), L.Dense(10)])
    tflite = export_litert(model, tmp_path / "exp.tflite", metadata=_metadata())
    out = tmp_path / "out"
    with pytest.raises(UnsupportedOpError, match="op EXP is not supported") as info:
        export_c(tflite, out, base_name="model")
    assert "--format tflm" in str(info.value) and isinstance(info.value, ConversionError)
    assert not out.exists() or not any(out.iterdir())
