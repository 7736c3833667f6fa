"""Validate an artifact against Keras, through the runtime users deploy.

Modelled on Optimum's output validation: check the output names, then the
shapes, then the values; collect every failure before judging; return a report.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Mapping

import numpy as np

import runtime

from .errors import UsageError
from .results import ArtifactReport, metrics_for


@dataclass(frozen=True)
class Thresholds:
    """What an artifact must meet. ``None`` disables a check."""

    min_agreement: float | None = None  # decision agreement with Keras, fraction
    max_abs_diff: float | None = None  # max |output difference| against Keras, per unit of output scale
    max_rel_diff: float | None = None  # max |difference| / max |Keras output| (regression)
    max_accuracy_drop: float | None = None  # accuracy points (percent) below Keras
    max_mae_increase_pct: float | None = None  # MAE growth over Keras's, percent (regression)
    max_size_ratio: float | None = None  # stored tensor bytes over the fp32 artifact's (export.weights)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise UsageError(f"threshold {f.name}={value!r}: expected a finite number or None")
            if value < 0 or (f.name == "min_agreement" and value > 1):
                bound = "[0, 1]" if f.name == "min_agreement" else ">= 0"
                raise UsageError(f"threshold {f.name}={value!r}: expected a value in {bound}")


THRESHOLD_KEYS = tuple(f.name for f in fields(Thresholds))
# Why each number: see docs/export.md ("Validation thresholds").
_CLASSIFICATION = {
    "none": Thresholds(min_agreement=1.0, max_abs_diff=1e-5),
    "float16": Thresholds(min_agreement=0.999),
    "dynamic": Thresholds(min_agreement=0.99, max_accuracy_drop=0.5),
    "int8": Thresholds(min_agreement=0.99, max_accuracy_drop=0.5, max_size_ratio=0.30),
    # 16-bit activations, 8-bit weights (issue 11): near-fp32 decisions at about int8 size.
    "int16x8": Thresholds(min_agreement=0.998, max_accuracy_drop=0.1, max_size_ratio=0.35),
}
_REGRESSION = {
    "none": Thresholds(max_abs_diff=1e-5, max_rel_diff=1e-5),
    "float16": Thresholds(max_rel_diff=0.01, max_mae_increase_pct=1.0),
    "dynamic": Thresholds(max_rel_diff=0.05, max_mae_increase_pct=5.0),
    "int8": Thresholds(max_rel_diff=0.10, max_mae_increase_pct=10.0, max_size_ratio=0.30),
    "int16x8": Thresholds(max_rel_diff=0.02, max_mae_increase_pct=2.0, max_size_ratio=0.35),
}
DEFAULT_THRESHOLDS_BY_TASK: dict[str, dict[str, Thresholds]] = {
    "classification": _CLASSIFICATION,
    "binary": _CLASSIFICATION,
    "regression": _REGRESSION,
}
DEFAULT_THRESHOLDS = _CLASSIFICATION
# A size ratio says little about a tiny model, whose file is mostly graph and metadata.
SIZE_CHECK_MIN_BYTES = 256 * 1024
# fp32 rounding grows with the magnitude of the values computed: max_abs_diff holds for outputs
# up to this magnitude, and scales with a sample's largest |output| above it (docs/export.md).
OUTPUT_SCALE_FLOOR = 1.0

ThresholdOverrides = Mapping[str, "Thresholds | Mapping[str, float | None]"]


def parse_threshold_overrides(items: list[str]) -> dict[str, dict[str, float | None]]:
    """``MODE.KEY=VALUE`` items (e.g. ``int8.min_agreement=0.98``) -> {mode: {key: value}}."""
    table: dict[str, dict[str, float | None]] = {}
    for item in items:
        try:
            target, value = item.split("=", 1)
            mode, key = target.split(".", 1)
        except ValueError as e:
            raise UsageError(f"threshold {item!r} is not MODE.KEY=VALUE (e.g. int8.min_agreement=0.98)") from e
        if mode not in _CLASSIFICATION:
            raise UsageError(f"threshold {item!r}: unknown mode {mode!r}; expected one of {list(_CLASSIFICATION)}")
        if key not in THRESHOLD_KEYS:
            raise UsageError(f"threshold {item!r}: unknown key {key!r}; expected one of {list(THRESHOLD_KEYS)}")
        try:
            number = None if value.lower() == "none" else float(value)
        except ValueError as e:
            raise UsageError(f"threshold {item!r}: value {value!r} is not a number or 'none'") from e
        table.setdefault(mode, {})[key] = number
    resolve_thresholds("classification", table)  # range-check now, not after the conversion
    return table


def resolve_thresholds(task: str, overrides: ThresholdOverrides | None = None) -> dict[str, Thresholds]:
    """The task's defaults, with per-mode overrides: whole ``Thresholds`` or {key: value}."""
    table = dict(DEFAULT_THRESHOLDS_BY_TASK[task])
    for mode, value in (overrides or {}).items():
        if mode not in table:
            raise UsageError(f"thresholds: unknown mode {mode!r}; expected one of {list(table)}")
        if isinstance(value, Thresholds):
            table[mode] = value
        elif isinstance(value, Mapping):
            unknown = [k for k in value if k not in THRESHOLD_KEYS]
            if unknown:
                raise UsageError(f"thresholds[{mode!r}]: unknown keys {unknown}; expected {list(THRESHOLD_KEYS)}")
            table[mode] = replace(table[mode], **value)
        else:
            raise UsageError(f"thresholds[{mode!r}] must be a Thresholds or a dict, got {type(value).__name__}")
    return table


def artifact_outputs(model: runtime.Model, x: np.ndarray) -> np.ndarray:
    """The artifact's raw output as (N, k) float32: probabilities, p (binary) or values."""
    if model.task == "regression":
        return model.predict(x)
    proba = model.predict_proba(x)
    return proba[:, 1:] if model.task == "binary" else proba


def decisions(outputs: np.ndarray, task: str) -> np.ndarray:
    """Class decisions from (N, k) outputs: argmax, or p > 0.5 for binary."""
    return (outputs[:, 0] > 0.5).astype(np.int64) if task == "binary" else outputs.argmax(axis=1)


def validate_artifact(
    path: str | Path,
    *,
    inputs: np.ndarray,
    labels: np.ndarray | None,
    reference: np.ndarray,
    thresholds: Thresholds,
    fp32_size: int | None = None,
    fp32_weight_bytes: int | None = None,
    expected_sha256: str | None = None,
    expected_io_names: tuple[str, str] | None = None,
    name: str | None = None,
    data: str = "",
    tie_margin: float = 0.0,
) -> ArtifactReport:
    """Run ``path`` through ``runtime`` on ``inputs`` and compare with Keras's ``reference`` outputs.

    ``name`` is the artifact's final file name (``path`` may be a temporary file). The size bound
    compares stored tensor bytes with ``fp32_weight_bytes`` (``export.weights``); ``fp32_size``
    (file bytes) gives the reported ratio and whether the model is big enough to judge.
    """
    path = Path(path)
    model = runtime.load(path, num_threads=1)
    meta, task = model.metadata, model.task
    failures: list[str] = []
    if expected_io_names is not None and model.io_names != expected_io_names:
        failures.append(f"input/output names {model.io_names} != expected {expected_io_names}")
    if expected_sha256 is not None and meta.source_sha256 != expected_sha256:
        failures.append(f"metadata source_sha256 {meta.source_sha256} != source model's {expected_sha256}")
    got = artifact_outputs(model, inputs)
    m = compare_outputs(got, reference, labels, task, tie_margin)
    if got.shape != reference.shape:
        failures.append(f"output shape {got.shape} != Keras {reference.shape}")
    size = path.stat().st_size
    ratio = size / fp32_size if fp32_size else None
    if fp32_weight_bytes:
        from .weights import weight_bytes

        m["weight_ratio"] = weight_bytes(path) / fp32_weight_bytes
    failures += judge(m, thresholds, m["weight_ratio"], fp32_size)
    q = meta.quantization
    return ArtifactReport(
        artifact=name or path.name,
        format=meta.format or path.suffix.lstrip("."),
        mode=q.mode,
        io_dtype=q.io_dtype,
        size_bytes=size,
        size_ratio=ratio,
        samples=len(inputs),
        metrics=metrics_for(task, m),
        max_abs_diff=m["max_abs_diff"],
        max_scaled_diff=m["max_scaled_diff"],
        weight_ratio=m["weight_ratio"],
        thresholds=asdict(thresholds),
        failures=tuple(failures),
        task=task,
        data=data,
    )


def compare_outputs(
    got: np.ndarray, ref: np.ndarray, labels: np.ndarray | None, task: str, tie_margin: float = 0.0
) -> dict:
    """Metrics of ``got`` against Keras's ``ref`` (and the labels, when there are some).

    With ``tie_margin`` > 0, agreement counts only samples whose Keras decision wins by at
    least that probability margin: on random inputs many samples sit on a decision
    boundary, where any rounding flips a coin.
    """
    m = dict.fromkeys(
        ("accuracy", "keras_accuracy", "accuracy_drop_points", "agreement", "max_rel_diff", "mae", "keras_mae",
         "weight_ratio")
    )
    if got.shape != ref.shape:
        return {**m, "max_abs_diff": float("inf"), "max_scaled_diff": float("inf")}
    diff = np.abs(got.astype(np.float64) - ref)
    m["max_abs_diff"] = float(diff.max()) if diff.size else 0.0
    m["max_scaled_diff"] = float((diff.max(axis=1) / output_scales(ref)).max()) if diff.size else 0.0
    if task == "regression":
        scale = float(np.abs(ref).max()) if ref.size else 0.0
        m["max_rel_diff"] = m["max_abs_diff"] / scale if scale else m["max_abs_diff"]
        if labels is not None:
            m["mae"] = mean_abs_error(got, labels)
            m["keras_mae"] = mean_abs_error(ref, labels)
        return m
    pred, keras_pred = decisions(got, task), decisions(ref, task)
    decided = _margins(ref, task) >= tie_margin if tie_margin > 0 else np.ones(len(ref), bool)
    m["agreement"] = float(np.mean(pred[decided] == keras_pred[decided])) if decided.any() else 1.0
    m["compared"] = int(decided.sum())
    if labels is not None:
        m["accuracy"] = float(np.mean(pred == labels))
        m["keras_accuracy"] = float(np.mean(keras_pred == labels))
        m["accuracy_drop_points"] = (m["keras_accuracy"] - m["accuracy"]) * 100.0
        m["labelled"] = len(labels)
    return m


def mean_abs_error(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Mean |output - target| of a regression model's (N, k) ``outputs`` against ``labels`` ((N,) or (N, k))."""
    target = labels.reshape(outputs.shape).astype(np.float64)
    return float(np.mean(np.abs(outputs - target)))


def output_scales(ref: np.ndarray) -> np.ndarray:
    """Each sample's output scale: its largest |reference output|, at least ``OUTPUT_SCALE_FLOOR``."""
    return np.maximum(np.abs(ref.astype(np.float64)).max(axis=1), OUTPUT_SCALE_FLOOR)


def fp32_tolerance(max_abs_diff: float | None, ref: np.ndarray) -> float:
    """One absolute tolerance for a whole set of outputs: ``max_abs_diff`` times their largest scale
    (for comparisons that take a single number, e.g. the generated C against LiteRT)."""
    if max_abs_diff is None:
        return float("inf")
    return max_abs_diff * (float(output_scales(ref).max()) if ref.size else OUTPUT_SCALE_FLOOR)


def _margins(ref: np.ndarray, task: str) -> np.ndarray:
    """How far each Keras decision is from a tie, in probability."""
    if task == "binary":
        return np.abs(ref[:, 0] - 0.5) * 2.0
    top2 = np.sort(ref, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def judge(m: dict, t: Thresholds, ratio: float | None, fp32_size: int | None) -> list[str]:
    """Every threshold the metrics miss; a metric that is n/a (no labels) is not judged.

    ``ratio``: the stored tensor bytes over the fp32 artifact's; ``fp32_size``: its file bytes."""
    failures = []
    if t.min_agreement is not None and m["agreement"] is not None:
        required = t.min_agreement
        if required < 1.0 and m.get("compared"):  # at least one sample may differ: the finest resolution
            required = min(required, 1.0 - 1.0 / m["compared"])
        if not m["agreement"] >= required - 1e-12:
            failures.append(f"argmax agreement {m['agreement']:.4%} < required {required:.4%}")
    if t.max_abs_diff is not None and not m["max_scaled_diff"] <= t.max_abs_diff:
        failures.append(
            f"max |diff| {m['max_abs_diff']:.3g} is {m['max_scaled_diff']:.3g} of its sample's output scale "
            f"> tolerance {t.max_abs_diff:.3g} (scale: largest |output|, at least {OUTPUT_SCALE_FLOOR:g})"
        )
    if t.max_rel_diff is not None and m["max_rel_diff"] is not None and not m["max_rel_diff"] <= t.max_rel_diff:
        failures.append(f"max relative |diff| {m['max_rel_diff']:.3g} > tolerance {t.max_rel_diff:.3g}")
    drop = m["accuracy_drop_points"]
    if t.max_accuracy_drop is not None and drop is not None:
        # A drop finer than one test sample cannot be measured: allow at least one sample.
        allowed = max(t.max_accuracy_drop, 100.0 / m["labelled"]) if m.get("labelled") else t.max_accuracy_drop
        if not drop <= allowed + 1e-9:
            failures.append(f"accuracy drop {drop:.2f} points > allowed {allowed:.2f}")
    if t.max_mae_increase_pct is not None and m["mae"] is not None and m["keras_mae"]:
        growth = (m["mae"] / m["keras_mae"] - 1.0) * 100.0
        if not growth <= t.max_mae_increase_pct:
            failures.append(f"MAE grew {growth:.2f}% > allowed {t.max_mae_increase_pct:.2f}%")
    big_enough = fp32_size is not None and fp32_size >= SIZE_CHECK_MIN_BYTES
    if t.max_size_ratio is not None and ratio is not None and big_enough and not ratio <= t.max_size_ratio:
        failures.append(f"weight bytes {ratio:.3f} of fp32's > allowed {t.max_size_ratio:.3f}")
    return failures


def format_table(reports: list[ArtifactReport]) -> str:
    """A Markdown table of reports (printed by the CLI, and written beside the JSON)."""
    if reports and all(r.task == "regression" for r in reports):
        head = ("artifact", "format", "mode", "io", "size (bytes)", "x fp32", "MAE", "Keras MAE",
                "max abs diff", "max rel diff", "status")
        rows = [
            (r.artifact, r.format, r.mode, r.io_dtype, f"{r.size_bytes:,}", _f(r.size_ratio, "{:.3f}"),
             _f(r.mae, "{:.4f}"), _f(r.keras_mae, "{:.4f}"), f"{r.max_abs_diff:.2e}",
             _f(r.max_rel_diff, "{:.2e}"), _status(r))
            for r in reports
        ]
    else:
        head = ("artifact", "format", "mode", "io", "size (bytes)", "x fp32", "accuracy", "drop (pts)",
                "agreement", "max abs diff", "status")
        rows = [
            (r.artifact, r.format, r.mode, r.io_dtype, f"{r.size_bytes:,}", _f(r.size_ratio, "{:.3f}"),
             _f(r.accuracy, "{:.4f}"), _f(r.accuracy_drop_points, "{:+.2f}"), _f(r.agreement, "{:.4%}"),
             f"{r.max_abs_diff:.2e}", _status(r))
            for r in reports
        ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _f(value: float | None, spec: str) -> str:
    return "n/a" if value is None else spec.format(value)


def _status(r: ArtifactReport) -> str:
    return "ok" if r.ok else "FAIL: " + "; ".join(r.failures)
