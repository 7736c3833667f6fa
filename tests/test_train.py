"""Tests of the train/ package on the real Fashion-MNIST files (no skipping if missing)."""

from __future__ import annotations

import gzip
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from train import data as data_mod
from train import training
from train.__main__ import build_parser, main
from train.data import DataError, load_fashion_mnist, load_split, resolve_data_dir

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("FASHION_MNIST_DIR") or REPO.parent / "shared/data/fashion-mnist")
TEST_IMAGES, TEST_LABELS = data_mod.FILES["test"]


@pytest.fixture(scope="module")
def dataset() -> data_mod.FashionMNIST:
    return load_fashion_mnist(DATA_DIR)


def _raw(name: str) -> bytes:
    with gzip.open(DATA_DIR / name, "rb") as f:
        return f.read()


def _test_dir_with(tmp_path: Path, name: str, content: bytes | None) -> Path:
    """A folder with the real test-split files, except ``name`` replaced (or removed if None)."""
    for real in data_mod.FILES["test"]:
        if real != name:
            (tmp_path / real).symlink_to(DATA_DIR / real)
    if content is not None:
        (tmp_path / name).write_bytes(content)
    return tmp_path


# --- loader -----------------------------------------------------------------


def test_shapes_dtypes_and_split(dataset: data_mod.FashionMNIST) -> None:
    assert dataset.x_train.shape == (55000, 28, 28)
    assert dataset.x_valid.shape == (5000, 28, 28)
    assert dataset.x_test.shape == (10000, 28, 28)
    assert dataset.y_train.shape == (55000,)
    assert dataset.y_valid.shape == (5000,)
    assert dataset.y_test.shape == (10000,)
    for arr in vars(dataset).values():
        assert arr.dtype == np.uint8
    x_full, y_full = load_split("train", DATA_DIR)
    np.testing.assert_array_equal(dataset.x_valid, x_full[:5000])
    np.testing.assert_array_equal(dataset.y_train, y_full[5000:])


def test_labels_and_pixel_means(dataset: data_mod.FashionMNIST) -> None:
    from train.model import preprocess

    for labels in (dataset.y_train, dataset.y_valid, dataset.y_test):
        assert set(np.unique(labels)) == set(range(10))
    x_full, y_full = load_split("train", DATA_DIR)
    assert x_full.mean() == pytest.approx(72.96, abs=0.01)  # figures from the data README
    assert preprocess(x_full).mean() == pytest.approx(72.96 / 255, abs=1e-4)
    assert dataset.x_test.mean() == pytest.approx(73.16, abs=0.01)
    # Balanced classes, as in the canonical files.
    assert list(np.bincount(y_full, minlength=10)) == [6000] * 10
    assert list(np.bincount(dataset.y_test, minlength=10)) == [1000] * 10


def test_class_names_and_preprocess() -> None:
    from train.model import CLASS_NAMES, INPUT_SHAPE, NUM_CLASSES, PIXEL_SCALE, preprocess

    assert len(CLASS_NAMES) == NUM_CLASSES == 10
    assert CLASS_NAMES[4:6] == ("Coat", "Sandal")
    assert CLASS_NAMES[0] == "T-shirt/top" and CLASS_NAMES[9] == "Ankle boot"
    assert INPUT_SHAPE == (28, 28) and PIXEL_SCALE == 1 / 255
    out = preprocess(np.array([[0, 255]], dtype=np.uint8))
    assert out.dtype == np.float32 and out.tolist() == [[0.0, 1.0]]
    with pytest.raises(TypeError):
        preprocess(out)  # already scaled: refuse to scale twice


def test_build_model() -> None:
    from train.model import build_model

    model = build_model()
    assert model.count_params() == 266_610
    assert model.name == "fashion_mnist_mlp"
    assert model.output_shape == (None, 10)


def test_unknown_split() -> None:
    with pytest.raises(ValueError, match="train, test"):
        load_split("valid", DATA_DIR)


def test_resolve_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(data_mod.ENV_VAR, raising=False)
    assert resolve_data_dir(None) is None
    monkeypatch.setenv(data_mod.ENV_VAR, str(DATA_DIR))
    assert resolve_data_dir(None) == DATA_DIR
    assert resolve_data_dir(tmp_path) == tmp_path  # explicit argument wins
    with pytest.raises(DataError, match="nope"):
        resolve_data_dir(tmp_path / "nope")


def test_keras_fallback_is_used_without_a_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    # Stands in for our own download helper (no network here); keras itself is not mocked.
    monkeypatch.delenv(data_mod.ENV_VAR, raising=False)
    splits = {split: load_split(split, DATA_DIR) for split in data_mod.SPLITS}
    monkeypatch.setattr(data_mod, "_load_keras", lambda: splits)
    assert load_fashion_mnist().x_valid.shape == (5000, 28, 28)
    assert load_split("test")[1].shape == (10000,)
    splits["test"] = (splits["test"][0], splits["test"][1][:5])
    with pytest.raises(DataError, match="keras.datasets"):
        load_split("test")


def _idx(magic: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    return struct.pack(f">{1 + len(dims)}I", magic, *dims) + payload


LABELS_OK = _raw(TEST_LABELS)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (TEST_LABELS, None, "not found"),
        (TEST_LABELS, gzip.compress(_idx(2051, (10000,), LABELS_OK[8:])), "expected 2049, got 2051"),
        (TEST_LABELS, gzip.compress(LABELS_OK[:-10]), "truncated payload"),
        (TEST_LABELS, gzip.compress(LABELS_OK + b"\x00"), "trailing data"),
        (TEST_LABELS, gzip.compress(_idx(2049, (100,), bytes(100))), "expected 10000, got 100"),
        (TEST_LABELS, gzip.compress(LABELS_OK[:-1] + b"\x0a"), "0..9, got max 10"),
        (TEST_LABELS, gzip.compress(LABELS_OK[:5]), "truncated header"),
        (TEST_LABELS, b"not a gzip file at all", "gzip"),
        (TEST_IMAGES, (DATA_DIR / TEST_IMAGES).read_bytes()[:100_000], "truncated gzip"),
        (TEST_IMAGES, gzip.compress(_idx(2051, (10000, 28, 27), b"")), "got (28, 27)"),
    ],
    ids=["missing", "magic", "short", "long", "count", "label", "header", "not-gz", "trunc-gz", "shape"],
)
def test_bad_files_raise_data_error(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    folder = _test_dir_with(tmp_path, name, content)
    with pytest.raises(DataError) as info:
        load_split("test", folder)
    text = str(info.value)
    assert name in text and message in text
    assert "\n" not in text


def test_corrupt_deflate_stream(tmp_path: Path) -> None:
    blob = bytearray((DATA_DIR / TEST_LABELS).read_bytes())
    blob[len(blob) // 2 : len(blob) // 2 + 64] = bytes(64)  # smash the deflate data
    folder = _test_dir_with(tmp_path, TEST_LABELS, bytes(blob))
    with pytest.raises(DataError, match=TEST_LABELS):
        load_split("test", folder)


# --- CLI ----------------------------------------------------------------------


def test_cli_missing_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path / "missing"), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "missing" in err and "Traceback" not in err


def test_cli_output_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["--data-dir", str(DATA_DIR), "--output", str(target), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and str(target) in err


def test_cli_defaults() -> None:
    args = build_parser().parse_args([])
    # epochs, batch size and learning rate default per architecture (None: train() fills them in)
    assert (args.arch, args.epochs, args.batch_size, args.learning_rate, args.seed) == ("mlp", None, None, None, 42)
    assert (args.data_dir, args.output, args.quiet, args.limit) == (None, "artifacts", False, None)


def test_arch_defaults_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    mlp, cnn = training.ARCHS["mlp"], training.ARCHS["cnn"]
    assert training.ARCH_NAMES == ("mlp", "cnn")
    assert (mlp.epochs, mlp.batch_size, mlp.learning_rate, mlp.optimizer) == (30, 32, 0.01, "sgd")  # the book's
    assert (cnn.epochs, cnn.batch_size, cnn.learning_rate, cnn.optimizer) == (12, 64, 0.001, "adam")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "mlp 30, cnn 12" in text and "mlp 32, cnn 64" in text and "mlp 0.01, cnn 0.001" in text
    assert "0..4294967295" in text and "{mlp,cnn}" in text


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--seed", "-1"], "--seed"),
        (["--seed", str(2**32)], "--seed"),
        (["--seed", "1.5"], "--seed"),
        (["--seed", "abc"], "--seed"),
        (["--epochs", "0"], "--epochs"),
        (["--epochs", "ten"], "--epochs"),
        (["--batch-size", "-1"], "--batch-size"),
        (["--learning-rate", "0"], "--learning-rate"),
        (["--learning-rate", "nan"], "--learning-rate"),
        (["--learning-rate", "inf"], "--learning-rate"),
        (["--limit", "0"], "--limit"),
        (["--arch", "rnn"], "--arch"),
    ],
)
def test_cli_bad_flag_is_one_line_naming_the_flag(
    argv: list[str], flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main([*argv, "--data-dir", str(DATA_DIR), "--output", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1, captured.err
    assert flag in captured.err and argv[1] in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert not out.exists()


def test_seed_bounds() -> None:
    for seed in (0, 2**32 - 1):
        assert build_parser().parse_args(["--seed", str(seed)]).seed == seed
        assert training.check_seed(seed) == seed
    for seed in (-1, 2**32, 1.0, True, "3"):
        with pytest.raises(ValueError, match="seed"):
            training.check_seed(seed)


def test_api_rejects_bad_seed_before_loading_data(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"seed must be an integer in 0\.\.4294967295, got -1"):
        training.train(data_dir=tmp_path / "no-data", seed=-1, output=tmp_path / "out")
    with pytest.raises(ValueError, match="arch"):
        training.train(arch="rnn", data_dir=DATA_DIR, output=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_data_and_output_errors_name_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path / "missing"), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --data-dir: ") and err.count("\n") == 1
    target = tmp_path / "file"
    target.write_text("x")
    for output in (target, target / "sub"):
        assert main(["--data-dir", str(DATA_DIR), "--output", str(output), "-q"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --output: ") and err.count("\n") == 1 and str(target) in err
    assert not (tmp_path / "o").exists()
    assert main(["--data-dir", str(DATA_DIR), "--output", "", "-q"]) == 2  # not the current folder
    assert capsys.readouterr().err == "error: --output: output path is empty: expected a directory\n"


def test_import_is_light(tmp_path: Path) -> None:
    code = (
        "import sys, train, train.data, train.training, train.__main__\n"
        "try:\n"
        "    train.training.train(arch='cnn', data_dir='/nonexistent/fashion-mnist', output=sys.argv[1])\n"
        "except train.data.DataError:\n"
        "    print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "out")], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.stdout.split() == ["False", "False"], proc.stderr


# --- training -----------------------------------------------------------------


def _weights(path: Path) -> list[np.ndarray]:
    import keras

    return keras.saving.load_model(path).get_weights()


def test_same_seed_same_weights(tmp_path: Path) -> None:
    kwargs = dict(data_dir=DATA_DIR, epochs=1, limit=2000, verbose=0)
    first = training.train(seed=7, output=tmp_path / "a", **kwargs)
    second = training.train(seed=7, output=tmp_path / "b", **kwargs)
    other = training.train(seed=8, output=tmp_path / "c", **kwargs)
    w1, w2, w3 = (_weights(r.model_path) for r in (first, second, other))
    assert len(w1) == 6
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, c) for a, c in zip(w1, w3))
    assert first.test_accuracy == second.test_accuracy

    record = _strict_json(first.history_path.read_text())
    assert (record["seed"], record["epochs"], record["arch"], record["parameters"]) == (7, 1, "mlp", 266_610)
    assert (record["optimizer"], record["input_shape"], record["batch_size"]) == ("sgd", [28, 28], 32)
    assert record["test_accuracy"] == first.test_accuracy
    assert set(record["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 1 for v in record["history"].values())
    assert first.plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "history.json", "learning_curves.png", "model.keras"
    ]


def test_failed_run_keeps_previous_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.keras").write_bytes(b"good model")
    (out / "history.json").write_text("{}")

    def broken_plot(*args: object) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(training, "_save_plot", broken_plot)  # fails after model.keras is staged
    with pytest.raises(OSError, match="simulated"):
        training.train(data_dir=DATA_DIR, epochs=1, limit=200, output=out, verbose=0)
    assert (out / "model.keras").read_bytes() == b"good model"
    assert (out / "history.json").read_text() == "{}"
    assert sorted(p.name for p in out.iterdir()) == ["history.json", "model.keras"]  # no temp files left

    # A corrupt data file fails before anything is written.
    (tmp_path / "bad").mkdir()
    bad = _test_dir_with(tmp_path / "bad", TEST_LABELS, b"garbage")
    for name in data_mod.FILES["train"]:
        (bad / name).symlink_to(DATA_DIR / name)
    with pytest.raises(DataError, match=TEST_LABELS):
        training.train(data_dir=bad, epochs=1, limit=200, output=out, verbose=0)
    assert (out / "model.keras").read_bytes() == b"good model"


def _strict_json(text: str) -> dict:
    def reject(token: str) -> None:
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=reject)


def test_json_output_is_strict_with_null_for_non_finite() -> None:
    record = {"loss": [0.5, float("nan"), float("inf")], "nested": {"x": -float("inf")}, "n": 3, "none": None}
    text = training.json_text(record)
    assert _strict_json(text) == {"loss": [0.5, None, None], "nested": {"x": None}, "n": 3, "none": None}
    assert training.finite_or_none((1.0, float("nan"))) == [1.0, None]


# --- divergence ---------------------------------------------------------------


def test_diverging_run_exits_1_and_installs_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.keras").write_bytes(b"good model")
    (out / "history.json").write_text("{}")
    argv = ["--epochs", "1", "--learning-rate", "1e6", "--limit", "2000", "--data-dir", str(DATA_DIR), "-q"]
    assert main([*argv, "--output", str(out)]) == 1
    captured = capsys.readouterr()
    assert re.match(r"error: training diverged: loss became (nan|inf|-inf) at epoch 1", captured.err), captured.err
    assert captured.err.count("\n") == 1 and "--learning-rate" in captured.err and captured.out == ""
    assert (out / "model.keras").read_bytes() == b"good model"
    assert sorted(p.name for p in out.iterdir()) == ["history.json", "model.keras"]  # no temp files
    # a fresh output folder is not even created
    assert main([*argv, "--arch", "cnn", "--output", str(tmp_path / "new")]) == 1
    assert "diverged" in capsys.readouterr().err and not (tmp_path / "new").exists()


def test_divergence_is_a_typed_error_in_the_api(tmp_path: Path) -> None:
    with pytest.raises(training.TrainingDivergedError, match="nothing was written"):
        training.train(data_dir=DATA_DIR, epochs=1, learning_rate=1e6, limit=2000, output=tmp_path, verbose=0)
    assert list(tmp_path.iterdir()) == []


# --- interrupts -----------------------------------------------------------------

_CHILD_ENV = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}


def _signal_while_writing(out: Path, signame: str) -> subprocess.CompletedProcess[str]:
    """Run the train CLI in a child whose plot step signals its own process mid-write."""
    code = (
        "import os, signal, sys, time\n"
        "from train import training\n"
        "from train.__main__ import main\n"
        "def plot(*args):\n"
        f"    os.kill(os.getpid(), signal.{signame})\n"
        "    time.sleep(30)\n"
        "training._save_plot = plot\n"
        f"sys.exit(main(['--epochs', '1', '--limit', '500', '-q', '--data-dir', {str(DATA_DIR)!r}, "
        f"'--output', {str(out)!r}]))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=_CHILD_ENV, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(("signame", "code", "message"), [
    ("SIGTERM", 143, "error: terminated (SIGTERM)"),
    ("SIGINT", 130, "error: interrupted"),
])
def test_signal_during_write_cleans_up(tmp_path: Path, signame: str, code: int, message: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.keras").write_bytes(b"good model")
    proc = _signal_while_writing(out, signame)
    assert proc.returncode == code, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == message
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["model.keras"]  # staged temp files removed
    assert (out / "model.keras").read_bytes() == b"good model"


def test_sigterm_during_training(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "train", "--epochs", "100", "--limit", "2000", "--data-dir", str(DATA_DIR),
         "--output", str(out)],
        cwd=REPO, env=_CHILD_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # wait until fit() is running
            if "epoch 1/100" in line:
                break
        proc.send_signal(15)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 143
    assert stderr.strip().splitlines() == ["error: terminated (SIGTERM)"] and stdout == ""
    assert not out.exists()


# --- the CNN ------------------------------------------------------------------

ALLOWED_INT8_OPS = {"FULLY_CONNECTED", "CONV_2D", "MAX_POOL_2D", "RESHAPE", "SOFTMAX", "QUANTIZE"}
# What the exporter's dynamic batch dimension adds in front of Flatten's RESHAPE (the MLP gets the
# same three); a fixed batch-1 graph, as a microcontroller build uses, folds them away.
DYNAMIC_BATCH_OPS = {"SHAPE", "STRIDED_SLICE", "PACK"}


def _tflite_ops(flatbuffer: bytes) -> set[str]:
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = schema.Model.GetRootAs(flatbuffer, 0)
    codes = [model.OperatorCodes(i) for i in range(model.OperatorCodesLength())]
    graph = model.Subgraphs(0)
    ops = set()
    for i in range(graph.OperatorsLength()):
        code = codes[graph.Operators(i).OpcodeIndex()]
        ops.add(names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())])
    return ops


def _int8_batch1(model: Any, calibration: np.ndarray, tmp: Path) -> bytes:
    """Full-integer TFLite of ``model`` traced at a fixed batch of 1 (the microcontroller case),
    through a SavedModel as export.litert does, but with a static batch dimension."""
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    spec = tf.TensorSpec((1, *model.input_shape[1:]), tf.float32)
    archive.add_endpoint("serving_default", lambda x: model(x, training=False), input_signature=[spec])
    archive.write_out(str(tmp), verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(tmp))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([calibration[i : i + 1]] for i in range(len(calibration)))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    return converter.convert()


def test_cnn_trains_and_converts_to_int8_with_mcu_ops(
    cnn_trained: Path, tmp_path: Path, dataset: data_mod.FashionMNIST
) -> None:
    """The session's CNN training (conftest ``cnn_trained``: train(arch="cnn", epochs=1, limit=2000),
    shared with test_benchmarks_cnn), then its int8 conversion with microcontroller ops only."""
    import keras
    from ai_edge_litert.interpreter import Interpreter

    from export.litert import export_litert
    from runtime.metadata import ModelMetadata, Quantization
    from train.model import CNN_MAX_PARAMS, build_cnn, preprocess

    assert build_cnn().count_params() == 80_602 <= CNN_MAX_PARAMS
    assert sorted(p.name for p in cnn_trained.iterdir()) == ["history.json", "learning_curves.png", "model.keras"]
    record = _strict_json((cnn_trained / "history.json").read_text())
    assert record["parameters"] == 80_602 and record["train_seconds"] > 0 and record["limit"] == 2000
    assert record["test_accuracy"] > 0.6  # one epoch on 2,000 images; far above chance (0.1)
    assert (record["arch"], record["optimizer"], record["input_shape"]) == ("cnn", "adam", [28, 28, 1])
    assert (record["epochs"], record["batch_size"], record["learning_rate"]) == (1, 64, 0.001)
    assert set(record["history"]) == set(training.METRICS) and all(len(v) == 1 for v in record["history"].values())

    model = keras.saving.load_model(cnn_trained / "model.keras")
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
    assert model.count_params() <= CNN_MAX_PARAMS
    kinds = {type(layer).__name__ for layer in model.layers}
    assert kinds == {"Conv2D", "MaxPooling2D", "Flatten", "Dense"}  # no BatchNorm/Dropout to fold on an MCU
    assert model.layers[-1].get_config()["activation"] == "softmax"

    rng = np.random.default_rng(0)
    calibration = preprocess(dataset.x_train[rng.choice(len(dataset.x_train), 200, replace=False)])[..., None]
    metadata = ModelMetadata(class_names=tuple(f"class_{i}" for i in range(10)), input_shape=(28, 28, 1),
                             input_dtype="float32", pixel_scale=1 / 255, quantization=Quantization(mode="int8"))
    path = export_litert(model, tmp_path / "cnn.int8.tflite", metadata=metadata, quantize="int8",
                         io_dtype="int8", calibration=calibration)
    ops = _tflite_ops(path.read_bytes())
    assert {"CONV_2D", "MAX_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"} <= ops <= ALLOWED_INT8_OPS | DYNAMIC_BATCH_OPS, ops
    batch1 = _tflite_ops(_int8_batch1(model, calibration, tmp_path / "batch1"))
    assert {"CONV_2D", "MAX_POOL_2D", "FULLY_CONNECTED", "SOFTMAX", "RESHAPE"} <= batch1 <= ALLOWED_INT8_OPS, batch1

    # The int8 graph must still classify like the Keras model (run through bare LiteRT).
    x = preprocess(dataset.x_test[:500])[..., None]
    interp = Interpreter(model_path=str(path))
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    interp.resize_tensor_input(inp["index"], x.shape)
    interp.allocate_tensors()
    scale, zero = inp["quantization"]
    interp.set_tensor(inp["index"], np.clip(np.round(x / scale + zero), -128, 127).astype(np.int8))
    interp.invoke()
    agreement = (interp.get_tensor(out["index"]).argmax(1) == model.predict(x, verbose=0).argmax(1)).mean()
    assert agreement >= 0.95, agreement
