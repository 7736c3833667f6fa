"""At default verbosity, train and export print only their own lines (issue 10, item 3)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

from runtime.console import filtered_stderr, quiet_console

REPO = Path(__file__).resolve().parents[1]
TF_LOG_LINE = re.compile(r"^[IWE]\d{4} |WARNING: All log messages before absl|XNNPACK delegate|fully_quantize", re.M)
NOISE = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    b"I0000 00:00:1795854964.031102    7186 port.cc:153] oneDNN custom operations are on.\n"
    b"E0000 00:00:1795854988.266739    7186 cuda_platform.cc:52] failed call to cuInit: INTERNAL\n"
    b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
    b"fully_quantize: 0, inference_type: 6, input_inference_type: UINT8, output_inference_type: UINT8\n"
)


def test_filter_drops_third_party_lines_only(capfd):
    with filtered_stderr():
        os.write(2, b"ours: before\n" + NOISE + b"ours: after, no newline")
        print("python stderr line", file=sys.stderr)
    err = capfd.readouterr().err
    for ours in ("ours: before", "ours: after, no newline", "python stderr line"):
        assert ours in err, err
    assert not TF_LOG_LINE.search(err), err


def test_verbose_shows_everything(capfd):
    with quiet_console(verbose=True):
        os.write(2, NOISE)
        warnings.warn("third-party", FutureWarning)
    captured = capfd.readouterr()
    assert captured.err.count("\n") >= NOISE.count(b"\n")
    with quiet_console(verbose=False):
        os.write(2, NOISE)
    assert capfd.readouterr().err == ""


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "GLOG", "ABSL"))}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=900)


def test_export_cli_prints_no_tensorflow_log_lines(trained_dir, data_dir, tmp_path):
    shutil.copy2(trained_dir / "model.keras", tmp_path / "model.keras")
    proc = _run(["export", "--model", str(tmp_path / "model.keras"), "--format", "all", "--quantize", "int8",
                 "--data-dir", str(data_dir)], tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert not TF_LOG_LINE.search(out), out
    assert "Warning" not in out, out
    assert "model.int8.tflite" in proc.stdout  # its own results still show


def test_train_cli_prints_no_tensorflow_log_lines(data_dir, tmp_path):
    # the console is what is tested, not the training: 2,000 images are enough for every line
    proc = _run(["train", "--epochs", "1", "--limit", "2000", "--data-dir", str(data_dir),
                 "--output", str(tmp_path / "out")], tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert not TF_LOG_LINE.search(out), out
    assert "Warning" not in out, out
    assert "epoch 1/1" in proc.stderr and "test accuracy:" in proc.stdout
