"""The four MLPerf Tiny reference .tflite files, taken as they are (no mocks).

Each goes through ``python -m export --model X.tflite --format c``: the generated C must equal the
tflite-micro interpreter byte for byte on random inputs from the input's domain (256, all int8
codes) on this machine, and on 3 of them on QEMU's Cortex-M4. ``runtime`` runs the files without
edgeport metadata; ``python -m benchmarks --mcu X.tflite`` measures them.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import runtime
from export.__main__ import main as export_main
from export.tflite_source import tflm_outputs
from tests.tools import require_board

QEMU_INPUTS = 3
# file -> (extra export arguments, MACs of one inference: conv, depthwise and dense, from the README there)
MODELS = {
    "ad01_int8.tflite": (["--task", "regression"], 264_192),
    "kws_ref_model.tflite": ([], 2_656_768),
    "vww_96_int8.tflite": ([], 7_489_664),
    "pretrainedResnet_quant.tflite": ([], 12_501_632),
}


@pytest.fixture(scope="module")
def mlperf(mlperf_dir) -> Path:
    return mlperf_dir


@pytest.fixture(scope="module")
def exported_c(mlperf, tmp_path_factory) -> dict[str, tuple[int, Path]]:
    """Each model through the CLI's --format c: {file: (exit code, output folder)}."""
    out = {}
    for name, (extra, _) in MODELS.items():
        folder = tmp_path_factory.mktemp(name.split(".")[0])
        code = export_main(["--model", str(mlperf / name), "--format", "c", "--output", str(folder), "-q", *extra])
        out[name] = (code, folder)
    return out


@pytest.mark.parametrize("name", list(MODELS))
def test_cli_c_equals_tflite_micro_on_random_inputs(exported_c, name):
    code, folder = exported_c[name]
    assert code == 0, (folder / "export_report.md").read_text() if (folder / "export_report.md").exists() else code
    (row,) = json.loads((folder / "export_report.json").read_text())["artifacts"]
    assert row["artifact"] == "model.int8.c" and row["mode"] == "int8" and row["io_dtype"] == "int8"
    assert row["extra"]["exact_against"] == "TFLite Micro (output bytes)"
    assert row["samples"] >= 200 and row["extra"]["mismatched_samples"] == 0 and row["extra"]["verify"] == 0
    assert "int8 codes" in row["data"]
    assert (folder / "model.int8.h").is_file() and not list(folder.glob(".tmp-*"))
    if name == "pretrainedResnet_quant.tflite":  # the residual ADDs, in less scratch than TFLite Micro's arena
        assert "ADD" in (folder / "model.int8.c").read_text() and row["extra"]["scratch_bytes"] < 54_996


@pytest.mark.parametrize("name", list(MODELS))
def test_generated_c_on_cortex_m4_equals_tflite_micro(exported_c, mlperf, name, tmp_path):
    from benchmarks.mcu import cross_compile, run_qemu
    from export.data import contract_inputs

    require_board("m4")
    code, folder = exported_c[name]
    assert code == 0
    x, _ = contract_inputs(runtime.load(mlperf / name), QEMU_INPUTS, seed=1)
    run = run_qemu(cross_compile(folder / "model.int8.c", tmp_path / "arm").elf, x.reshape(QEMU_INPUTS, -1))
    expected = tflm_outputs(mlperf / name, x)
    assert run.verify == 0 and run.outputs.dtype == np.int8
    assert np.array_equal(run.outputs, expected), f"{(run.outputs != expected).any(axis=1).sum()} rows differ"


def test_runtime_runs_a_tflite_without_metadata(mlperf):
    model = runtime.load(mlperf / "kws_ref_model.tflite")
    assert (model.task, model.metadata.quantization.mode, model.metadata.pixel_scale) == ("classification", "int8", None)
    assert model.class_names == tuple(f"class_{i}" for i in range(12)) and model.metadata.input_shape == (49, 10, 1)
    scale, zero_point = model.input_details["quantization"]
    codes = np.random.default_rng(0).integers(-128, 128, size=(7, 49, 10, 1), dtype=np.int8)
    proba = model.predict_proba(codes)  # raw int8 codes go in as they are
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=0.02)
    # floats are quantized with the input's own scale and zero point: the codes' real values give the codes
    floats = (codes.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)
    np.testing.assert_array_equal(model.predict_proba(floats), proba)
    # a fixed-batch graph runs any batch, row by row
    np.testing.assert_array_equal(np.concatenate([model.predict_proba(c) for c in codes]), proba)
    with pytest.raises(runtime.InvalidInputError, match=r"int32.*int8 \(the input's own quantized values\).*zero point"):
        model.predict(codes.astype(np.int32))
    ad = runtime.load(mlperf / "ad01_int8.tflite")
    assert ad.task == "regression" and ad.class_names == ()
    assert ad.predict(np.zeros((3, 640), np.float32)).shape == (3, 640)


def test_tflite_source_becomes_a_sealed_copy_under_its_own_contract(mlperf, tmp_path, capsys):
    source = mlperf / "ad01_int8.tflite"
    codes = np.random.default_rng(2).integers(-128, 128, size=(40, 640), dtype=np.int8)
    np.savez(tmp_path / "data.npz", x_test=codes)
    assert export_main(["--model", str(source), "--format", "tflite", "--task", "regression", "--data",
                        str(tmp_path / "data.npz"), "--output", str(tmp_path), "-q"]) == 0
    assert "| model.int8.tflite | tflite | int8 | int8 |" in capsys.readouterr().out
    copy = runtime.load(tmp_path / "model.int8.tflite")
    meta = copy.metadata
    assert meta.extra["seal"].startswith("edgeport-seal-1") and meta.takes_raw_input and meta.task == "regression"
    assert meta.extra["input_quantization"] == {"scale": pytest.approx(0.3910152316), "zero_point": 89}
    np.testing.assert_array_equal(copy.predict(codes), runtime.load(source).predict(codes))


def test_tflite_source_keeps_its_own_mode(mlperf, tmp_path, capsys):
    vww = str(mlperf / "vww_96_int8.tflite")
    assert export_main(["--model", vww, "--quantize", "dynamic", "--format", "tflite", "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "already int8" in err and "float model" in err and err.count("\n") == 1
    assert export_main(["--model", vww, "--format", "onnx", "--output", str(tmp_path)]) == 2
    assert "onnx needs the float model" in capsys.readouterr().err
    assert export_main(["--model", vww, "--format", "c", "--pixel-scale", "1", "--output", str(tmp_path)]) == 2
    assert "own input contract" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_mcu_table_of_a_tflite_from_elsewhere(mlperf, tmp_path):
    from benchmarks.__main__ import main as bench_main

    require_board("m4")
    assert bench_main(["--mcu", str(mlperf / "ad01_int8.tflite"), "--output", str(tmp_path)]) == 0
    (row,) = json.loads((tmp_path / "mcu.json").read_text())["mcu"]
    assert row["fits"] and row["verify"] == 0 and row["macs"] == MODELS["ad01_int8.tflite"][1]
    assert row["inputs"] == "20 random int8 codes" and row["images"] == 20
    assert row["tflm_arena_bytes"] > 1000 and row["ram_bytes"] == row["scratch_bytes"] + row["peak_stack_bytes"]
    assert "| ad01_int8.tflite |" in (tmp_path / "mcu.md").read_text()


def test_float_tflite_from_elsewhere_becomes_c_checked_against_litert(tmp_path):
    """A float .tflite with no edgeport metadata: fp32 C within tolerance of LiteRT, a sealed copy."""
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(6, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    source = tmp_path / "tiny_float.tflite"
    source.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    out = tmp_path / "out"
    assert export_main(["--model", str(source), "--format", "tflite,c", "--output", str(out), "-q"]) == 0
    rows = {r["artifact"]: r for r in json.loads((out / "export_report.json").read_text())["artifacts"]}
    assert set(rows) == {"model.tflite", "model.c"} and all(r["mode"] == "none" for r in rows.values())
    assert rows["model.c"]["extra"]["exact_against"].startswith("LiteRT") and rows["model.c"]["agreement"] == 1.0
    assert "standard-normal floats" in rows["model.c"]["data"]
    copy = runtime.load(out / "model.tflite")
    assert copy.task == "classification" and not copy.metadata.takes_raw_input
