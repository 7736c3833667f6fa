"""``python -m export --format c|tflm``: sources installed only after exact validation (no mocks)."""
from __future__ import annotations

import json
import shutil

import pytest

from export.__main__ import main as export_main


@pytest.fixture()
def workdir(exported_dir, tmp_path):
    shutil.copy2(exported_dir / "model.keras", tmp_path / "model.keras")
    return tmp_path


def test_c_target_from_the_cli(workdir, data_dir, capsys):
    assert export_main(["--format", "c", "--quantize", "int8,none", "--model", str(workdir / "model.keras"),
                        "--data-dir", str(data_dir), "--c-prefix", "fashion", "-q"]) == 0
    assert "| model.int8.c | c | int8 | uint8 |" in capsys.readouterr().out
    rows = {r["artifact"]: r for r in json.loads((workdir / "export_report.json").read_text())["artifacts"]}
    int8, fp32 = rows["model.int8.c"], rows["model.c"]
    assert int8["extra"]["mismatched_samples"] == 0 and int8["extra"]["verify"] == 0
    assert int8["extra"]["exact_against"].startswith("TFLite Micro") and int8["samples"] == 10000
    assert int8["extra"]["scratch_bytes"] <= 400 and int8["agreement"] >= 0.99
    assert fp32["agreement"] == 1.0 and fp32["max_abs_diff"] <= 1e-5
    for name in ("model.int8.c", "model.int8.h", "model.c", "model.h"):
        assert (workdir / name).stat().st_mode & 0o777 == 0o644, name
    assert "int fashion_invoke(" in (workdir / "model.int8.h").read_text()
    for base, libm in (("model.int8", "OFF"), ("model", "ON")):  # the library folders (tests/test_c_library.py)
        lib = workdir / base
        assert (lib / "src" / f"{base}.c").read_bytes() == (workdir / f"{base}.c").read_bytes()
        assert (lib / "src" / f"{base}.h").read_bytes() == (workdir / f"{base}.h").read_bytes()
        cmake = (lib / "CMakeLists.txt").read_text()
        assert "add_library(fashion STATIC src/" in cmake and f"set(EDGEPORT_NEEDS_LIBM {libm})" in cmake
        assert "name=fashion" in (lib / "library.properties").read_text()
        assert (lib / "example" / "main.c").is_file() and (lib / "library.json").is_file()
    assert not [p for p in workdir.iterdir() if p.name.startswith(".tmp-")], "temporaries left behind"
    assert not (workdir / "model.int8.tflite").exists(), "the source .tflite is not installed unless asked"


def test_tflm_carries_the_measured_arena(workdir, data_dir):
    assert export_main(["--format", "tflm", "--quantize", "int8", "--model", str(workdir / "model.keras"),
                        "--data-dir", str(data_dir), "-q"]) == 0
    header = (workdir / "model.int8.tflm.h").read_text()
    assert "EDGEPORT_MODEL_TFLM_ARENA_BYTES" in header
    assert (workdir / "model.int8.tflm.cc").stat().st_size > (workdir / "model.keras").stat().st_size / 8


def test_c_refusals_are_one_line_exit_2(workdir, data_dir, tmp_path, capsys):
    import keras

    assert export_main(["--format", "c", "--c-prefix", "9lives", "--model", str(workdir / "model.keras")]) == 2
    err = capsys.readouterr().err
    assert "'9lives' is not a C identifier" in err and err.count("\n") == 1
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(8, activation="exponential"),
                              keras.layers.Dense(10, activation="softmax")])
    model.save(tmp_path / "exp.keras")
    out = tmp_path / "exp-out"
    assert export_main(["--format", "c", "--model", str(tmp_path / "exp.keras"), "--data-dir", str(data_dir),
                        "--output", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "EXP" in err and "tflm" in err and err.count("\n") == 1
    assert not list(out.glob("*.c")) and not list(out.glob(".tmp-*"))
