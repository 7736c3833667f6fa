"""Data and converted files are checked before they are trusted: NaN/Inf in any array that is
used, and an integer-only TFLite file that really holds only integer ops (real converter)."""
from __future__ import annotations

import numpy as np
import pytest

from export import DataError
from export.__main__ import main as export_main
from export.data import load_npz


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("key, value", [("x_train", np.nan), ("x_calibration", np.inf), ("x_test", np.nan),
                                        ("y_test", -np.inf)])
def test_nan_or_inf_in_any_used_array_is_refused_before_work(tmp_path, capsys, key, value):
    rng = np.random.default_rng(0)
    arrays = {"x_test": rng.standard_normal((20, 4)).astype(np.float32),
              "y_test": rng.standard_normal(20).astype(np.float32)}
    if key not in arrays:
        arrays[key] = rng.standard_normal((30, 4)).astype(np.float32)
    arrays[key].flat[7] = value
    data = _npz(tmp_path / "data.npz", **arrays)
    with pytest.raises(DataError, match=rf"data\.npz: '{key}' holds .* \(first at index"):
        load_npz(data)
    out = tmp_path / "never"
    (tmp_path / "model.keras").write_bytes(b"not loaded: the data are checked first")
    assert export_main(["--model", str(tmp_path / "model.keras"), "--data", str(data), "--format", "tflite",
                        "--quantize", "int8", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and f"'{key}'" in err and str(data) in err and not out.exists(), err


def test_unused_pool_is_not_judged(tmp_path):
    """x_train is not read when x_calibration is given, so its NaN does not matter."""
    x = np.ones((10, 4), np.float32)
    data = _npz(tmp_path / "d.npz", x_test=x, x_calibration=x, x_train=np.full((10, 4), np.nan, np.float32))
    assert load_npz(data).calibration_key == "x_calibration"


def test_integer_only_tflite_with_float_ops_fails_naming_them(tmp_path):
    """The converter falls back to float where calibration saw NaN: the row must fail, not pass as int8."""
    keras = pytest.importorskip("keras")
    from export.errors import ConversionError
    from export.litert import export_litert, float_ops
    from export.metadata import build_metadata
    from runtime.metadata import Quantization

    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    meta = build_metadata(fmt="tflite", source_sha256="0" * 64, task="classification", class_names=("a", "b", "c"),
                          item_shape=(6,), outputs=3, pixel_scale=None,
                          quantization=Quantization(mode="int8", io_dtype="int8", calibration_samples=64, seed=0))
    calibration = np.random.default_rng(0).standard_normal((64, 6)).astype(np.float32)
    good = export_litert(model, tmp_path / "good.tflite", metadata=meta, quantize="int8", io_dtype="int8",
                         calibration=calibration)
    assert float_ops(good.read_bytes()) == []
    calibration[:, 2] = np.nan  # every calibration sample: the first layer's range is unknown
    with pytest.raises(ConversionError, match=r"not integer-only: .*float \(.*DEQUANTIZE") as info:
        export_litert(model, tmp_path / "bad.tflite", metadata=meta, quantize="int8", io_dtype="int8",
                      calibration=calibration)
    assert "FULLY_CONNECTED" in str(info.value) and not (tmp_path / "bad.tflite").exists()
