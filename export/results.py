"""The typed result of validating one artifact: ``ArtifactReport``, as ``benchmarks.results`` has for a run.

The metrics are typed per task (``ClassificationMetrics``, ``RegressionMetrics``), and what only the
embedded formats add is typed per format (``CSourceCheck``, ``TflmSource``). ``to_dict`` gives the row of
``export_report.json``: the same flat keys in the same order as before the types (schema 2), with
``null`` for another task's metrics and ``extra`` holding the embedded fields; ``from_dict`` reads one back.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

CLASSIFICATION_TASKS = ("classification", "binary")


@dataclass(frozen=True)
class ClassificationMetrics:
    """Decisions against Keras's (classification, binary); the accuracies need labels."""

    accuracy: float | None = None
    keras_accuracy: float | None = None
    accuracy_drop_points: float | None = None  # percent points below Keras
    agreement: float | None = None  # fraction of samples whose decision equals Keras's


@dataclass(frozen=True)
class RegressionMetrics:
    """Values against Keras's (regression); the MAEs need labels."""

    max_rel_diff: float | None = None  # max |difference| / max |Keras output|
    mae: float | None = None
    keras_mae: float | None = None


Metrics = ClassificationMetrics | RegressionMetrics


def metrics_for(task: str, values: Mapping[str, Any]) -> Metrics:
    """The ``task``'s typed metrics, from a mapping holding at least their keys (e.g. ``compare_outputs``)."""
    cls = ClassificationMetrics if task in CLASSIFICATION_TASKS else RegressionMetrics
    return cls(**{f.name: values.get(f.name) for f in fields(cls)})


@dataclass(frozen=True)
class CSourceCheck:
    """``--format c``: the generated C, compiled and run on every validation sample."""

    header: str
    scratch_bytes: int | None
    exact_against: str  # what its outputs equal: TFLite Micro's bytes, or LiteRT within a tolerance
    mismatched_samples: int
    verify: int | None  # the C's verify(): 0 when every table passes its CRC
    signatures: tuple[str, ...] | None = None  # detached .sig files, when signed

    def to_dict(self) -> dict[str, Any]:
        return _without_unsigned(self)


@dataclass(frozen=True)
class TflmSource:
    """``--format tflm``: the validated .tflite as a C array; its validation is the .tflite's."""

    header: str
    validated_as: str  # the .tflite whose validation this row repeats
    signatures: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return _without_unsigned(self)


Embedded = CSourceCheck | TflmSource


def _without_unsigned(source: Embedded) -> dict[str, Any]:
    d = asdict(source)
    if source.signatures is None:
        del d["signatures"]
    else:
        d["signatures"] = list(source.signatures)
    return d


def _embedded_from_dict(extra: Mapping[str, Any] | None) -> Embedded | None:
    if not extra:
        return None
    cls = CSourceCheck if "exact_against" in extra else TflmSource if "validated_as" in extra else None
    if cls is None:
        return None
    row = {f.name: extra.get(f.name) for f in fields(cls)}
    if row["signatures"] is not None:
        row["signatures"] = tuple(row["signatures"])
    return cls(**row)


@dataclass(frozen=True)
class ArtifactReport:
    """Validation of one artifact against Keras (or a failed attempt to build it)."""

    artifact: str
    format: str
    mode: str
    io_dtype: str
    size_bytes: int
    size_ratio: float | None  # file bytes over the fp32 artifact's
    samples: int
    metrics: Metrics
    max_abs_diff: float
    max_scaled_diff: float | None = None  # max over samples of max |diff| / output scale (judged)
    weight_ratio: float | None = None  # stored tensor bytes over fp32's (judged by max_size_ratio)
    thresholds: Mapping[str, float | None] = field(default_factory=dict)  # as judged; {} if never judged
    failures: tuple[str, ...] = ()
    task: str = "classification"
    data: str = ""
    embedded: Embedded | None = None  # ``extra`` in the JSON
    layer_report: dict | None = None  # export.steering.layer_report (issue 11), when asked for
    recipe: dict | None = None  # the --keep-float/--target-agreement recipe, when asked for

    @property
    def ok(self) -> bool:
        return not self.failures

    # the metrics by name, as the JSON has them (None where the task has no such metric)
    def _metric(self, name: str) -> float | None:
        return getattr(self.metrics, name, None)

    accuracy = property(lambda self: self._metric("accuracy"))
    keras_accuracy = property(lambda self: self._metric("keras_accuracy"))
    accuracy_drop_points = property(lambda self: self._metric("accuracy_drop_points"))
    agreement = property(lambda self: self._metric("agreement"))
    max_rel_diff = property(lambda self: self._metric("max_rel_diff"))
    mae = property(lambda self: self._metric("mae"))
    keras_mae = property(lambda self: self._metric("keras_mae"))

    def to_dict(self) -> dict[str, Any]:
        """The ``export_report.json`` row (keys in the order of schema 2)."""
        return {
            "artifact": self.artifact,
            "format": self.format,
            "mode": self.mode,
            "io_dtype": self.io_dtype,
            "size_bytes": self.size_bytes,
            "size_ratio": self.size_ratio,
            "samples": self.samples,
            **{f.name: self._metric(f.name) for f in fields(ClassificationMetrics)},
            "max_abs_diff": self.max_abs_diff,
            "thresholds": dict(self.thresholds),
            "failures": list(self.failures),
            "task": self.task,
            "data": self.data,
            **{f.name: self._metric(f.name) for f in fields(RegressionMetrics)},
            "extra": self.embedded.to_dict() if self.embedded is not None else {},
            "layer_report": self.layer_report,
            "recipe": self.recipe,
            "max_scaled_diff": self.max_scaled_diff,
            "weight_ratio": self.weight_ratio,
            "ok": self.ok,
        }

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> "ArtifactReport":
        """Read an ``export_report.json`` row back (``ok`` is derived; unknown keys are ignored)."""
        task = row.get("task", "classification")
        return cls(
            artifact=row["artifact"], format=row["format"], mode=row["mode"], io_dtype=row["io_dtype"],
            size_bytes=row["size_bytes"], size_ratio=row.get("size_ratio"), samples=row["samples"],
            metrics=metrics_for(task, row), max_abs_diff=row["max_abs_diff"],
            max_scaled_diff=row.get("max_scaled_diff"), weight_ratio=row.get("weight_ratio"),
            thresholds=dict(row.get("thresholds") or {}), failures=tuple(row.get("failures") or ()), task=task,
            data=row.get("data", ""), embedded=_embedded_from_dict(row.get("extra")),
            layer_report=row.get("layer_report"), recipe=row.get("recipe"),
        )
