"""``python -m benchmarks --quick`` on a briefly trained CNN (input (N, 28, 28, 1)).

A module of its own so that this run, as long as the MLP's in test_benchmarks.py, can go to
another pytest-xdist worker (modules are the unit of distribution, see tests/conftest.py).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
from pathlib import Path

import pytest

import runtime
from benchmarks.__main__ import main
from test_benchmarks import _progress_counts, _subjects


@pytest.fixture(scope="module")
def cnn_dir(cnn_trained: Path, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's briefly trained built-in CNN (input (28, 28, 1), conftest ``cnn_trained``) with
    fp32 and int8 TFLite artifacts."""
    import shutil

    import keras

    from export.litert import export_litert
    from runtime.metadata import ModelMetadata, Quantization
    from train.data import load_split
    from train.model import preprocess

    out = tmp_path_factory.mktemp("cnn")
    shutil.copy2(cnn_trained / "model.keras", out / "model.keras")
    model = keras.saving.load_model(out / "model.keras")
    sha = hashlib.sha256((out / "model.keras").read_bytes()).hexdigest()
    calibration = preprocess(load_split("train", data_dir)[0][5000:5200])[..., None]
    for name, mode in (("model.tflite", "none"), ("model.int8.tflite", "int8")):
        meta = ModelMetadata(
            class_names=tuple(f"class_{i}" for i in range(10)), input_shape=(28, 28, 1), input_dtype="float32",
            pixel_scale=1 / 255, source_sha256=sha, format="tflite", quantization=Quantization(mode=mode),
        )
        export_litert(model, out / name, metadata=meta, quantize=mode,
                      calibration=calibration if mode == "int8" else None)
    return out


def test_quick_run_on_the_cnn(
    cnn_dir: Path, data_dir: Path, tmp_path: Path, test_set, caplog: pytest.LogCaptureFixture
) -> None:
    """The test images follow the artifacts' input shape (N, 28, 28, 1), for every subject."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        rc = main(["--model-dir", str(cnn_dir), "--output", str(tmp_path), "--quick",
                   "--data-dir", str(data_dir), "--batch-sizes", "1,32"])
    assert rc == 0
    report = json.loads((tmp_path / "benchmark.json").read_text())
    subjects = _subjects(report)
    assert set(subjects) == {f"{k}:{n}" for k in ("runtime", "bare") for n in ("model.tflite", "model.int8.tflite")} | {
        "keras:predict", "keras:call"}  # the NumPy reference covers Dense-only models
    assert report["provenance"]["ok"] is True
    assert report["provenance"]["input_shapes"] == {n: [28, 28, 1] for n in ("model.tflite", "model.int8.tflite")}
    images, labels = test_set
    expected = float((runtime.load(cnn_dir / "model.tflite").predict(images.reshape(-1, 28, 28, 1)) == labels).mean())
    assert abs(subjects["runtime:model.tflite"]["accuracy"] - expected) <= 1e-9
    assert abs(subjects["keras:predict"]["accuracy"] - expected) <= 2e-4  # fp32 TFLite == Keras
    assert abs(subjects["runtime:model.int8.tflite"]["accuracy"] - expected) <= 0.02
    assert {c["subject"] for c in report["cold_start"]} == {
        "runtime:model.tflite", "runtime:model.int8.tflite", "keras:predict", "keras:call"}
    # the skipped NumPy reference leaves the plan: the count still ends at its total
    counts = _progress_counts([r.getMessage() for r in caplog.records])
    assert counts and counts[-1][0] == counts[-1][1] == len(counts), counts
