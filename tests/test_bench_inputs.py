"""`python -m benchmarks` checks its inputs before any work: broken artifacts (real files)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.__main__ import main as bench_main


@pytest.fixture(scope="module")
def small_models(tmp_path_factory, data_dir) -> Path:
    """model.keras, model.onnx and model.tflite of an untrained (seeded) Fashion-MNIST softmax."""
    from tests import zoo

    return zoo.fashion_linear(tmp_path_factory.mktemp("bench"), data_dir, fmt="all").parent


def test_truncated_artifact_is_an_error_before_any_work(small_models, tmp_path, data_dir, capsys):
    folder = tmp_path / "models"
    shutil.copytree(small_models, folder)
    onnx = folder / "model.onnx"
    onnx.write_bytes(onnx.read_bytes()[: onnx.stat().st_size // 2])  # an interrupted copy
    out = tmp_path / "results"
    code = bench_main(["--model-dir", str(folder), "--output", str(out), "--quick", "--data-dir", str(data_dir)])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "model.onnx" in lines[0] and "broken artifact" in lines[0], err
    assert not out.exists()  # nothing measured, nothing written


def test_mcu_checks_the_toolchain_before_any_work(small_models, tmp_path, data_dir, capsys, caplog, monkeypatch):
    """Without arm-none-eabi-gcc and QEMU on PATH, --mcu fails at once, not after the CPU work."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # a machine without the cross tools
    out = tmp_path / "results"
    code = bench_main(["--model-dir", str(small_models), "--output", str(out), "--quick", "--mcu",
                       "--data-dir", str(data_dir)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "error: missing arm-none-eabi-gcc" in err and "qemu-system-arm" in err and "apt-get install" in err, err
    assert not any("accuracy on" in r.getMessage() or "benchmarking" in r.getMessage() for r in caplog.records)
    assert not out.exists()
