"""Pure analysis of measured numbers: quality (accuracy or MAE), ratios and targets.

No I/O and no timing here: every function works on figures already measured (the report's
subject entries and cold-start rows), so it is unit-tested with hand-made inputs.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from export.validate import decisions, mean_abs_error

from .threadcheck import thread_targets

KERAS_PREDICT, KERAS_CALL, NUMPY_REF = "keras:predict", "keras:call", "numpy:reference"

# The runtime wrapper may add at most 10% to its bare engine call at batch 1, or at most 0.5 us
# (issue 19.17: a 5 us int8 call leaves 10% = 0.5 us for checks, dispatch and dequantization).
TARGET_WRAPPER_OVERHEAD_PCT = 10.0
TARGET_WRAPPER_OVERHEAD_US = 0.5
TARGET_SPEEDUP_VS_PREDICT = 1000.0
TARGET_SPEEDUP_VS_CALL = 50.0
TARGET_COLD_START_RATIO = 1 / 10
TARGET_RSS_RATIO = 1 / 8


def accuracy(pred: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """``{"accuracy", "correct", "samples"}`` of predicted labels against the true ones."""
    correct = int((np.asarray(pred) == labels).sum())
    return {"accuracy": correct / len(labels), "correct": correct, "samples": int(len(labels))}


# what the quality column measures, per task; classifiers keep their "accuracy"/"correct" fields
QUALITY_METRICS = {"classification": "accuracy", "binary": "accuracy", "regression": "mae"}
QUALITY_DEFINITIONS = {
    "classification": "accuracy: fraction of test samples whose argmax class equals y_test",
    "binary": "accuracy: fraction of test samples whose decision (sigmoid output > 0.5) equals y_test",
    "regression": "mae: mean absolute error of the outputs against y_test (lower is better)",
}


def quality_info(task: str) -> dict[str, str]:
    """The report's ``quality`` block: the task, its metric name and what it means."""
    return {"task": task, "metric": QUALITY_METRICS[task], "definition": QUALITY_DEFINITIONS[task]}


def answers(outputs: np.ndarray, task: str) -> np.ndarray:
    """What ``runtime.Model.predict`` answers, from raw (N, k) float outputs: export's decision rule
    (argmax, or p > 0.5 for binary), or the values themselves for regression."""
    outputs = np.asarray(outputs)
    return outputs.astype(np.float32, copy=False) if task == "regression" else decisions(outputs, task)


def mae(values: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    """``{"mae", "samples"}`` of a regression model's (N, k) values against the targets."""
    values = np.asarray(values)
    return {"mae": mean_abs_error(values, targets), "samples": int(len(targets))}


def quality(answered: np.ndarray, labels: np.ndarray, task: str) -> dict[str, Any]:
    """The task's quality figures: ``accuracy`` (classifiers, binary) or ``mae`` (regression)."""
    return mae(answered, labels) if task == "regression" else accuracy(answered, labels)


def quality_fields(row: dict[str, Any]) -> dict[str, Any]:
    """The quality figures of a scored row, in report order: accuracy, correct, samples (classifiers,
    binary) or mae, samples (regression)."""
    return {k: row[k] for k in ("accuracy", "correct", "mae", "samples") if k in row}


def batch_at(entry: dict[str, Any], bs: int) -> dict[str, Any] | None:
    """The measurement of ``entry`` (a subject, or its raw-pixel block) at batch size ``bs``."""
    return next((b for b in entry["batches"] if b["batch_size"] == bs), None)


def _p50(entry: dict[str, Any] | None, bs: int) -> float | None:
    b = batch_at(entry, bs) if entry else None
    return b["latency_ms"]["p50"] if b else None


def round_ratios(runtime_b: dict[str, Any], bare_b: dict[str, Any] | None) -> dict[str, Any] | None:
    """Overhead computed round by round (runtime and bare ran back to back in each round):
    a noise check on the merged-p50 figure, since a disturbance then hits both alike."""
    if bare_b is None:
        return None
    pairs = list(zip(runtime_b.get("rounds_p50_ms") or [], bare_b.get("rounds_p50_ms") or []))
    if len(pairs) < 2:
        return None
    pct = sorted((r / b - 1.0) * 100.0 for r, b in pairs)
    return {"median": float(np.median(pct)), "min": pct[0], "max": pct[-1], "rounds": len(pct)}


def _batch_ratios(e: dict[str, Any], b: dict[str, Any], keras: dict | None, bare: dict | None) -> None:
    bs, p50 = b["batch_size"], b["latency_ms"]["p50"]
    k = _p50(keras, bs)
    b["speedup_vs_keras_predict"] = k / p50 if k else None
    if e["kind"] != "runtime":
        return
    bp = _p50(bare, bs)
    b["wrapper_overhead_pct"] = (p50 / bp - 1.0) * 100.0 if bp else None
    b["wrapper_overhead_pct_by_round"] = round_ratios(b, batch_at(bare, bs)) if bare else None
    raw = e.get("raw_pixel_input")
    if raw:
        rb = batch_at(raw, bs)
        rp = rb["latency_ms"]["p50"]
        rb["speedup_vs_keras_predict"] = k / rp if k else None
        rb["overhead_vs_bare_pct"] = (rp / bp - 1.0) * 100.0 if bp else None


def add_ratios(entries: list[dict[str, Any]], batch_sizes: Sequence[int]) -> dict[str, Any]:
    """Speedup vs Keras predict (p50) for all, wrapper overhead vs bare for runtime subjects.

    Fills the ratio fields into each entry and its batches (in place) and returns the
    report's ``ratios`` summary at the smallest batch size.
    """
    by_id = {e["id"]: e for e in entries}
    keras = by_id.get(KERAS_PREDICT)
    for e in entries:
        bare = by_id.get(f"bare:{e['artifact']}") if e["kind"] == "runtime" else None
        for b in e["batches"]:
            _batch_ratios(e, b, keras, bare)
        first = e["batches"][0]
        e["ratios"] = {
            "batch_size": first["batch_size"],
            "speedup_vs_keras_predict": first["speedup_vs_keras_predict"],
            "wrapper_overhead_pct": first.get("wrapper_overhead_pct"),
            "wrapper_overhead_pct_by_round": first.get("wrapper_overhead_pct_by_round"),
            "bare_subject": f"bare:{e['artifact']}" if e["kind"] == "runtime" else None,
        }
    return {
        "batch_size": batch_sizes[0],
        "statistic": "p50 latency per call",
        "speedup_vs_keras_predict": {
            "definition": "keras:predict p50 / subject p50 (x times faster)",
            **{e["id"]: e["ratios"]["speedup_vs_keras_predict"] for e in entries},
        },
        "wrapper_overhead_pct": {
            "definition": "(runtime p50 / its own bare backend call p50 - 1) * 100, both fed the same array",
            **{e["id"]: e["ratios"]["wrapper_overhead_pct"] for e in entries if e["kind"] == "runtime"},
        },
    }


def target(
    tid: str, description: str, value: float | None, comparison: str, bound: float, unit: str, detail: str
) -> dict[str, Any]:
    """One target row; ``met`` is None (n/a) when the value was not measured."""
    if value is None:
        met = None
    else:
        met = value <= bound if comparison == "<=" else value >= bound
    return {
        "id": tid, "description": description, "value": value, "comparison": comparison,
        "bound": bound, "unit": unit, "met": met, "detail": detail,
    }


def _overhead_detail(e: dict[str, Any], bare: dict[str, Any] | None) -> str:
    if bare is None:
        return "bare call not measured"
    added = (_p50(e, 1) - _p50(bare, 1)) * 1000
    text = f"p50 {_p50(e, 1) * 1000:.2f} us vs bare {_p50(bare, 1) * 1000:.2f} us ({added:+.2f} us)"
    by_round = e["ratios"].get("wrapper_overhead_pct_by_round")
    if by_round:
        text += (
            f"; per-round median {by_round['median']:+.1f}% "
            f"(range {by_round['min']:+.1f}% .. {by_round['max']:+.1f}% over {by_round['rounds']} rounds)"
        )
    return text


def _overhead_target(e: dict[str, Any], bare: dict[str, Any] | None) -> dict[str, Any]:
    """Wrapper cost at batch 1: met at <= TARGET_WRAPPER_OVERHEAD_PCT or <= TARGET_WRAPPER_OVERHEAD_US added."""
    row = target(
        f"wrapper_overhead:{e['artifact']}",
        f"runtime wrapper cost at batch 1, {e['artifact']} ({e['backend']}), vs its bare call "
        f"(or at most +{TARGET_WRAPPER_OVERHEAD_US:g} us)",
        e["ratios"]["wrapper_overhead_pct"], "<=", TARGET_WRAPPER_OVERHEAD_PCT, "%",
        _overhead_detail(e, bare),
    )
    if row["met"] is False and bare is not None:
        added_us = (_p50(e, 1) - _p50(bare, 1)) * 1000.0
        row["met"] = added_us <= TARGET_WRAPPER_OVERHEAD_US
    return row


def _speed_targets(subjects: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    entries = {e["id"]: e for e in subjects}
    runtime_entries = [e for e in subjects if e["kind"] == "runtime"]
    targets = [_overhead_target(e, entries.get(f"bare:{e['artifact']}")) for e in runtime_entries]
    fastest = min(runtime_entries, key=lambda e: _p50(e, 1))
    f50 = _p50(fastest, 1)
    for sid, bound, what in (
        (KERAS_PREDICT, TARGET_SPEEDUP_VS_PREDICT, "Keras model.predict"),
        (KERAS_CALL, TARGET_SPEEDUP_VS_CALL, "direct Keras model(x)"),
    ):
        k = entries.get(sid)
        value = _p50(k, 1) / f50 if k else None
        targets.append(target(
            f"speedup_vs_{sid.split(':')[1]}",
            f"fastest artifact's batch-1 p50 vs {what} p50",
            value, ">=", bound, "x",
            f"{fastest['id']} p50 {f50 * 1000:.2f} us vs {sid} p50 {_p50(k, 1):.2f} ms" if k else f"{sid} not measured",
        ))
    return targets


def _cold_targets(cold: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    rt_cold = [c for c in cold if c["kind"] == "runtime"]
    keras_cold = [c for c in cold if c["kind"] != "runtime"]
    worst_t = max(rt_cold, key=lambda c: c["total_s"])
    worst_m = max(rt_cold, key=lambda c: c["peak_rss_bytes"])
    if keras_cold:
        best_kt = min(keras_cold, key=lambda c: c["total_s"])
        best_km = min(keras_cold, key=lambda c: c["peak_rss_bytes"])
        t_value = worst_t["total_s"] / best_kt["total_s"]
        m_value = worst_m["peak_rss_bytes"] / best_km["peak_rss_bytes"]
        t_detail = (
            f"slowest runtime {worst_t['subject']} {worst_t['total_s']:.3f} s vs fastest Keras "
            f"{best_kt['subject']} {best_kt['total_s']:.3f} s (import + load + first prediction)"
        )
        m_detail = (
            f"largest runtime {worst_m['subject']} {worst_m['peak_rss_bytes'] / 2**20:.1f} MiB vs smallest "
            f"Keras {best_km['subject']} {best_km['peak_rss_bytes'] / 2**20:.1f} MiB"
        )
    else:
        t_value = m_value = None
        t_detail = m_detail = "Keras cold start not measured"
    return [
        target(
            "cold_start_ratio", "runtime cold start (import+load+first prediction) / Keras's",
            t_value, "<=", TARGET_COLD_START_RATIO, "ratio", t_detail,
        ),
        target(
            "peak_rss_ratio", "runtime cold-start peak RSS / Keras's",
            m_value, "<=", TARGET_RSS_RATIO, "ratio", m_detail,
        ),
    ]


def compute_targets(
    subjects: Sequence[dict[str, Any]],
    cold_start: Sequence[dict[str, Any]],
    thread_defaults: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """The project's performance targets, each with its measured value and met/missed/n/a.

    ``subjects`` must already carry their ratios (see ``add_ratios``).
    """
    return [*_speed_targets(subjects), *_cold_targets(cold_start), *thread_targets(list(thread_defaults))]
