"""Validate an artifact against Keras, through the runtime users deploy.

Modelled on Optimum's output validation: check the output names, then the
shapes, then the values; collect every failure before judging; return a report.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

import runtime

from .errors import ExportError


@dataclass(frozen=True)
class Thresholds:
    """What an artifact must meet. ``None`` disables a check."""

    min_agreement: float | None = None  # argmax agreement with Keras, fraction
    max_abs_diff: float | None = None  # max |probability difference| against Keras
    max_accuracy_drop: float | None = None  # accuracy points (percent) below Keras
    max_size_ratio: float | None = None  # bytes over the fp32 artifact of the same format


# fp32: 100% argmax agreement. The tolerance on probabilities is 1e-5: Keras's own export
# tests use 1e-6 (ONNX) and 1e-4 (TFLite) on random inputs; on 10,000 real images a
# different (but exact-in-float32) summation order in MatMul moves probabilities near 1.0
# by a few float32 ulps (~1e-7 each), and softmax can amplify a logit difference of 1e-6.
# 1e-5 stays 100x below any difference that could flip a decision at the 4th decimal.
DEFAULT_THRESHOLDS: dict[str, Thresholds] = {
    "none": Thresholds(min_agreement=1.0, max_abs_diff=1e-5),
    "float16": Thresholds(min_agreement=0.999),
    "dynamic": Thresholds(min_agreement=0.99, max_accuracy_drop=0.5),
    "int8": Thresholds(min_agreement=0.99, max_accuracy_drop=0.5, max_size_ratio=0.30),
    # 16-bit activations, 8-bit weights (issue 11): near-fp32 decisions at about int8 size.
    "int16x8": Thresholds(min_agreement=0.998, max_accuracy_drop=0.1, max_size_ratio=0.35),
}
EXPECTED_IO_NAMES = ("pixels", "probabilities")
THRESHOLD_KEYS = tuple(Thresholds.__dataclass_fields__)


def parse_threshold_overrides(items: list[str]) -> dict[str, Thresholds]:
    """Apply ``MODE.KEY=VALUE`` overrides (e.g. ``int8.min_agreement=0.98``) to the defaults."""
    table = dict(DEFAULT_THRESHOLDS)
    for item in items:
        try:
            target, value = item.split("=", 1)
            mode, key = target.split(".", 1)
        except ValueError as e:
            raise ExportError(f"threshold {item!r} is not MODE.KEY=VALUE (e.g. int8.min_agreement=0.98)") from e
        if mode not in table:
            raise ExportError(f"threshold {item!r}: unknown mode {mode!r}; expected one of {list(table)}")
        if key not in THRESHOLD_KEYS:
            raise ExportError(f"threshold {item!r}: unknown key {key!r}; expected one of {list(THRESHOLD_KEYS)}")
        try:
            number = None if value.lower() == "none" else float(value)
        except ValueError as e:
            raise ExportError(f"threshold {item!r}: value {value!r} is not a number or 'none'") from e
        table[mode] = replace(table[mode], **{key: number})
    return table


@dataclass
class ArtifactReport:
    """Validation of one artifact against Keras on the test set."""

    artifact: str
    format: str
    mode: str
    io_dtype: str
    size_bytes: int
    size_ratio: float | None
    samples: int
    accuracy: float
    keras_accuracy: float
    accuracy_drop_points: float
    agreement: float
    max_abs_diff: float
    thresholds: dict = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    layer_report: dict | None = None  # export.layer_report (issue 11), when asked for
    recipe: dict | None = None  # the --target-agreement search, when asked for

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def validate_artifact(
    path: str | Path,
    *,
    images: np.ndarray,
    labels: np.ndarray,
    keras_proba: np.ndarray,
    thresholds: Thresholds,
    fp32_size: int | None = None,
    expected_sha256: str | None = None,
) -> ArtifactReport:
    """Run ``path`` through ``runtime`` on ``images`` and compare with ``keras_proba``."""
    path = Path(path)
    model = runtime.load(path, num_threads=1)
    meta = model.metadata
    failures: list[str] = []
    if model.io_names != EXPECTED_IO_NAMES:
        failures.append(f"input/output names {model.io_names} != expected {EXPECTED_IO_NAMES}")
    if expected_sha256 is not None and meta.source_sha256 != expected_sha256:
        failures.append(f"metadata source_sha256 {meta.source_sha256} != source model's {expected_sha256}")
    if len(meta.class_names) != keras_proba.shape[1]:
        failures.append(f"metadata has {len(meta.class_names)} class names, Keras has {keras_proba.shape[1]} outputs")
    proba = model.predict_proba(images)
    if proba.shape != keras_proba.shape:
        failures.append(f"output shape {proba.shape} != Keras {keras_proba.shape}")
        diff, agreement, accuracy = float("inf"), 0.0, 0.0
    else:
        pred = proba.argmax(axis=1)
        diff = float(np.max(np.abs(proba - keras_proba)))
        agreement = float(np.mean(pred == keras_proba.argmax(axis=1)))
        accuracy = float(np.mean(pred == labels))
    keras_accuracy = float(np.mean(keras_proba.argmax(axis=1) == labels))
    size = path.stat().st_size
    ratio = size / fp32_size if fp32_size else None
    drop = (keras_accuracy - accuracy) * 100.0
    t = thresholds
    if t.min_agreement is not None and not agreement >= t.min_agreement:
        failures.append(f"argmax agreement {agreement:.4%} < required {t.min_agreement:.4%}")
    if t.max_abs_diff is not None and not diff <= t.max_abs_diff:
        failures.append(f"max |diff| {diff:.3g} > tolerance {t.max_abs_diff:.3g}")
    if t.max_accuracy_drop is not None and not drop <= t.max_accuracy_drop:
        failures.append(f"accuracy drop {drop:.2f} points > allowed {t.max_accuracy_drop:.2f}")
    if t.max_size_ratio is not None and ratio is not None and not ratio <= t.max_size_ratio:
        failures.append(f"size ratio {ratio:.3f} of fp32 > allowed {t.max_size_ratio:.3f}")
    q = meta.quantization
    return ArtifactReport(
        artifact=path.name,
        format=meta.format or path.suffix.lstrip("."),
        mode=q.mode,
        io_dtype=q.io_dtype,
        size_bytes=size,
        size_ratio=ratio,
        samples=len(images),
        accuracy=accuracy,
        keras_accuracy=keras_accuracy,
        accuracy_drop_points=drop,
        agreement=agreement,
        max_abs_diff=diff,
        thresholds=asdict(thresholds),
        failures=failures,
    )


def format_table(reports: list[ArtifactReport]) -> str:
    """A Markdown table of reports (printed by the CLI, and written beside the JSON)."""
    head = ("artifact", "format", "mode", "io", "size (bytes)", "x fp32", "accuracy", "drop (pts)",
            "agreement", "max abs diff", "status")
    rows = [
        (
            r.artifact, r.format, r.mode, r.io_dtype, f"{r.size_bytes:,}",
            f"{r.size_ratio:.3f}" if r.size_ratio is not None else "-",
            f"{r.accuracy:.4f}", f"{r.accuracy_drop_points:+.2f}", f"{r.agreement:.4%}",
            f"{r.max_abs_diff:.2e}", "ok" if r.ok else "FAIL: " + "; ".join(r.failures),
        )
        for r in reports
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
