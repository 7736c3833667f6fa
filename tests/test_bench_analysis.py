"""Unit tests of benchmarks.analysis (pure: ratios and targets) and benchmarks.results.

Hand-made subject entries and cold-start rows; nothing is run or timed.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from benchmarks import analysis
from benchmarks.analysis import accuracy, add_ratios, batch_at, compute_targets, round_ratios, target
from benchmarks.results import SCHEMA_VERSION, BenchmarkResult, RunConfig


def _b(bs: int, p50_ms: float, rounds: list[float] | None = None) -> dict[str, Any]:
    return {"batch_size": bs, "latency_ms": {"p50": p50_ms}, "rounds_p50_ms": rounds}


def _e(sid: str, kind: str, artifact: str, batches: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": sid, "kind": kind, "artifact": artifact, "backend": "onnxruntime", "batches": batches, **extra}


def _entries(with_keras: bool = True) -> list[dict[str, Any]]:
    """One artifact: runtime 0.012 ms, bare 0.010 ms at batch 1; Keras predict 30 ms, call 0.5 ms."""
    raw = {"input": "uint8", "batches": [_b(1, 0.015), _b(8, 0.08)]}
    entries = [
        _e("runtime:m.onnx", "runtime", "m.onnx", [_b(1, 0.012, [0.012, 0.011, 0.013]), _b(8, 0.06)],
           raw_pixel_input=raw),
        _e("bare:m.onnx", "bare", "m.onnx", [_b(1, 0.010, [0.010, 0.010, 0.010]), _b(8, 0.05)]),
    ]
    if with_keras:
        entries += [
            _e("keras:predict", "keras_predict", "model.keras", [_b(1, 30.0), _b(8, 32.0)]),
            _e("keras:call", "keras_call", "model.keras", [_b(1, 0.5), _b(8, 0.6)]),
        ]
    return entries


def _cold(keras_total_s: float = 4.0, keras_rss: int = 800 * 2**20) -> list[dict[str, Any]]:
    return [
        {"subject": "runtime:m.onnx", "kind": "runtime", "total_s": 0.2, "peak_rss_bytes": 80 * 2**20},
        {"subject": "keras:predict", "kind": "keras_predict", "total_s": keras_total_s, "peak_rss_bytes": keras_rss},
        {"subject": "keras:call", "kind": "keras_call", "total_s": keras_total_s + 1, "peak_rss_bytes": keras_rss},
    ]


def test_accuracy_counts_matches() -> None:
    assert accuracy(np.array([1, 2, 3, 0]), np.array([1, 2, 0, 0])) == {"accuracy": 0.75, "correct": 3, "samples": 4}


def test_quality_per_task() -> None:
    """Binary outputs decide by p > 0.5 (export's rule), classifiers by argmax; regression is MAE."""
    p = np.array([[0.2], [0.5], [0.51], [0.9]], np.float32)
    assert analysis.answers(p, "binary").tolist() == [0, 0, 1, 1]
    assert analysis.quality(analysis.answers(p, "binary"), np.array([0, 1, 1, 1]), "binary") == {
        "accuracy": 0.75, "correct": 3, "samples": 4}
    assert analysis.answers(np.array([[0.1, 0.7, 0.2]]), "classification").tolist() == [1]
    values = np.array([[1.0, 2.0], [3.0, 5.0]], np.float32)
    assert analysis.quality(values, np.array([[1.5, 2.0], [3.0, 4.0]]), "regression") == {"mae": 0.375, "samples": 2}
    assert analysis.quality(values[:, :1], np.array([2.0, 1.0]), "regression")["mae"] == 1.5  # (N,) targets
    assert analysis.quality_fields({"mae": 0.5, "samples": 2, "file": "m"}) == {"mae": 0.5, "samples": 2}
    assert [analysis.quality_info(t)["metric"] for t in ("classification", "binary", "regression")] == [
        "accuracy", "accuracy", "mae"]


def test_batch_at_finds_the_batch_or_none() -> None:
    e = _e("x", "bare", "m", [_b(1, 1.0), _b(8, 2.0)])
    assert batch_at(e, 8)["latency_ms"]["p50"] == 2.0
    assert batch_at(e, 32) is None


def test_round_ratios() -> None:
    r = round_ratios(_b(1, 0, [1.1, 1.2, 1.0]), _b(1, 0, [1.0, 1.0, 1.0]))
    assert r["rounds"] == 3 and r["median"] == pytest.approx(10.0)
    assert r["min"] == pytest.approx(0.0) and r["max"] == pytest.approx(20.0)
    assert round_ratios(_b(1, 0, [1.1]), _b(1, 0, [1.0])) is None  # one round: no spread to report
    assert round_ratios(_b(1, 0, [1.1, 1.2]), None) is None


def test_add_ratios_speedups_and_overheads() -> None:
    entries = _entries()
    summary = add_ratios(entries, [1, 8])
    rt, bare, predict, call = entries
    assert rt["ratios"]["speedup_vs_keras_predict"] == pytest.approx(30.0 / 0.012)
    assert rt["ratios"]["wrapper_overhead_pct"] == pytest.approx(20.0)
    assert rt["ratios"]["bare_subject"] == "bare:m.onnx" and bare["ratios"]["bare_subject"] is None
    assert rt["batches"][1]["wrapper_overhead_pct"] == pytest.approx(20.0)
    assert rt["batches"][1]["speedup_vs_keras_predict"] == pytest.approx(32.0 / 0.06)
    by_round = rt["ratios"]["wrapper_overhead_pct_by_round"]
    assert by_round["rounds"] == 3 and by_round["median"] == pytest.approx(20.0)
    assert rt["batches"][1]["wrapper_overhead_pct_by_round"] is None  # no per-round figures there
    raw = rt["raw_pixel_input"]["batches"][0]
    assert raw["overhead_vs_bare_pct"] == pytest.approx(50.0)
    assert raw["speedup_vs_keras_predict"] == pytest.approx(30.0 / 0.015)
    assert predict["ratios"]["speedup_vs_keras_predict"] == pytest.approx(1.0)
    assert "wrapper_overhead_pct" not in bare["batches"][0] and bare["ratios"]["wrapper_overhead_pct"] is None
    assert summary["batch_size"] == 1
    assert summary["speedup_vs_keras_predict"]["keras:call"] == pytest.approx(60.0)
    assert set(summary["wrapper_overhead_pct"]) == {"definition", "runtime:m.onnx"}


def test_add_ratios_without_keras_gives_none() -> None:
    entries = _entries(with_keras=False)
    summary = add_ratios(entries, [1, 8])
    assert all(e["ratios"]["speedup_vs_keras_predict"] is None for e in entries)
    assert entries[0]["ratios"]["wrapper_overhead_pct"] == pytest.approx(20.0)
    assert summary["speedup_vs_keras_predict"]["runtime:m.onnx"] is None


def test_target_met_missed_and_not_available() -> None:
    assert target("a", "d", 10.0, "<=", 25.0, "%", "")["met"] is True
    assert target("a", "d", 30.0, "<=", 25.0, "%", "")["met"] is False
    assert target("a", "d", 2000.0, ">=", 1000.0, "x", "")["met"] is True
    assert target("a", "d", 999.0, ">=", 1000.0, "x", "")["met"] is False
    row = target("a", "d", None, ">=", 1000.0, "x", "not measured")
    assert row["met"] is None and row["value"] is None
    assert set(row) == {"id", "description", "value", "comparison", "bound", "unit", "met", "detail"}


def test_compute_targets_met_and_missed() -> None:
    entries = _entries()
    add_ratios(entries, [1, 8])
    threads = [{"artifact": "m.onnx", "batch_size": 1, "explicit_us": {1: 10.0, 2: 8.0}, "default_us": 12.0,
                "ratio_default_to_best": 1.5, "rounds": 3}]
    targets = {t["id"]: t for t in compute_targets(entries, _cold(), threads)}
    assert set(targets) == {"wrapper_overhead:m.onnx", "speedup_vs_predict", "speedup_vs_call",
                            "cold_start_ratio", "peak_rss_ratio", "thread_default:m.onnx:bs1"}
    overhead = targets["wrapper_overhead:m.onnx"]
    assert overhead["value"] == pytest.approx(20.0) and overhead["met"] is False  # 20% and +2 us
    assert "per-round median +20.0%" in overhead["detail"] and "(+2.00 us)" in overhead["detail"]
    assert targets["speedup_vs_predict"]["value"] == pytest.approx(2500.0) and targets["speedup_vs_predict"]["met"] is True
    call = targets["speedup_vs_call"]
    assert call["value"] == pytest.approx(0.5 / 0.012) and call["met"] is False  # 41.7x < 50x
    cold = targets["cold_start_ratio"]
    assert cold["value"] == pytest.approx(0.2 / 4.0) and cold["met"] is True
    assert "keras:predict" in cold["detail"]  # the faster Keras cold start is the reference
    assert targets["peak_rss_ratio"]["value"] == pytest.approx(0.1) and targets["peak_rss_ratio"]["met"] is True
    assert targets["thread_default:m.onnx:bs1"]["met"] is False
    # a heavier runtime misses the memory target
    cold_rows = _cold(keras_rss=400 * 2**20)
    assert {t["id"]: t for t in compute_targets(entries, cold_rows)}["peak_rss_ratio"]["met"] is False


def test_compute_targets_without_keras_are_not_available() -> None:
    entries = _entries(with_keras=False)
    add_ratios(entries, [1, 8])
    targets = {t["id"]: t for t in compute_targets(entries, _cold()[:1])}
    for tid in ("speedup_vs_predict", "speedup_vs_call", "cold_start_ratio", "peak_rss_ratio"):
        assert targets[tid]["met"] is None and targets[tid]["value"] is None, tid
    assert targets["speedup_vs_predict"]["detail"] == "keras:predict not measured"
    assert targets["cold_start_ratio"]["detail"] == "Keras cold start not measured"
    assert targets["wrapper_overhead:m.onnx"]["met"] is False


@pytest.mark.parametrize("runtime_us, bare_us, met", [
    (10.9, 10.0, True),    # +9%
    (11.1, 10.0, False),   # +11% and +1.1 us
    (5.45, 5.0, True),     # +9%
    (2.45, 2.0, True),     # +22%, but only +0.45 us
    (2.6, 2.0, False),     # +30% and +0.6 us
    (30.0, 27.5, True),    # +9.1%, though +2.5 us
    (30.0, 27.0, False),   # +11.1% and +3 us
])
def test_wrapper_target_is_ten_percent_or_half_a_microsecond(runtime_us, bare_us, met) -> None:
    """Issue 19.17: the wrapper adds at most 10%, or at most 0.5 us, to its bare call at batch 1."""
    entries = [
        _e("runtime:m.tflite", "runtime", "m.tflite", [_b(1, runtime_us / 1000)]),
        _e("bare:m.tflite", "bare", "m.tflite", [_b(1, bare_us / 1000)]),
    ]
    add_ratios(entries, [1])
    row = {t["id"]: t for t in compute_targets(entries, _cold()[:1])}["wrapper_overhead:m.tflite"]
    assert row["met"] is met
    assert row["bound"] == analysis.TARGET_WRAPPER_OVERHEAD_PCT == 10.0
    assert analysis.TARGET_WRAPPER_OVERHEAD_US == 0.5


def test_targets_bounds_are_the_projects() -> None:
    assert analysis.TARGET_SPEEDUP_VS_PREDICT == 1000 and analysis.TARGET_SPEEDUP_VS_CALL == 50
    assert analysis.TARGET_COLD_START_RATIO == pytest.approx(0.1) and analysis.TARGET_RSS_RATIO == pytest.approx(0.125)


def _result(**extra: Any) -> BenchmarkResult:
    config = RunConfig(model_dir="a", output_dir=None, data_dir="d", threads=1, batch_sizes=[1, 8],
                       quick=True, allow_source_mismatch=False)
    return BenchmarkResult(
        created_utc="2026-01-01T00:00:00+00:00", config=config, provenance={"ok": True}, measurement={},
        environment={}, artifacts=[], skipped_artifacts=[], subjects=_entries(), ratios={}, cold_start=_cold(),
        thread_defaults=[], keras=None, **extra,
    )


def test_result_dict_keys_order_and_round_trip() -> None:
    result = _result(targets=[{"id": "t"}], wall_time_s=1.5)
    d = result.to_dict()
    assert list(d) == ["schema_version", "tool", "created_utc", "config", "provenance", "measurement",
                       "environment", "artifacts", "skipped_artifacts", "subjects", "ratios", "cold_start",
                       "thread_defaults", "keras", "targets", "wall_time_s"]  # no mcu, no outputs
    assert d["schema_version"] == SCHEMA_VERSION and d["tool"] == "python -m benchmarks"
    assert d["config"]["batch_sizes"] == [1, 8]
    back = BenchmarkResult.from_dict(json.loads(json.dumps({**d, "unknown_future_key": 1})))
    assert back == result and isinstance(back.config, RunConfig)
    with_opt = _result(mcu={"rows": []}, outputs={"json": "x"}).to_dict()
    assert list(with_opt)[-4:] == ["mcu", "targets", "wall_time_s", "outputs"]


def test_thread_sweep_shows_default_vs_best_with_a_verdict_per_row() -> None:
    """Issue 19.16: each row says which instance the default ran on and whether it is within 10%."""
    from benchmarks.threadcheck import format_sweep

    rows = [
        {"load": "idle", "artifact": "m.tflite", "batch_size": 1, "default_us": 10.5, "explicit_us": {1: 10.0, 2: 14.0},
         "best_threads": 1, "ratio_default_to_best": 1.05, "default_ran_threads": 1, "within_target": True},
        {"load": "one core busy", "artifact": "m.tflite", "batch_size": 256, "default_us": 30.0,
         "explicit_us": {1: 20.0, 2: 25.0}, "best_threads": 1, "ratio_default_to_best": 1.5,
         "default_ran_threads": 2, "within_target": False},
        {"load": "idle", "artifact": "m.tflite", "batch_size": 8, "default_us": 9.0, "explicit_us": {1: 9.0, 2: 9.5},
         "best_threads": 1, "ratio_default_to_best": 1.0, "default_ran_threads": 1, "within_target": None},
    ]
    lines = format_sweep(rows).splitlines()
    assert lines[0].endswith("| default/best | within 10% |") and "default (ran on)" in lines[0]
    assert lines[2] == "| idle | m.tflite | 1 | 10.5 (1t) | **10.0** | 14.0 | 1.05 | pass |"
    assert lines[3] == "| one core busy | m.tflite | 256 | 30.0 (2t) | **20.0** | 25.0 | 1.50 | **FAIL** |"
    assert lines[4].endswith("| 1.00 | n/a |")
