"""ArtifactReport's typed metrics and embedded fields give the export_report.json rows of schema 2 unchanged.

GOLDEN holds rows as the untyped report wrote them (its ``asdict`` order): one per task, a C row with
signatures, a TFLM row and a failed attempt. Fast: no converter runs here; ``test_export`` checks the
same round trip on the rows of a real export.
"""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from export import ArtifactReport, ClassificationMetrics, RegressionMetrics
from export.results import CSourceCheck, TflmSource

THRESHOLDS = {"min_agreement": 0.99, "max_abs_diff": None, "max_rel_diff": None, "max_accuracy_drop": 0.5,
              "max_mae_increase_pct": None, "max_size_ratio": 0.3}
GOLDEN = [json.loads(line) for line in """
{"artifact": "model.int8.tflite", "format": "tflite", "mode": "int8", "io_dtype": "uint8", "size_bytes": 270000, "size_ratio": 0.26, "samples": 10000, "accuracy": 0.885, "keras_accuracy": 0.886, "accuracy_drop_points": 0.1, "agreement": 0.995, "max_abs_diff": 0.03, "thresholds": {"min_agreement": 0.99, "max_abs_diff": null, "max_rel_diff": null, "max_accuracy_drop": 0.5, "max_mae_increase_pct": null, "max_size_ratio": 0.3}, "failures": [], "task": "classification", "data": "Fashion-MNIST test set", "max_rel_diff": null, "mae": null, "keras_mae": null, "extra": {}, "layer_report": {"artifact": "model.int8.tflite", "samples": 10, "rows": [], "skipped": [], "blamed": "dense"}, "recipe": {"kept_float": ["dense_1"]}, "max_scaled_diff": 0.03, "weight_ratio": 0.25, "ok": true}
{"artifact": "model.onnx", "format": "onnx", "mode": "none", "io_dtype": "float32", "size_bytes": 1000, "size_ratio": 1.0, "samples": 200, "accuracy": null, "keras_accuracy": null, "accuracy_drop_points": null, "agreement": null, "max_abs_diff": 1e-07, "thresholds": {"min_agreement": 0.99, "max_abs_diff": null, "max_rel_diff": null, "max_accuracy_drop": 0.5, "max_mae_increase_pct": null, "max_size_ratio": 0.3}, "failures": ["max relative |diff| 0.1 > tolerance 0.01"], "task": "regression", "data": "d.npz", "max_rel_diff": 0.1, "mae": 0.5, "keras_mae": 0.49, "extra": {}, "layer_report": null, "recipe": null, "max_scaled_diff": 1e-07, "weight_ratio": null, "ok": false}
{"artifact": "model.int8.c", "format": "c", "mode": "int8", "io_dtype": "uint8", "size_bytes": 5000, "size_ratio": null, "samples": 100, "accuracy": 0.9, "keras_accuracy": 0.9, "accuracy_drop_points": 0.0, "agreement": 1.0, "max_abs_diff": 0.0, "thresholds": {"min_agreement": 0.99, "max_abs_diff": null, "max_rel_diff": null, "max_accuracy_drop": 0.5, "max_mae_increase_pct": null, "max_size_ratio": 0.3}, "failures": [], "task": "binary", "data": "random", "max_rel_diff": null, "mae": null, "keras_mae": null, "extra": {"header": "model.int8.h", "scratch_bytes": 1024, "exact_against": "TFLite Micro (output bytes)", "mismatched_samples": 0, "verify": 0, "signatures": ["model.int8.h.sig", "model.int8.c.sig"]}, "layer_report": null, "recipe": null, "max_scaled_diff": 0.0, "weight_ratio": null, "ok": true}
{"artifact": "model.tflm.cc", "format": "tflm", "mode": "none", "io_dtype": "float32", "size_bytes": 7000, "size_ratio": null, "samples": 100, "accuracy": null, "keras_accuracy": null, "accuracy_drop_points": null, "agreement": 1.0, "max_abs_diff": 0.0, "thresholds": {"min_agreement": 0.99, "max_abs_diff": null, "max_rel_diff": null, "max_accuracy_drop": 0.5, "max_mae_increase_pct": null, "max_size_ratio": 0.3}, "failures": [], "task": "classification", "data": "random", "max_rel_diff": null, "mae": null, "keras_mae": null, "extra": {"header": "model.tflm.h", "validated_as": "model.tflite"}, "layer_report": null, "recipe": null, "max_scaled_diff": 0.0, "weight_ratio": null, "ok": true}
{"artifact": "model.int16x8.onnx", "format": "onnx", "mode": "int16x8", "io_dtype": "-", "size_bytes": 0, "size_ratio": null, "samples": 0, "accuracy": null, "keras_accuracy": null, "accuracy_drop_points": null, "agreement": null, "max_abs_diff": null, "thresholds": {}, "failures": ["model.int16x8.onnx: conversion failed (RuntimeError: x)"], "task": "regression", "data": "d.npz", "max_rel_diff": null, "mae": null, "keras_mae": null, "extra": {}, "layer_report": null, "recipe": null, "max_scaled_diff": null, "weight_ratio": null, "ok": false}
""".strip().splitlines()]


@pytest.mark.parametrize("row", GOLDEN, ids=[r["artifact"] for r in GOLDEN])
def test_rows_round_trip_with_the_same_keys_order_and_values(row):
    back = ArtifactReport.from_dict(row).to_dict()
    assert back == row and list(back) == list(row)
    assert json.dumps(back) == json.dumps(row)


def test_metrics_and_embedded_fields_are_typed_per_task_and_format():
    tflite, onnx, c, tflm, failed = (ArtifactReport.from_dict(r) for r in GOLDEN)
    assert tflite.metrics == ClassificationMetrics(accuracy=0.885, keras_accuracy=0.886, accuracy_drop_points=0.1,
                                                   agreement=0.995)
    assert onnx.metrics == RegressionMetrics(max_rel_diff=0.1, mae=0.5, keras_mae=0.49)
    assert isinstance(c.metrics, ClassificationMetrics)  # binary decides like classification
    assert isinstance(failed.metrics, RegressionMetrics) and failed.mae is None and failed.agreement is None
    assert (tflite.agreement, onnx.agreement, onnx.mae, tflite.mae) == (0.995, None, 0.5, None)
    assert c.embedded == CSourceCheck("model.int8.h", 1024, "TFLite Micro (output bytes)", 0, 0,
                                      ("model.int8.h.sig", "model.int8.c.sig"))
    assert tflm.embedded == TflmSource("model.tflm.h", "model.tflite") and tflite.embedded is None
    assert (tflite.ok, onnx.ok, failed.ok) == (True, False, False)


def test_a_report_built_from_types_writes_the_golden_row():
    c = ArtifactReport(
        artifact="model.int8.c", format="c", mode="int8", io_dtype="uint8", size_bytes=5000, size_ratio=None,
        samples=100, metrics=ClassificationMetrics(0.9, 0.9, 0.0, 1.0), max_abs_diff=0.0, max_scaled_diff=0.0,
        thresholds=THRESHOLDS, task="binary", data="random",
        embedded=CSourceCheck("model.int8.h", 1024, "TFLite Micro (output bytes)", 0, 0,
                              ("model.int8.h.sig", "model.int8.c.sig")),
    )
    assert json.dumps(c.to_dict()) == json.dumps(GOLDEN[2])
    unsigned = {**GOLDEN[2], "extra": {k: v for k, v in GOLDEN[2]["extra"].items() if k != "signatures"}}
    assert replace(c, embedded=replace(c.embedded, signatures=None)).to_dict() == unsigned
