"""Issue 11: int16x8, the per-layer report by Keras layer name, float layers and the target search.

Real converters and runtimes throughout; the small models are trained for a few seconds.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import runtime
from export.__main__ import main as export_main


def test_int16x8_end_to_end(exported_dir: Path, test_set) -> None:
    """Both formats build, pass the 16x8 thresholds, and run through runtime with int16 I/O."""
    rows = {r["artifact"]: r for r in json.loads((exported_dir / "export_report.json").read_text())["artifacts"]}
    for name in ("model.int16x8.tflite", "model.int16x8.onnx"):
        row = rows[name]
        assert row["ok"], row["failures"]
        # 0.996 and 0.15 points on this 3-epoch model (see conftest); the 30-epoch MLP meets 0.998
        # and 0.1 (README)
        assert row["agreement"] >= 0.996 and row["size_ratio"] <= 0.35 and row["accuracy_drop_points"] <= 0.15
    tfl = runtime.load(exported_dir / "model.int16x8.tflite")
    assert tfl.input_details["dtype"] == "int16"  # default --io-dtype uint8 -> int16, the only integer I/O allowed
    images, _ = test_set
    from_pixels = tfl.predict_proba(images[:200])
    from_floats = tfl.predict_proba(images[:200].astype(np.float32) / 255.0)
    assert from_pixels.dtype == np.float32 and from_pixels.shape == (200, 10)
    np.testing.assert_allclose(from_pixels.sum(axis=1), 1.0, atol=0.01)
    np.testing.assert_array_equal(from_pixels, from_floats)
    fp32 = runtime.load(exported_dir / "model.tflite").predict(images[:200])
    assert np.mean(tfl.predict(images[:200]) == fp32) >= 0.99


def _small_models():
    import keras

    seq = keras.Sequential(
        [
            keras.Input((28, 28), name="image"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(32, activation="relu", name="hidden1"),
            keras.layers.Dense(10, activation="softmax", name="output"),
        ],
        name="seq_mlp",
    )
    # default names with the suffix trap: "dense" and "dense_1", "conv2d" and "conv2d_1"
    inp = keras.Input((28, 28))
    x = keras.layers.Reshape((28, 28, 1))(inp)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    y = keras.layers.Conv2D(4, 3, padding="same")(x)
    x = keras.layers.Add()([x, y])
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    out = keras.layers.Dense(10, activation="softmax")(x)
    return seq, keras.Model(inp, out)


@pytest.fixture(scope="module")
def small_artifacts(tmp_path_factory, test_set):
    """A Sequential and a Functional model, trained briefly, as fp32 and int8 ONNX/TFLite."""
    from export.litert import export_litert
    from export.metadata import build_metadata
    from export.onnx import export_onnx, quantize_onnx
    from runtime.metadata import Quantization

    images, labels = test_set
    x = images[:2000].astype(np.float32) / 255.0
    out = tmp_path_factory.mktemp("small")
    built = {}
    for kind, model in zip(("sequential", "functional"), _small_models()):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, labels[:2000], epochs=1, batch_size=64, verbose=0)
        meta = build_metadata(
            fmt="x", source_sha256="0" * 64, quantization=Quantization(), task="classification",
            class_names=tuple(f"class_{i}" for i in range(10)), item_shape=(28, 28), outputs=10,
            pixel_scale=1 / 255,
        )
        paths = {
            "onnx": export_onnx(model, out / f"{kind}.onnx", metadata=meta),
            "tflite": export_litert(model, out / f"{kind}.tflite", metadata=meta),
            "int8.tflite": export_litert(
                model, out / f"{kind}.int8.tflite", metadata=meta, quantize="int8", io_dtype="float32",
                calibration=x[:100],
            ),
        }
        paths["int8.onnx"] = quantize_onnx(
            paths["onnx"], out / f"{kind}.int8.onnx", mode="int8", metadata=meta, calibration=x[:100]
        )
        built[kind] = (model, paths)
    return built, x[:200]


@pytest.mark.parametrize("kind", ["sequential", "functional"])
@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_layer_name_mapping(small_artifacts, kind: str, fmt: str) -> None:
    """Every Keras layer maps to the artifact tensor that holds exactly its fp32 output."""
    import keras

    from export.steering.layer_map import KerasLayout
    from export.steering.layer_report import _Graph, _to_keras_layout

    built, x = small_artifacts
    model, paths = built[kind]
    layout = KerasLayout.from_model(model)
    graph = _Graph.load(paths[fmt], layout)
    # Flatten/Reshape of a NHWC tensor may be folded into other ops, but every layer with
    # weights or arithmetic must be found, under its Keras name.
    weighted = {l.name for l in model.layers if l.weights} | {l.name for l in model.layers if "add" in l.name}
    assert weighted <= set(graph.outputs), (sorted(weighted), sorted(graph.outputs))
    ref = keras.Model(model.inputs, [model.get_layer(n).output for n in graph.outputs]).predict(x, verbose=0)
    got = graph.run(x, list(graph.outputs))
    for name, want in zip(graph.outputs, ref):
        value = _to_keras_layout(got[name], want.shape)
        assert value is not None, name
        np.testing.assert_allclose(value, want, rtol=1e-4, atol=1e-4, err_msg=f"{fmt} tensor for {name}")


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_layer_report_rows_use_keras_names(small_artifacts, kind: str) -> None:
    from export.steering.layer_report import layer_report

    built, x = small_artifacts
    model, paths = built[kind]
    for key in ("int8.onnx", "int8.tflite"):
        report = layer_report(paths[key], model, x)
        names = [r.layer for r in report.rows]
        assert set(names) <= {l.name for l in model.layers}
        assert model.layers[-1].name in names
        assert report.blamed in names
        assert abs(sum(r.share for r in report.rows) - 1.0) < 1e-6 or all(r.share == 0 for r in report.rows)
        # the injected errors must stand in for the artifact: its agreement within a few images
        assert report.simulated_agreement is not None and report.simulated_agreement > 0.9
        assert all(r.sqnr_db is None or r.sqnr_db > 10 for r in report.rows), report.to_markdown()


def test_unknown_layer_name_is_one_line_exit_2(trained_dir: Path, data_dir: Path, tmp_path: Path, capsys) -> None:
    shutil.copy2(trained_dir / "model.keras", tmp_path / "model.keras")
    code = export_main([
        "--model", str(tmp_path / "model.keras"), "--format", "onnx", "--quantize", "int8",
        "--keep-float", "hidden1,nope", "--data-dir", str(data_dir),
    ])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "'nope'" in err
    assert "['flatten', 'hidden1', 'hidden2', 'output']" in err  # the valid names
    assert not list(tmp_path.glob("*.onnx"))


def test_keep_float_refused_for_integer_only_variants(trained_dir: Path, data_dir: Path, tmp_path: Path, capsys) -> None:
    shutil.copy2(trained_dir / "model.keras", tmp_path / "model.keras")
    code = export_main([
        "--model", str(tmp_path / "model.keras"), "--format", "tflite", "--quantize", "int8",
        "--keep-float", "hidden1", "--data-dir", str(data_dir),
    ])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "tflite int8 with --io-dtype float32" in err


def test_unreachable_target_keeps_best_and_exits_1(trained_dir: Path, data_dir: Path, tmp_path: Path, capsys) -> None:
    """100% agreement within the int8 size budget: only tiny layers may stay float, so it cannot be met."""
    shutil.copy2(trained_dir / "model.keras", tmp_path / "model.keras")
    code = export_main([
        "--model", str(tmp_path / "model.keras"), "--format", "onnx", "--quantize", "int8",
        "--target-agreement", "1.0", "--max-size-ratio", "0.30", "--data-dir", str(data_dir), "-q",
    ])
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("error: target agreement 100.0000% not reached") and "best installed" in err[0]
    assert "target agreement" in captured.out and "NOT reached" in captured.out
    row = json.loads((tmp_path / "export_report.json").read_text())["artifacts"][0]
    recipe = row["recipe"]
    assert recipe["reached"] is False and row["ok"]
    tried = [s["kept_float"] for s in recipe["steps"]]
    assert tried[0] == [] and len(tried) == 5  # the base, then every layer, worst first
    assert tried[1] == [row["layer_report"]["blamed"]]
    valid = [s for s in recipe["steps"] if s["ok"]]
    assert recipe["agreement"] == max(s["agreement"] for s in valid)
    installed = runtime.load(tmp_path / "model.int8.onnx")
    assert installed.metadata.extra["quantization_recipe"]["kept_float"] == recipe["kept_float"]
    assert row["size_bytes"] == (tmp_path / "model.int8.onnx").stat().st_size
