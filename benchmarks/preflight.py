"""Checks that run before any measuring: the output folder, and that the artifacts and
``model.keras`` are the same model (so Keras accuracy is not compared with another model's)."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import runtime
from runtime.files import output_dir_problem, sha256_file

from .errors import UsageError

log = logging.getLogger("benchmarks")

ALLOW_FLAG = "--allow-source-mismatch"


class SourceMismatchError(UsageError):
    """``model.keras`` is not the model the artifacts were exported from."""


class BrokenArtifactError(UsageError):
    """An artifact in the model folder cannot be loaded: truncated, corrupt or not edgeport's."""


def check_output_dir(output_dir: str | os.PathLike[str]) -> Path:
    """Refuse an output path that is a file, or that cannot be created or written; create nothing."""
    problem = output_dir_problem(output_dir)
    if problem is not None:
        raise UsageError(f"--output {output_dir}: {problem}" if str(output_dir) else f"--output {problem}")
    return Path(output_dir)


def read_metadata(artifacts: list[Path]) -> dict[str, runtime.ModelMetadata]:
    """Each artifact's metadata; BrokenArtifactError for a file the runtime refuses.

    An artifact whose engine is not installed is left out (the run skips it and says so).
    """
    found = {}
    for path in artifacts:
        try:
            found[path.name] = runtime.load(path, num_threads=1).metadata
        except runtime.BackendUnavailableError:
            continue
        except runtime.ModelFileError as e:
            raise BrokenArtifactError(
                f"{path}: broken artifact ({' '.join(str(e).split())}); re-export it or move it out of the folder"
            ) from e
    return found


def check_sources(
    artifacts: list[Path], keras_path: Path | None, *, allow_mismatch: bool = False,
    metadata: dict[str, runtime.ModelMetadata] | None = None,
) -> dict[str, Any]:
    """Compare every artifact's ``source_sha256`` with ``model.keras`` (or, without it, each other).

    Returns the provenance record of the report. A mismatch, or an artifact that records no
    source, raises SourceMismatchError unless ``allow_mismatch``; then it is logged as a
    warning and the record's ``ok`` is False (the report shows it in a warning block). An
    artifact the runtime refuses (truncated, corrupt) raises BrokenArtifactError. ``metadata``:
    the artifacts' ``read_metadata``, if already read.
    """
    metadata = read_metadata(artifacts) if metadata is None else metadata
    sources = {name: meta.source_sha256 for name, meta in metadata.items()}
    keras_sha = sha256_file(keras_path) if keras_path is not None else None
    reference = keras_sha
    if reference is None:
        recorded = sorted({s for s in sources.values() if s})
        reference = recorded[0] if len(recorded) == 1 else None
    unknown = sorted(name for name, s in sources.items() if not s)
    mismatched = sorted(name for name, s in sources.items() if s and s != reference)
    problems = []
    if mismatched:
        against = f"{keras_path.name} (sha256 {keras_sha[:12]}…)" if keras_sha else "each other"
        shown = ", ".join(f"{n} ({(sources[n] or '')[:12]}…)" for n in mismatched)
        problems.append(f"{len(mismatched)} artifact(s) were not exported from {against}: {shown}")
    if unknown:
        problems.append(f"{len(unknown)} artifact(s) record no source_sha256: {', '.join(unknown)}")
    record = {
        "ok": not problems,
        "keras_sha256": keras_sha,
        "artifact_source_sha256": sources,
        "problems": problems,
        "allowed_by_flag": bool(problems) and allow_mismatch,
        "input_shapes": {name: list(meta.input_shape) for name, meta in metadata.items()},
    }
    if problems:
        message = "; ".join(problems)
        if not allow_mismatch:
            raise SourceMismatchError(
                f"{message}; their accuracies and speedups would be compared with another model. "
                f"Re-export from the same model.keras, or pass {ALLOW_FLAG} to benchmark anyway"
            )
        log.warning("WARNING: %s (%s given: benchmarking anyway)", message, ALLOW_FLAG)
    return record
