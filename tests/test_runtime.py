"""The deployable runtime: fidelity to Keras, the input contract, bad files, threads, CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import runtime
from export import FORMATS, MODES, artifact_name
from conftest import FIXTURE_THRESHOLD_OVERRIDES
from export.validate import DEFAULT_THRESHOLDS, parse_threshold_overrides, resolve_thresholds
from runtime import InvalidInputError, ModelFileError
from runtime.__main__ import main as runtime_main

ARTIFACTS = [artifact_name(f, m) for f in FORMATS for m in MODES[f]]
FP32 = ["model.onnx", "model.tflite"]


@pytest.fixture(scope="module")
def models(exported_dir: Path) -> dict[str, runtime.Model]:
    return {name: runtime.load(exported_dir / name, num_threads=1) for name in ARTIFACTS}


@pytest.mark.parametrize("name", ARTIFACTS)
def test_predictions_match_keras_argmax(name, models, test_set, keras_proba):
    """All 10,000 test images through the runtime: fp32 agrees 100%, variants meet their bar."""
    images, labels = test_set
    model = models[name]
    pred = model.predict(images)
    assert pred.shape == (10_000,)
    agreement = np.mean(pred == keras_proba.argmax(axis=1))
    mode = model.metadata.quantization.mode
    required = resolve_thresholds("classification", parse_threshold_overrides(FIXTURE_THRESHOLD_OVERRIDES))[mode].min_agreement
    assert agreement >= required, f"{name}: agreement {agreement:.4%} < {required:.4%}"
    if mode == "none":
        assert agreement == 1.0
        assert np.max(np.abs(model.predict_proba(images) - keras_proba)) <= DEFAULT_THRESHOLDS["none"].max_abs_diff
    accuracy = np.mean(pred == labels)
    assert accuracy > 0.80, f"{name}: accuracy {accuracy:.4f}"


@pytest.mark.parametrize("name", ARTIFACTS)
def test_outputs_are_float32_probabilities(name, models, test_set):
    proba = models[name].predict_proba(test_set[0][:64])
    assert proba.dtype == np.float32 and proba.shape == (64, 10)
    assert np.all(proba >= 0) and np.allclose(proba.sum(axis=1), 1.0, atol=0.02)


@pytest.mark.parametrize("name", ARTIFACTS)
def test_uint8_and_float_inputs_agree(name, models, test_set):
    images = test_set[0][:500]
    model = models[name]
    from_uint8 = model.predict_proba(images)
    from_float = model.predict_proba(images.astype(np.float32) / 255.0)
    assert np.array_equal(from_uint8.argmax(1), from_float.argmax(1))
    np.testing.assert_allclose(from_uint8, from_float, atol=1e-5)


def test_int8_uint8_io_takes_raw_pixels(models):
    model = models["model.int8.tflite"]
    assert model.input_details["dtype"] == "uint8"
    scale, zero_point = model.input_details["quantization"]
    assert zero_point == 0 and scale == pytest.approx(1 / 255, rel=1e-6)
    assert model.metadata.extra["raw_uint8_pixels"] is True
    assert model.takes_raw_pixels and not models["model.tflite"].takes_raw_pixels


@pytest.mark.parametrize("name", FP32 + ["model.int8.tflite"])
def test_accepted_shapes_and_empty_batch(name, models, test_set):
    model = models[name]
    images = test_set[0][:8]
    expected = model.predict_proba(images)
    np.testing.assert_array_equal(model.predict_proba(images.reshape(8, 784)), expected)
    np.testing.assert_array_equal(model.predict_proba(images[3]), expected[3:4])
    # the batch shape changes between calls; LiteRT must resize and stay correct
    np.testing.assert_array_equal(model.predict_proba(images[:3]), expected[:3])
    assert model.predict_proba(images[:0]).shape == (0, 10)
    assert model.predict_proba(np.empty((0, 784), np.float32)).dtype == np.float32
    assert model.predict(images[:0]).shape == (0,)


BAD_INPUTS = {
    "shape-3d": (np.zeros((2, 27, 28), np.uint8), ["(2, 27, 28)", "(N, 28, 28)"]),
    "shape-flat": (np.zeros((2, 783), np.uint8), ["(2, 783)", "(N, 784)"]),
    "shape-4d": (np.zeros((1, 1, 28, 28), np.float32), ["(1, 1, 28, 28)", "(N, 28, 28)"]),
    "nan": (np.full((1, 28, 28), np.nan, np.float32), ["NaN", "[0, 1]"]),
    "inf": (np.full((1, 28, 28), np.inf, np.float64), ["Inf", "[0, 1]"]),
    "above-one": (np.full((1, 28, 28), 255.0, np.float32), ["255", "[0, 1]"]),
    "negative": (np.full((1, 28, 28), -0.5, np.float32), ["-0.5", "[0, 1]"]),
    "strings": (np.full((1, 28, 28), "a"), ["<U1", "uint8"]),
    "objects": (np.full((1, 28, 28), None, dtype=object), ["object", "uint8"]),
    "int64": (np.zeros((1, 28, 28), np.int64), ["int64", "uint8"]),
    "bool": (np.zeros((1, 28, 28), bool), ["bool", "uint8"]),
}


@pytest.mark.parametrize("name", FP32 + ["model.int8.tflite", "model.int8.onnx"])
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_inputs_raise_clear_errors(name, case, models):
    x, fragments = BAD_INPUTS[case]
    with pytest.raises(InvalidInputError) as info:
        models[name].predict(x)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.onnx"):
        runtime.load(tmp_path / "nope.onnx")


@pytest.mark.parametrize("suffix", [".onnx", ".tflite"])
@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupt_files_raise_model_file_error(suffix, damage, exported_dir, tmp_path):
    good = (exported_dir / f"model{suffix}").read_bytes()
    data = {"garbage": b"\x00not a model at all" * 100, "truncated": good[: len(good) // 2], "empty": b""}[damage]
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(data)
    with pytest.raises(ModelFileError, match="broken"):
        runtime.load(path)


def test_misnamed_files(exported_dir, tmp_path):
    onnx_as_tflite = tmp_path / "swapped.tflite"
    onnx_as_tflite.write_bytes((exported_dir / "model.onnx").read_bytes())
    with pytest.raises(ModelFileError, match="swapped.tflite.*TFL3"):
        runtime.load(onnx_as_tflite)
    tflite_as_onnx = tmp_path / "swapped.onnx"
    tflite_as_onnx.write_bytes((exported_dir / "model.tflite").read_bytes())
    with pytest.raises(ModelFileError, match="swapped.onnx"):
        runtime.load(tflite_as_onnx)
    unknown = tmp_path / "model.pb"
    unknown.write_bytes(b"x")
    with pytest.raises(ModelFileError, match=r"model.pb.*'\.pb'.*\.onnx"):
        runtime.load(unknown)


def test_artifact_without_metadata_is_refused(exported_dir, tmp_path):
    import onnx

    proto = onnx.load(exported_dir / "model.onnx")
    del proto.metadata_props[:]
    path = tmp_path / "bare.onnx"
    onnx.save(proto, path)
    with pytest.raises(ModelFileError, match="bare.onnx.*no edgeport metadata"):
        runtime.load(path)


def test_backend_argument(exported_dir):
    onnx_model = runtime.load(exported_dir / "model.onnx", backend="onnxruntime", num_threads=2)
    assert onnx_model.backend == "onnxruntime"
    assert onnx_model.thread_settings["intra_op_num_threads"] == 2
    assert onnx_model.thread_settings["allow_spinning"] is False
    litert_model = runtime.load(exported_dir / "model.tflite", backend="litert", num_threads=2)
    assert litert_model.backend == "litert" and litert_model.thread_settings["num_threads"] == 2
    with pytest.raises(ValueError, match="Supported backends are"):
        runtime.load(exported_dir / "model.onnx", backend="tensorrt")
    with pytest.raises(ValueError, match="cannot run a .onnx"):
        runtime.load(exported_dir / "model.onnx", backend="litert")
    with pytest.raises(ValueError, match="num_threads"):
        runtime.load(exported_dir / "model.onnx", num_threads=0)


@pytest.mark.parametrize("name", ["model.tflite", "model.int8.tflite", "model.onnx"])
def test_one_model_many_threads(name, models, test_set):
    """Concurrent calls with different batch sizes on one Model return the serial answers."""
    model = models[name]
    images = test_set[0][:2000]
    chunks = [images[i : i + n] for i, n in zip(range(0, 2000, 100), [1, 7, 100, 33] * 5)]
    serial = [model.predict_proba(c) for c in chunks]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            parallel = list(pool.map(model.predict_proba, chunks))
            for got, want in zip(parallel, serial):
                np.testing.assert_array_equal(got, want)


def test_metadata_and_class_names(models):
    for name, model in models.items():
        assert model.class_names[4:6] == ("Coat", "Sandal") and len(model.class_names) == 10, name
        assert model.metadata.input_shape == (28, 28)


def test_runtime_imports_without_tensorflow(exported_dir, test_set, tmp_path):
    """In a fresh interpreter where TF, Keras, tf2onnx and onnx cannot be imported, the runtime works.

    CI points EDGEPORT_RUNTIME_PYTHON at a virtualenv holding only ``edgeport[runtime]``;
    elsewhere an import blocker stands in for the missing packages.
    """
    np.save(tmp_path / "x.npy", test_set[0][:16])
    code = textwrap.dedent(
        f"""
        import importlib.abc, sys
        BLOCKED = {{"tensorflow", "keras", "tf2onnx", "onnx", "tf_keras"}}
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        import numpy as np, runtime
        x = np.load({str(tmp_path / "x.npy")!r})
        for name in ("model.onnx", "model.tflite", "model.int8.tflite", "model.int8.onnx"):
            m = runtime.load({str(exported_dir)!r} + "/" + name)
            print(name, m.predict(x).tolist())
        heavy = sorted(k for k in sys.modules if k.split(".")[0] in BLOCKED)
        assert not heavy, heavy
        try:
            import tensorflow
        except ImportError:
            pass
        else:
            raise AssertionError("tensorflow is importable here")
        """
    )
    result = subprocess.run(
        [os.environ.get("EDGEPORT_RUNTIME_PYTHON") or sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4 and all(len(json.loads(line.split(" ", 1)[1])) == 16 for line in lines)


def test_runtime_does_not_import_heavy_packages_statically():
    """No module of runtime/ imports TensorFlow, Keras, tf2onnx or onnx (source check)."""
    import ast

    for path in Path(runtime.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"tensorflow", "keras", "tf2onnx", "onnx"}, (path, name)


# --- CLI -------------------------------------------------------------------------------------


def test_cli_prints_top_k(exported_dir, test_set, tmp_path, capsys):
    np.save(tmp_path / "x.npy", test_set[0][:3])
    assert runtime_main([str(exported_dir / "model.tflite"), str(tmp_path / "x.npy"), "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith(f"{tmp_path / 'x.npy'}[0]: ") and lines[0].count(",") == 1


def test_cli_json(exported_dir, test_set, tmp_path, capsys):
    np.save(tmp_path / "x.npy", test_set[0][0])  # a single (28, 28) image
    assert runtime_main([str(exported_dir / "model.onnx"), str(tmp_path / "x.npy"), "--json", "--top-k", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out) == 1 and len(out[0]["top_k"]) == 3
    probs = [t["probability"] for t in out[0]["top_k"]]
    assert probs == sorted(probs, reverse=True)
    assert out[0]["top_k"][0]["class_index"] == int(test_set[1][0]) or probs[0] < 0.9


def _cli_error(argv, capsys) -> str:
    assert runtime_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_cli_errors(exported_dir, tmp_path, capsys):
    model = str(exported_dir / "model.onnx")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert "objects.npy" in _cli_error([model, str(tmp_path / "objects.npy")], capsys)
    np.save(tmp_path / "bad.npy", np.zeros((2, 5), np.uint8))
    assert "(2, 5)" in _cli_error([model, str(tmp_path / "bad.npy")], capsys)
    assert "missing.npy" in _cli_error([model, str(tmp_path / "missing.npy")], capsys)
    assert "nope.tflite" in _cli_error([str(tmp_path / "nope.tflite"), str(tmp_path / "bad.npy")], capsys)
    np.save(tmp_path / "ok.npy", np.zeros((1, 28, 28), np.uint8))
    assert "--top-k" in _cli_error([model, str(tmp_path / "ok.npy"), "--top-k", "11"], capsys)


@pytest.mark.parametrize("name", FP32 + ["model.int8.tflite"])
def test_float_edge_values_are_accepted(name, models):
    """-0.0, exact 0 and 1, float16/float64 inputs: all valid, all give the float32 answer."""
    model = models[name]
    x = np.zeros((2, 28, 28), np.float32)
    x[1] = 1.0
    expected = model.predict_proba(x)
    np.testing.assert_array_equal(model.predict_proba(-x[:1] * 0.0 - 0.0), expected[:1])
    for dtype in (np.float16, np.float64):
        np.testing.assert_allclose(model.predict_proba(x.astype(dtype)), expected, atol=1e-6)
    big_endian = x.astype(">f4")
    np.testing.assert_array_equal(model.predict_proba(big_endian), expected)


def test_output_decoders_match_the_dequantization_formula():
    """Decided at load (issue 19.17): 8-bit outputs through one table, int8 by negative index."""
    from runtime.contract import output_decoder

    for dtype, quant in ((np.uint8, (1 / 256, 0)), (np.int8, (0.0039, -128)), (np.int8, (0.05, 3))):
        info = np.iinfo(dtype)
        raw = np.arange(info.min, info.max + 1, dtype=dtype).reshape(-1, 8)
        want = ((raw.astype(np.float32) - np.float32(quant[1])) * np.float32(quant[0])).astype(np.float32)
        got = output_decoder(np.dtype(dtype), quant, fresh=True)(raw)
        assert got.dtype == np.float32 and got.shape == raw.shape
        np.testing.assert_array_equal(got, want)
    wide = np.array([[-32768, -1, 0, 7, 32767]], np.int16)
    got = output_decoder(np.dtype(np.int16), (2.0**-15, 0), fresh=True)(wide)
    np.testing.assert_array_equal(got, wide.astype(np.float32) * np.float32(2.0**-15))
    floats = np.ones((1, 3), np.float32)
    assert output_decoder(np.dtype(np.float32), None, fresh=True) is None  # an engine's own array
    copied = output_decoder(np.dtype(np.float32), None, fresh=False)(floats)
    assert copied is not floats and np.array_equal(copied, floats)


@pytest.mark.parametrize("name", ["model.tflite", "model.int8.tflite", "model.int8.onnx", "model.onnx"])
def test_batch_one_equals_the_public_engine_api(name, exported_dir, test_set):
    """The per-call path calls the engines' native layer (issue 19.17): one image at a time, every
    answer equals the engines' public API (LiteRT set_tensor/invoke/get_tensor, onnxruntime
    InferenceSession.run) on the same input, dequantized by the artifact's own scale and zero point."""
    model = runtime.load(exported_dir / name, num_threads=1)
    images = test_set[0][:25]
    if name.endswith(".tflite"):
        from ai_edge_litert.interpreter import Interpreter

        it = Interpreter(model_path=str(exported_dir / name), num_threads=1)
        it.allocate_tensors()
        (inp,), (out,) = it.get_input_details(), it.get_output_details()

        def public(x):
            it.set_tensor(inp["index"], x)
            it.invoke()
            y = it.get_tensor(out["index"])
            scale, zero_point = out["quantization"]
            return y if not scale else (y.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)
    else:
        import onnxruntime as ort

        session = ort.InferenceSession(
            str(exported_dir / name), sess_options=runtime.onnx_session_options(1), providers=["CPUExecutionProvider"]
        )
        public = lambda x: session.run(None, {session.get_inputs()[0].name: x})[0]  # noqa: E731
    for i in range(len(images)):
        image = images[i : i + 1]
        got = model.predict_proba(image)
        want = public(model.engine_input(image))
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)
    assert model._direct_rows == model.max_batch  # explicit threads: every chunk goes straight in
