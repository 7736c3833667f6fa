"""Tests of the train/ package on the real Fashion-MNIST files (no skipping if missing)."""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

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


@pytest.mark.parametrize("argv", [["--epochs", "0"], ["--batch-size", "-1"], ["--learning-rate", "0"]])
def test_cli_rejects_bad_numbers(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(argv)
    assert info.value.code == 2


def test_cli_defaults() -> None:
    args = build_parser().parse_args([])
    assert (args.epochs, args.batch_size, args.learning_rate, args.seed) == (30, 32, 0.01, 42)
    assert (args.data_dir, args.output, args.quiet) == (None, "artifacts", False)


def test_import_is_light() -> None:
    code = (
        "import sys, train, train.data, train.training, train.__main__;"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
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

    record = json.loads(first.history_path.read_text())
    assert (record["seed"], record["epochs"]) == (7, 1)
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

    def broken_plot(history: dict, path: Path) -> None:
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
