"""Export: formats, quantized variants, metadata, validation report, atomicity, CLI."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import runtime
from export import (
    FORMAT_CHOICES,
    FORMATS,
    MODES,
    ExportPlan,
    UnsupportedFormatError,
    ValidationError,
    artifact_name,
    run_export,
)
from export.__main__ import build_parser

from conftest import FIXTURE_THRESHOLD_OVERRIDES
from export.__main__ import main as export_main
from export.data import draw as calibration_set
from export.validate import DEFAULT_THRESHOLDS, parse_threshold_overrides, resolve_thresholds

ARTIFACTS = [artifact_name(f, m) for f in FORMATS for m in MODES[f]]


@pytest.fixture(scope="module")
def report(exported_dir: Path) -> dict:
    return json.loads((exported_dir / "export_report.json").read_text())


def test_every_variant_is_written_and_reported(exported_dir, report):
    rows = {r["artifact"]: r for r in report["artifacts"]}
    assert sorted(rows) == sorted(ARTIFACTS)
    assert (exported_dir / "export_report.md").read_text().count("| ok |") == len(ARTIFACTS)
    for name in ARTIFACTS:
        assert (exported_dir / name).is_file()
        row = rows[name]
        assert row["ok"] and row["failures"] == [] and row["samples"] == 10_000
        assert row["size_bytes"] == (exported_dir / name).stat().st_size
    assert not list(exported_dir.glob(".tmp-*")), "temporary files left behind"



def test_report_rows_read_back_as_typed_reports_unchanged(report):
    """The typed ArtifactReport (per-task metrics) writes exactly the rows it reads: keys, order, values."""
    from export import ArtifactReport, ClassificationMetrics

    for row in report["artifacts"] + report["failed_attempts"]:
        if "attempted_utc" in row:
            row = {k: v for k, v in row.items() if k != "attempted_utc"}
        typed = ArtifactReport.from_dict(row)
        assert isinstance(typed.metrics, ClassificationMetrics)
        assert json.dumps(typed.to_dict()) == json.dumps(row), row["artifact"]

@pytest.mark.parametrize("name", ARTIFACTS)
def test_variant_meets_its_thresholds(name, report):
    row = {r["artifact"]: r for r in report["artifacts"]}[name]
    t = resolve_thresholds("classification", parse_threshold_overrides(FIXTURE_THRESHOLD_OVERRIDES))[row["mode"]]
    if t.min_agreement is not None:
        assert row["agreement"] >= t.min_agreement
    if t.max_abs_diff is not None:
        assert row["max_abs_diff"] <= t.max_abs_diff
    if t.max_accuracy_drop is not None:
        assert row["accuracy_drop_points"] <= t.max_accuracy_drop
    if t.max_size_ratio is not None:
        assert row["size_ratio"] <= t.max_size_ratio
    assert row["thresholds"] == {k: getattr(t, k) for k in row["thresholds"]}


def test_fp32_is_exact_and_quantized_are_smaller(report):
    rows = {r["artifact"]: r for r in report["artifacts"]}
    for name in ("model.onnx", "model.tflite"):
        assert rows[name]["agreement"] == 1.0 and rows[name]["max_abs_diff"] < 1e-5
    assert rows["model.float16.tflite"]["size_ratio"] < 0.55
    for name in ("model.int8.onnx", "model.int8.tflite", "model.dynamic.onnx", "model.dynamic.tflite"):
        assert rows[name]["size_ratio"] <= 0.30, name


@pytest.mark.parametrize("name", ARTIFACTS)
def test_metadata_round_trips(name, exported_dir):
    meta = runtime.load(exported_dir / name).metadata
    from train.model import CLASS_NAMES, INPUT_SHAPE, PIXEL_SCALE

    assert meta.class_names == tuple(CLASS_NAMES)
    assert meta.input_shape == INPUT_SHAPE and meta.input_dtype == "float32"
    assert meta.pixel_scale == PIXEL_SCALE
    assert meta.source_sha256 == hashlib.sha256((exported_dir / "model.keras").read_bytes()).hexdigest()
    assert meta.edgeport_version
    q = meta.quantization
    assert name.split(".")[1] == q.mode or (q.mode == "none" and name.count(".") == 1)
    assert meta.format == name.rsplit(".", 1)[1]
    if q.mode in ("int8", "int16x8"):
        assert (q.calibration_samples, q.seed) == (500, 0)
        tflite_io = {"int8": "uint8", "int16x8": "int16"}[q.mode]  # default --io-dtype uint8
        assert q.io_dtype == (tflite_io if name.endswith(".tflite") else "float32")
    else:
        assert (q.calibration_samples, q.seed, q.io_dtype) == (None, None, "float32")


def test_onnx_graph_contract(exported_dir):
    import onnx

    proto = onnx.load(exported_dir / "model.onnx")
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert (inp.name, out.name) == ("pixels", "probabilities")
    assert inp.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert [d.dim_value for d in inp.type.tensor_type.shape.dim[1:]] == [28, 28]


@pytest.mark.parametrize("name", [n for n in ARTIFACTS if n.endswith(".tflite")])
def test_tflite_contract(name, exported_dir):
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter

    data = (exported_dir / name).read_bytes()
    model = schema.Model.GetRootAs(data, 0)
    codes = [model.OperatorCodes(i) for i in range(model.OperatorCodesLength())]
    assert not [c.CustomCode() for c in codes if c.CustomCode()], "Flex/custom ops present"
    interp = Interpreter(model_content=data)
    (inp,) = interp.get_input_details()
    assert list(inp["shape_signature"]) == [-1, 28, 28]
    if name == "model.int8.tflite":
        tensor_types = {model.Subgraphs(0).Tensors(i).Type() for i in range(model.Subgraphs(0).TensorsLength())}
        assert schema.TensorType.FLOAT32 not in tensor_types, "float tensors in a full-int8 model"


def test_calibration_is_seeded_training_data():
    train_images = np.arange(1000, dtype=np.float32).reshape(1000, 1, 1)
    a = calibration_set(train_images, 50, seed=3)
    assert len(a) == 50 and len(np.unique(a)) == 50
    np.testing.assert_array_equal(a, calibration_set(train_images, 50, seed=3))
    assert not np.array_equal(a, calibration_set(train_images, 50, seed=4))


def test_calibration_options_recorded(exported_dir, data_dir, tmp_path, test_set):
    shutil.copy2(exported_dir / "model.keras", tmp_path / "model.keras")
    reports = run_export(
        tmp_path / "model.keras", fmt="tflite", quantize="int8", data_dir=data_dir,
        io_dtype="int8", calibration_samples=200, seed=5,
    )
    assert [r.artifact for r in reports] == ["model.int8.tflite"]
    model = runtime.load(tmp_path / "model.int8.tflite")
    q = model.metadata.quantization
    assert (q.mode, q.io_dtype, q.calibration_samples, q.seed) == ("int8", "int8", 200, 5)
    assert model.input_details["dtype"] == "int8"
    images = test_set[0][:300]
    # float pixels are quantized by the runtime onto the same int8 codes as raw uint8 pixels
    np.testing.assert_array_equal(model.predict_proba(images), model.predict_proba(images / 255.0))
    assert np.mean(model.predict(images) == test_set[1][:300]) > 0.8
    assert not (tmp_path / "model.tflite").exists(), "fp32 was not requested"


# --- format and option checking --------------------------------------------------------------


def test_plan_parsing():
    assert ExportPlan.parse("onnx").variants == (("onnx", "none"),)
    assert len(ExportPlan.parse("all", "all").variants) == len(ARTIFACTS)
    assert ExportPlan.parse("all", "float16").variants == (("tflite", "float16"),)
    assert ExportPlan.parse("tflite", "int8,none").variants == (("tflite", "none"), ("tflite", "int8"))
    with pytest.raises(UnsupportedFormatError, match=r"Unrecognized format='coreml'. Supported formats are: \["):
        ExportPlan.parse("coreml")
    with pytest.raises(UnsupportedFormatError, match="Supported modes for onnx are"):
        ExportPlan.parse("onnx", "float16")
    with pytest.raises(UnsupportedFormatError, match="Unrecognized quantize='int4'"):
        ExportPlan.parse("tflite", "int4")


def test_argparse_formats_come_from_the_same_tuple(capsys):
    action = next(a for a in build_parser()._actions if a.dest == "format")
    assert str(list(FORMAT_CHOICES)) in action.help
    assert build_parser().parse_args(["--format", "c,tflm"]).format == "c,tflm"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--format", "onnx,coreml"])
    assert "invalid choice: 'coreml'" in capsys.readouterr().err


def test_threshold_overrides():
    overrides = parse_threshold_overrides(["int8.min_agreement=0.98", "none.max_abs_diff=none"])
    table = resolve_thresholds("classification", overrides)
    assert table["int8"].min_agreement == 0.98 and table["none"].max_abs_diff is None
    assert table["int8"].max_size_ratio == DEFAULT_THRESHOLDS["int8"].max_size_ratio
    for bad, match in [("int8", "MODE.KEY=VALUE"), ("int4.min_agreement=1", "unknown mode"),
                       ("int8.speed=1", "unknown key"), ("int8.min_agreement=high", "not a number"),
                       ("int8.min_agreement=1.5", r"in \[0, 1\]"), ("none.max_abs_diff=nan", "finite"),
                       ("none.max_abs_diff=-1", ">= 0")]:
        with pytest.raises(ValueError, match=match):
            parse_threshold_overrides([bad])


def _cli_error(argv, capsys, code=2) -> str:
    assert export_main(argv) == code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_cli_unknown_format_lists_valid_ones(capsys):
    with pytest.raises(SystemExit) as info:
        export_main(["--format", "coreml"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'coreml'" in err and "'onnx', 'tflite', 'c', 'tflm', 'all'" in err


def test_cli_missing_and_corrupt_model(tmp_path, capsys, data_dir):
    err = _cli_error(["--model", str(tmp_path / "none.keras"), "--data-dir", str(data_dir)], capsys)
    assert "none.keras" in err and "not found" in err
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"this is not a zip file")
    err = _cli_error(["--model", str(bad), "--data-dir", str(data_dir)], capsys)
    assert "bad.keras" in err and "cannot load" in err
    err = _cli_error(["--model", str(bad), "--format", "onnx", "--quantize", "float16"], capsys)
    assert "Supported modes for onnx" in err


def test_failed_validation_keeps_the_good_artifact(exported_dir, data_dir, tmp_path, capsys):
    shutil.copy2(exported_dir / "model.keras", tmp_path / "model.keras")
    good = tmp_path / "model.tflite"
    good.write_bytes(b"previous good artifact")
    argv = ["--format", "tflite", "--model", str(tmp_path / "model.keras"), "--data-dir", str(data_dir),
            "--threshold", "none.max_abs_diff=1e-12", "-q"]
    err = _cli_error(argv, capsys, code=1)
    assert "model.tflite" in err and "max |diff|" in err
    assert good.read_bytes() == b"previous good artifact"
    assert not list(tmp_path.glob(".tmp-*"))
    doc = json.loads((tmp_path / "export_report.json").read_text())
    assert doc["artifacts"] == [], "the report describes files on disk: none was validated"
    row = doc["failed_attempts"][0]
    assert row["ok"] is False and "max |diff|" in row["failures"][0]
    with pytest.raises(ValidationError) as info:
        run_export(tmp_path / "model.keras", fmt="tflite", data_dir=data_dir,
                   thresholds={"none": {"max_abs_diff": 0.0}})
    assert "max |diff|" in str(info.value) and "tolerance 0" in str(info.value)
    assert info.value.reports[0].max_abs_diff > 0


def test_cli_success_prints_table(exported_dir, data_dir, tmp_path, capsys):
    shutil.copy2(exported_dir / "model.keras", tmp_path / "model.keras")
    assert export_main(["--format", "onnx", "--model", str(tmp_path / "model.keras"),
                        "--data-dir", str(data_dir), "-q"]) == 0
    out = capsys.readouterr().out
    assert "| model.onnx | onnx | none |" in out and "100.0000%" in out


def test_quant_format_comparison(exported_dir, data_dir):
    from benchmarks.quant_formats import FORMATS as QUANT_FORMATS
    from benchmarks.quant_formats import compare

    rows = compare(exported_dir, str(data_dir))
    assert [r["format"] for r in rows] == list(QUANT_FORMATS)
    fp32_size = (exported_dir / "model.onnx").stat().st_size
    for r in rows:
        assert r["size_bytes"] <= 0.3 * fp32_size and r["accuracy"] > 0.8
        assert r["p50_us_batch1"] > 0 and r["p50_us_batch256"] > r["p50_us_batch1"]
