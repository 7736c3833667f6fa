"""Export's messages name the real cause, once (real Keras models, real converters)."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from export import DataError, run_export
from export.__main__ import main as export_main
from tests import zoo


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    return zoo.summing_regressor(tmp_path_factory.mktemp("tiny"))


def _error(argv: list[str], capsys) -> str:
    assert export_main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_help_shows_each_default_once(capsys):
    with pytest.raises(SystemExit):
        export_main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: None)" not in text and "(default: False)" not in text
    assert "(default: the model's folder) (default" not in text and "(default: $FASHION_MNIST_DIR) (default" not in text
    assert "(default: 0)" in text and "(default: 17)" in text  # real defaults still shown


def test_float_io_for_int8_c_names_the_real_cause(tiny, tmp_path, capsys):
    model, data = tiny
    err = _error(["--model", str(model), "--data", str(data), "--format", "c", "--quantize", "int8",
                  "--io-dtype", "float32", "--output", str(tmp_path / "out")], capsys)
    assert "--io-dtype float32" in err and "uint8 or int8" in err and "DEQUANTIZE is not supported" not in err
    assert not (tmp_path / "out").exists()


def test_one_unit_softmax_has_its_own_message(tmp_path, capsys):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="softmax")])
    model.save(tmp_path / "model.keras")
    for extra in ([], ["--task", "binary"]):
        err = _error(["--model", str(tmp_path / "model.keras"), "--format", "onnx", *extra], capsys)
        assert "softmax over 1 unit" in err and "sigmoid" in err and "logits" not in err, err


def test_empty_class_name_is_refused_alike_from_every_source(tmp_path):
    x = np.ones((4, 3), np.float32)
    np.savez(tmp_path / "d.npz", x_test=x, class_names=np.array(["cat", ""]))
    (tmp_path / "names.txt").write_text("cat\n\n")  # the blank line is not at the end: an empty name
    (tmp_path / "names_end.txt").write_text("cat\n \n")  # a blank line at the end is ignored: 1 name
    from export.data import load_npz, read_class_names

    with pytest.raises(DataError, match=r"d\.npz: 'class_names': class name 1 is '': expected one non-empty"):
        load_npz(tmp_path / "d.npz")
    (tmp_path / "names.txt").write_text("cat\n\ndog\n")
    with pytest.raises(DataError, match=r"names\.txt \(one name per line\): class name 1 is '': expected one non-empty"):
        read_class_names(tmp_path / "names.txt")
    assert read_class_names(tmp_path / "names_end.txt") == ("cat",)
    np.savez(tmp_path / "plain.npz", x_test=x)
    with pytest.raises(DataError, match=r"class_names: class name 0 is ' ': expected one non-empty"):
        run_export(tmp_path / "model.keras", fmt="onnx", data=tmp_path / "plain.npz", class_names=[" ", "dog"])


@pytest.mark.parametrize("verbose", [False, True])
def test_onnxruntime_opset_note_only_with_verbose(tiny, tmp_path, caplog, verbose):
    model, data = tiny
    caplog.set_level(logging.INFO)
    code = export_main(["--model", str(model), "--data", str(data), "--format", "onnx", "--quantize", "int16x8",
                        "--output", str(tmp_path), *(["-v"] if verbose else [])])
    assert code in (0, 1)  # validation thresholds are not what this test is about
    noted = any("Please verify the quantized model" in r.getMessage() for r in caplog.records)
    assert noted == verbose
