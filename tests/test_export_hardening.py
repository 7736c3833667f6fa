"""Export under hostile use: interrupts, leftovers, partial failures, bad arguments, bad metadata."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import runtime
from export import Thresholds, UsageError, ValidationError, run_export
from export.__main__ import main as export_main
from export.metadata import embed_tflite_json
from export.seal import seal_artifact

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def workdir(exported_dir, tmp_path) -> Path:
    shutil.copy2(exported_dir / "model.keras", tmp_path / "model.keras")
    return tmp_path


def test_stale_temporaries_of_dead_processes_are_removed(workdir, data_dir):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = workdir / f".tmp-{int(dead.stdout)}-model.int8.onnx"
    stale.write_bytes(b"left by a killed export")
    alive = workdir / f".tmp-{os.getppid()}-model.onnx"  # a live process: not ours to delete
    alive.write_bytes(b"in progress elsewhere")
    run_export(workdir / "model.keras", fmt="onnx", data_dir=data_dir)
    assert not stale.exists() and alive.exists()


def test_conversion_error_in_one_format_keeps_the_others(workdir, data_dir, capsys):
    assert export_main(["--model", str(workdir / "model.keras"), "--data-dir", str(data_dir),
                        "--opset", "5", "-q"]) == 1
    err = capsys.readouterr().err
    assert "model.onnx" in err and ".tmp-" not in err, err
    doc = json.loads((workdir / "export_report.json").read_text())
    assert [r["artifact"] for r in doc["artifacts"]] == ["model.tflite"]
    assert [r["artifact"] for r in doc["failed_attempts"]] == ["model.onnx"]
    assert (workdir / "model.tflite").is_file() and not (workdir / "model.onnx").exists()
    json.loads((workdir / "export_report.json").read_text(), parse_constant=pytest.fail)  # no NaN


def test_failed_reexport_keeps_the_good_row(workdir, data_dir):
    run_export(workdir / "model.keras", fmt="tflite", data_dir=data_dir)
    with pytest.raises(ValidationError):
        run_export(workdir / "model.keras", fmt="tflite", data_dir=data_dir, thresholds={"none": {"max_abs_diff": 0.0}})
    doc = json.loads((workdir / "export_report.json").read_text())
    assert doc["artifacts"][0]["artifact"] == "model.tflite" and doc["artifacts"][0]["ok"] is True
    assert doc["failed_attempts"][0]["artifact"] == "model.tflite"
    assert runtime.load(workdir / "model.tflite")  # still the good file


def test_api_arguments_are_checked_up_front(workdir, data_dir):
    # partial thresholds merge with the defaults, whatever the modes
    reports = run_export(workdir / "model.keras", fmt="onnx", quantize="dynamic", data_dir=data_dir,
                         thresholds={"int8": Thresholds(min_agreement=0.9)})
    assert [r.mode for r in reports] == ["dynamic"]
    for kwargs, match in [
        ({"thresholds": {"int8": {"min_agreement": 1.5}}}, r"in \[0, 1\]"),
        ({"thresholds": {"int8": {"min_agreement": float("nan")}}}, "finite"),
        ({"thresholds": {"int4": {}}}, "unknown mode"),
        ({"opset": "17"}, "opset must be an int"),
    ]:
        with pytest.raises(UsageError, match=match):
            run_export(workdir / "model.keras", data_dir=data_dir, **kwargs)


def test_calibration_records_what_was_used(tmp_path, exported_dir):
    from tests import zoo

    model, data = zoo.breast_cancer(tmp_path)
    run_export(model, data=data, fmt="tflite", quantize="int8", calibration_samples=10**9)
    q = runtime.load(model.parent / "model.int8.tflite").metadata.quantization
    with np.load(data) as npz:
        assert q.calibration_samples == len(npz["x_calibration"])


def test_data_errors_create_no_output_folder(workdir, tmp_path, capsys):
    out = tmp_path / "never"
    assert export_main(["--model", str(workdir / "model.keras"), "--data-dir", str(tmp_path / "nope"),
                        "--output", str(out)]) == 2
    assert "nope" in capsys.readouterr().err and not out.exists()


def test_cli_flags_name_themselves(capsys):
    with pytest.raises(SystemExit) as info:
        export_main(["--seed", "-1"])
    assert info.value.code == 2 and "--seed" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        export_main(["--help"])
    out = capsys.readouterr().out
    assert "default: all" in out and "FASHION_MNIST_DIR" in out and "random inputs" in out


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_cleans_up_with_one_line(workdir, data_dir, sig, code):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "export", "--format", "all", "--quantize", "all", "--model",
         str(workdir / "model.keras"), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=workdir,
    )
    deadline = time.monotonic() + 120
    while not list(workdir.glob(".tmp-*")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "export finished before it could be interrupted"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert not list(workdir.glob(".tmp-*")), list(workdir.iterdir())


def _with_metadata(src: Path, dst: Path, text: str | None = None, **changes) -> Path:
    """``src`` with its metadata JSON changed, then validly sealed: only metadata checks can refuse it."""
    from export.seal import SEAL_PLACEHOLDER
    from runtime.integrity import SEAL_FIELD

    data = runtime.load(src).metadata.to_dict() | changes | {SEAL_FIELD: SEAL_PLACEHOLDER}
    dst.write_bytes(embed_tflite_json(src.read_bytes(), text or json.dumps(data)))
    seal_artifact(dst)
    return dst


@pytest.mark.parametrize("changes, match", [
    ({"class_names": ["a", "b", "c", "d", "e"]}, "5 class names for 10 outputs"),
    ({"pixel_scale": 0}, "pixel_scale"),
    ({"pixel_scale": -1.0}, "pixel_scale"),
    ({"input_shape": [28, 27]}, "input_shape"),
    ({"output_size": 3}, "class names for 3 outputs"),
    ({"task": "ranking"}, "task"),
    ({"input_shape": ["28", 28]}, "malformed"),
])
def test_metadata_is_checked_against_itself_and_the_graph(exported_dir, tmp_path, changes, match):
    bad = _with_metadata(exported_dir / "model.tflite", tmp_path / "bad.tflite", **changes)
    with pytest.raises(runtime.ModelFileError, match=match):
        runtime.load(bad)


def test_nan_pixel_scale_is_refused(exported_dir, tmp_path):
    from export.seal import SEAL_PLACEHOLDER
    from runtime.integrity import SEAL_FIELD

    data = runtime.load(exported_dir / "model.tflite").metadata.to_dict() | {SEAL_FIELD: SEAL_PLACEHOLDER}
    text = json.dumps(data | {"pixel_scale": float("nan")})
    assert "NaN" in text
    bad = _with_metadata(exported_dir / "model.tflite", tmp_path / "nan.tflite", text=text)
    with pytest.raises(runtime.ModelFileError, match="pixel_scale"):
        runtime.load(bad)
