"""`python -m benchmarks --data X.npz`: any model's test set, read through export's data interface;
scales come from the artifacts' metadata, and a missing one is an error, never a guess (real files)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import runtime
from benchmarks.__main__ import main as bench_main
from tests import zoo


@pytest.fixture(scope="module")
def tiny(shared_build) -> dict[str, tuple[Path, Path]]:
    """{"pixels" | "features": (folder of artifacts without model.keras, data.npz)}: no Keras baselines."""
    built = {}
    for kind in ("pixels", "features"):
        folder = shared_build(f"bench-tiny-{kind}", lambda out, k=kind: zoo.tiny_classifier(out, k == "pixels"))
        model_dir, data = folder / f"tiny_{kind}", folder / f"tiny_{kind}" / "data.npz"
        artifacts = folder / "artifacts"
        if not artifacts.is_dir():  # the artifacts alone: the run skips the Keras baselines (seconds, not minutes)
            staging = folder / f".artifacts-{kind}"
            staging.mkdir(exist_ok=True)
            for name in ("model.onnx", "model.tflite"):
                shutil.copy2(model_dir / name, staging / name)
            staging.rename(artifacts)
        built[kind] = artifacts, data
    return built


@pytest.mark.parametrize("kind", ["pixels", "features"])
def test_benchmarks_run_on_any_models_data(kind, tiny, tmp_path, capsys):
    """6x6 uint8 pixels with pixel scale 1/16, or 5 float features: accuracy on the .npz's own labels."""
    artifacts, data = tiny[kind]
    out = tmp_path / "results"
    code = bench_main(["--model-dir", str(artifacts), "--data", str(data), "--output", str(out), "--quick",
                       "--batch-sizes", "1,4"])
    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "benchmark.json").read_text())
    assert report["config"]["data_dir"] == str(data)
    with np.load(data) as npz:
        x, y = npz["x_test"], npz["y_test"]
    rows = {row["file"]: row for row in report["artifacts"]}
    assert sorted(rows) == ["model.onnx", "model.tflite"]
    for name, row in rows.items():
        want = float(np.mean(runtime.load(artifacts / name).predict(x) == y))
        assert (row["accuracy"], row["bare_accuracy"], row["samples"]) == (want, want, len(y)), name
    shape = "(N, 6, 6)" if kind == "pixels" else "(N, 5)"
    inputs = [s["input"] for s in report["subjects"]]
    assert inputs and all(shape in text for text in inputs), inputs
    runtime_rows = [s for s in report["subjects"] if s["kind"] == "runtime"]
    # raw uint8 pixels: the runtime is also timed scaling them itself; float features have no such path
    assert all((s["raw_pixel_input"] is not None) == (kind == "pixels") for s in runtime_rows)


@pytest.fixture(scope="module")
def scorers(shared_build) -> dict[str, tuple[Path, Path]]:
    """{"binary" | "regression": (folder of model.keras, model.onnx, model.tflite, data.npz)}."""
    built = {}
    for task in ("binary", "regression"):
        folder = shared_build(f"bench-tiny-{task}", lambda out, t=task: zoo.tiny_scorer(out, t))
        built[task] = folder / f"tiny_{task}", folder / f"tiny_{task}" / "data.npz"
    return built


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_benchmarks_score_binary_and_regression_models(task, scorers, tmp_path, capsys):
    """A sigmoid model is scored by accuracy of p > 0.5, a regressor by MAE: the runtime's and bare
    call's figures equal what ``runtime.predict`` gives on the same data. The artifacts run alone (no
    Keras baselines: their subprocess costs ~20 s; test_bench_analysis checks the per-task rules
    Keras's outputs go through, and test_benchmarks the Keras worker)."""
    model_dir, data = scorers[task]
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    for name in ("model.onnx", "model.tflite"):
        shutil.copy2(model_dir / name, artifacts / name)
    model_dir = artifacts
    out = tmp_path / "results"
    code = bench_main(["--model-dir", str(model_dir), "--data", str(data), "--output", str(out), "--quick",
                       "--batch-sizes", "1,8"])
    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "benchmark.json").read_text())
    metric = {"binary": "accuracy", "regression": "mae"}[task]
    assert report["quality"]["task"] == task and report["quality"]["metric"] == metric
    with np.load(data) as npz:
        x, y = npz["x_test"], npz["y_test"]

    def score(answers: np.ndarray) -> float:
        return float(np.mean(answers == y)) if task == "binary" else float(np.mean(np.abs(answers - y)))

    rows = {row["file"]: row for row in report["artifacts"]}
    subjects = {s["id"]: s for s in report["subjects"]}
    assert sorted(rows) == ["model.onnx", "model.tflite"]
    for name, row in rows.items():
        want = score(runtime.load(model_dir / name).predict(x).astype(np.float64))
        # an untrained model: a score a wrong rule (argmax of one column, a wrong target shape) would change
        assert 0.0 < want < 1.0 if task == "binary" else want > 0.1
        assert (row[metric], row[f"bare_{metric}"], row["samples"]) == (want, want, len(y)), name
        assert subjects[f"runtime:{name}"][metric] == want and subjects[f"bare:{name}"][metric] == want
        assert [b["batch_size"] for b in subjects[f"runtime:{name}"]["batches"]] == [1, 8]
        assert task == "binary" or "accuracy" not in row
    assert not {"keras:predict", "keras:call", "numpy:reference"} & set(subjects)
    assert {c["subject"] for c in report["cold_start"]} >= {"runtime:model.onnx", "runtime:model.tflite"}
    md = (out / "benchmark.md").read_text()
    assert ("| Test acc. |" if task == "binary" else "| Test MAE |") in md
    assert f"Quality ({task} model): {metric}:" in md


def test_artifacts_of_different_tasks_are_one_line_exit_2(scorers, tmp_path, capsys):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy2(scorers["binary"][0] / "model.onnx", mixed / "model.onnx")  # no model.keras: no baselines
    shutil.copy2(scorers["regression"][0] / "model.tflite", mixed / "model.tflite")
    out = tmp_path / "results"
    code = bench_main(["--model-dir", str(mixed), "--data", str(scorers["binary"][1]), "--output", str(out),
                       "--quick", "--allow-source-mismatch"])  # past the provenance check, to the task check
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2 and len(lines) == 1, err
    assert "different tasks" in lines[0] and "model.onnx: binary" in lines[0] and "model.tflite: regression" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("task, y_test, expected", [
    ("binary", np.full(48, 2), "holds classes 2..2, but model.onnx has 2 classes"),
    ("regression", np.zeros((48, 3), np.float32), "3 target(s) per sample, but model.onnx has 2 output(s)"),
    ("regression", np.zeros((48, 2, 1), np.float32), "(48, 2, 1): expected numeric regression targets"),
])
def test_labels_that_do_not_fit_the_task_are_one_line_exit_2(task, y_test, expected, scorers, tmp_path, capsys):
    artifacts, data = scorers[task]
    with np.load(data) as npz:
        x = npz["x_test"]
    out = tmp_path / "results"
    code = bench_main(["--model-dir", str(artifacts), "--data", str(_npz(tmp_path / "d.npz", x_test=x, y_test=y_test)),
                       "--output", str(out), "--quick"])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2 and len(lines) == 1 and expected in lines[0], err
    assert not out.exists()


def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("case, expected", [
    ("uint8_for_features", "records no pixel_scale"),
    ("no_labels", "no y_test labels"),
    ("wrong_shape", "x_test has shape (4, 7)"),
])
def test_data_that_does_not_fit_is_one_line_exit_2(case, expected, tiny, tmp_path, capsys):
    artifacts, _ = tiny["features"]
    x = np.arange(20, dtype=np.float32).reshape(4, 5)
    arrays = {
        "uint8_for_features": {"x_test": x.astype(np.uint8), "y_test": np.zeros(4, np.int64)},
        "no_labels": {"x_test": x},
        "wrong_shape": {"x_test": np.zeros((4, 7), np.float32), "y_test": np.zeros(4, np.int64)},
    }[case]
    out = tmp_path / "results"
    code = bench_main(["--model-dir", str(artifacts), "--data", str(_npz(tmp_path / "d.npz", **arrays)),
                       "--output", str(out), "--quick"])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2 and len(lines) == 1 and expected in lines[0], err
    assert not out.exists()


def test_mcu_inputs_refuse_raw_pixels_without_a_pixel_scale(tiny):
    from benchmarks.inputs import MissingScaleError
    from benchmarks.mcu.table import model_inputs

    artifacts, data = tiny["features"]
    with pytest.raises(MissingScaleError, match="model.tflite records no pixel_scale"):
        model_inputs(artifacts / "model.tflite", np.zeros((2, 5), np.uint8))
    pixels, data = tiny["pixels"]
    with np.load(data) as npz:
        x = npz["x_test"][:3]
    native, what = model_inputs(pixels / "model.tflite", x)
    np.testing.assert_array_equal(native, (x.astype(np.float32) / 16).reshape(3, -1))  # the recorded 1/16
    assert what == "3 given uint8 inputs"


def test_c_validation_refuses_raw_pixels_without_a_pixel_scale(tiny, tmp_path):
    """export.csrc.validate reads the pixel scale from the metadata; there is no 1/255 fallback."""
    from export.csrc import export_c, validate_c
    from export.errors import DataError

    artifacts, _ = tiny["features"]
    c_path, _ = export_c(artifacts / "model.tflite", tmp_path)
    with pytest.raises(DataError, match="records no pixel_scale"):
        validate_c(c_path, artifacts / "model.tflite", np.zeros((2, 5), np.uint8))
