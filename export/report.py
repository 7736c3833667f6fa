"""``export_report.json`` and ``.md``: the artifacts on disk, and the attempts that failed."""
from __future__ import annotations

import datetime as _dt
import json
import logging
import math
from pathlib import Path

from runtime.files import write_text_atomic
from .errors import TargetNotReachedError, ValidationError
from .results import ArtifactReport, metrics_for
from .validate import format_table

logger = logging.getLogger(__name__)

REPORT_NAME = "export_report"
SCHEMA_VERSION = 2


def write_report(out: Path, reports: list[ArtifactReport], *, source_sha256: str) -> Path:
    """Write the report of what is installed in ``out`` now.

    Rows of earlier runs on the same source model are kept for files still on disk; a new
    row replaces one only when its artifact was installed. Failed attempts of this run are
    listed apart, so a failed re-export never marks the good file it kept as failed.
    """
    path = out / f"{REPORT_NAME}.json"
    rows: dict[str, dict] = {}
    old = _read(path)
    if old.get("source_sha256") == source_sha256:
        rows = {r["artifact"]: r for r in old.get("artifacts", []) if (out / r["artifact"]).is_file()}
    elif old:
        logger.info("previous report in %s was for another source model; starting afresh", out)
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    failed = []
    for r in reports:
        if r.ok:
            rows[r.artifact] = r.to_dict()
        else:
            failed.append({**r.to_dict(), "attempted_utc": now})
    doc = {
        "schema_version": SCHEMA_VERSION,
        "source_sha256": source_sha256,
        "artifacts": sorted(rows.values(), key=lambda r: r["artifact"]),
        "failed_attempts": failed,
    }
    write_text_atomic(path, json.dumps(_jsonable(doc), indent=2, allow_nan=False) + "\n")
    installed = [ArtifactReport.from_dict(r) for r in doc["artifacts"]]
    sources = ", ".join(sorted({r.data for r in reports})) or "n/a"
    md = ["# Export report", "", f"Validated on: {sources}.", "", "Artifacts on disk:", "", format_table(installed) if installed else "(none)"]
    if failed:
        md += ["", "Failed attempts (nothing installed):", "", format_table([ArtifactReport.from_dict(r) for r in failed])]
    from .steering import format_steering  # per-layer tables and target-search summaries

    sections = format_steering(installed + [ArtifactReport.from_dict(r) for r in failed])
    if sections:
        md += ["", sections]
    write_text_atomic(out / f"{REPORT_NAME}.md", "\n".join(md) + "\n")
    return path


def _read(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text())
        return doc if isinstance(doc, dict) and isinstance(doc.get("artifacts", []), list) else {}
    except (ValueError, OSError):
        logger.warning("ignoring unreadable previous report %s", path)
        return {}


def _jsonable(value):
    """NaN and infinities become null: the report is always valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def raise_on_failures(reports: list[ArtifactReport], steering) -> None:
    """ValidationError if any artifact failed; TargetNotReachedError if a steered search fell short."""
    failed = [r for r in reports if not r.ok]
    if failed:
        detail = "; ".join(f"{r.artifact}: {', '.join(r.failures)}" for r in failed)
        raise ValidationError(f"{len(failed)} artifact(s) failed: {detail}", reports)
    missed = [r for r in reports if r.recipe and r.recipe.get("reached") is False]
    if missed:
        detail = "; ".join(
            f"{r.artifact} reached {r.recipe['agreement']:.4%} keeping {r.recipe['kept_float'] or 'nothing'} in float"
            for r in missed
        )
        raise TargetNotReachedError(
            f"target agreement {steering.target_agreement:.4%} not reached: {detail} (best installed)", reports
        )


def failed_attempt(ref, name: str, f: str, mode: str, error: Exception) -> ArtifactReport:
    """A report row for an artifact that could not even be converted."""
    return ArtifactReport(
        artifact=name, format=f, mode=mode, io_dtype="-", size_bytes=0, size_ratio=None, samples=0,
        metrics=metrics_for(ref.facts.task, {}), max_abs_diff=float("nan"), failures=(" ".join(str(error).split()),),
        task=ref.facts.task, data=ref.data_source,
    )
