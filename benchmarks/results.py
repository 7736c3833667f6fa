"""The typed result of ``run_benchmarks``: dataclasses with ``to_dict``/``from_dict``.

``to_dict`` gives the JSON written to ``benchmark.json`` (same keys, same order); optional
blocks (``quality``, ``mcu``, ``mcu_profile``, ``outputs``) appear only when they were produced.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

SCHEMA_VERSION = 1
TOOL = "python -m benchmarks"


@dataclass
class RunConfig:
    """The arguments a run was made with."""

    model_dir: str
    output_dir: str | None
    data_dir: str  # the test data's source: the .npz path, or "fashion-mnist (DIR)"
    threads: int
    batch_sizes: list[int]
    quick: bool
    allow_source_mismatch: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "RunConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in known})


_OPTIONAL = ("quality", "mcu", "mcu_profile", "outputs")


@dataclass
class BenchmarkResult:
    """One benchmark run. Subject entries, cold starts and targets stay plain JSON rows."""

    created_utc: str
    config: RunConfig
    provenance: dict[str, Any]
    measurement: dict[str, Any]
    environment: dict[str, Any]
    artifacts: list[dict[str, Any]]
    skipped_artifacts: list[dict[str, str]]
    subjects: list[dict[str, Any]]
    ratios: dict[str, Any]
    cold_start: list[dict[str, Any]]
    thread_defaults: list[dict[str, Any]]
    keras: dict[str, Any] | None
    # what the quality figures are: {"task", "metric" ("accuracy" or "mae"), "definition"}
    quality: dict[str, Any] | None = None
    mcu: dict[str, Any] | None = None
    mcu_profile: list[dict[str, Any]] | None = None
    targets: list[dict[str, Any]] = field(default_factory=list)
    wall_time_s: float = 0.0
    outputs: dict[str, str] | None = None
    schema_version: int = SCHEMA_VERSION
    tool: str = TOOL

    def to_dict(self) -> dict[str, Any]:
        """The report dict, in the order of ``benchmark.json``."""
        out: dict[str, Any] = {"schema_version": self.schema_version, "tool": self.tool}
        for f in fields(self):
            if f.name in ("schema_version", "tool"):
                continue
            value = getattr(self, f.name)
            if f.name in _OPTIONAL and value is None:
                continue
            out[f.name] = value.to_dict() if isinstance(value, RunConfig) else value
        return out

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "BenchmarkResult":
        """Read a ``benchmark.json`` dict back; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in row.items() if k in known}
        kwargs["config"] = RunConfig.from_dict(row["config"])
        return cls(**kwargs)
