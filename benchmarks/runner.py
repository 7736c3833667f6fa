"""``run_benchmarks``: measure every artifact and baseline, return (and write) the report.

The run is a few named phases: prepare the inputs, plan the steps, measure the artifacts,
measure the Keras and NumPy baselines, cold starts, thread defaults, then assemble the
typed result (``benchmarks.results``) with ratios and targets from ``benchmarks.analysis``.
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

import runtime

from . import coldstart, report, subjects, threadcheck
from .analysis import (
    KERAS_CALL, KERAS_PREDICT, NUMPY_REF, QUALITY_METRICS, add_ratios, compute_targets, quality, quality_fields,
    quality_info,
)
from .environment import collect_environment
from .errors import CREATE_HINT, ArtifactsNotFoundError
from .inputs import (  # re-exported: the public names the runner always had
    DATA_ENV_VAR, DEFAULT_BATCH_SIZES, KERAS_FILE, MissingScaleError, RunInputs, check_threads,
    find_artifacts, load_test_set, parse_batch_sizes, prepare_inputs,
)
from .keras_baseline import KERAS_KINDS, keras_entries, run_keras_worker, worker_steps
from .results import SCHEMA_VERSION, BenchmarkResult, RunConfig
from .timing import MeasureSettings, Measurement, measure_interleaved

__all__ = [
    "run_benchmarks", "find_artifacts", "parse_batch_sizes", "check_threads", "MissingScaleError",
    "load_test_set", "DEFAULT_BATCH_SIZES", "DATA_ENV_VAR", "KERAS_FILE",
    "KERAS_PREDICT", "KERAS_CALL", "NUMPY_REF", "SCHEMA_VERSION", "compute_targets",
]

log = logging.getLogger("benchmarks")

# --- plan and progress ------------------------------------------------------


def _plan(inp: RunInputs) -> dict[str, int]:
    """Progress steps per unit of work, counted before any of it runs."""
    n_bs = len(inp.batch_sizes)
    plan = {}
    for path in inp.artifacts:
        plan[f"measure:{path.name}"] = 1 + n_bs  # quality (accuracy or MAE), then one step per batch size
        plan[f"cold:{path.name}"] = 1
    if inp.keras_path is not None:
        plan["keras"] = worker_steps(n_bs)
        plan["numpy"] = 1 + n_bs
        for kind, _, _ in KERAS_KINDS:
            plan[f"cold:{kind}"] = 1
    plan["thread_defaults"] = 1
    return plan


class _Progress:
    """``[done/total]`` log lines; the total is the sum of the plan's remaining units."""

    def __init__(self, plan: dict[str, int]) -> None:
        self.plan, self.done = dict(plan), 0

    @property
    def total(self) -> int:
        return sum(self.plan.values())

    def drop(self, *units: str) -> None:
        """Units of the plan that will not run (an unloadable artifact, a skipped baseline)."""
        for unit in units:
            self.plan.pop(unit, None)

    def step(self, message: str) -> None:
        self.done += 1
        log.info("[%d/%d] %s ...", self.done, max(self.total, self.done), message)


# --- the run ----------------------------------------------------------------


def run_benchmarks(
    model_dir: str | os.PathLike[str] = "artifacts",
    output_dir: str | os.PathLike[str] | None = "benchmarks/results",
    *,
    threads: int = 1,
    batch_sizes: str | Sequence[int] = DEFAULT_BATCH_SIZES,
    quick: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    data: str | os.PathLike[str] | None = None,
    settings: MeasureSettings | None = None,
    cold_start_repeats: int | None = None,
    allow_source_mismatch: bool = False,
    mcu: bool = False,
    mcu_cores: Sequence[str] = ("m4",),
    profile: bool = False,
) -> dict[str, Any]:
    """Benchmark every artifact in ``model_dir`` and the baselines; return the report dict.

    Writes ``benchmark.json``, ``benchmark.md`` and ``latency.png`` into ``output_dir``
    (skipped if it is None). The test set is ``data`` (an .npz with ``x_test`` and ``y_test``),
    else Fashion-MNIST from ``data_dir`` or ``$FASHION_MNIST_DIR`` (``export.data.resolve``).
    Raises UsageError for bad arguments or missing inputs (MissingScaleError for raw uint8
    data and an artifact that records no pixel scale),
    SourceMismatchError if ``model.keras`` is not the artifacts' source (unless
    ``allow_source_mismatch``: then the report carries a warning), and BenchmarkError
    if a measuring subprocess fails. ``mcu=True`` adds the MCU table, one row per model and
    core of ``mcu_cores`` (``result["mcu"]``, see ``benchmarks.mcu.table``); ``profile=True`` with
    it adds instructions per op on the Cortex-M4 (``result["mcu_profile"]``, see
    ``benchmarks.mcu.profile``). The dict is
    ``BenchmarkResult.to_dict()``.
    """
    started = time.perf_counter()
    inp = prepare_inputs(model_dir, output_dir, threads, batch_sizes, quick, data_dir, settings,
                         cold_start_repeats, allow_source_mismatch, mcu=mcu, mcu_cores=mcu_cores, data=data)
    progress = _Progress(_plan(inp))
    environment = collect_environment(inp.threads)
    log.info(
        "benchmarking %d artifacts in %s, threads=%d, batch sizes %s, %s mode", len(inp.artifacts),
        inp.model_dir, inp.threads, ",".join(map(str, inp.batch_sizes)), "quick" if quick else "full",
    )
    rows, skipped, entries = _measure_artifacts(inp, progress)
    keras_info, keras_rows = _measure_keras(inp, progress)
    entries += keras_rows
    cold = _cold_starts(inp, rows, progress)
    # quick mode (CI): idle rows only, a few calls each; the full run adds the one-core-busy rows
    loads = ("idle",) if quick else threadcheck.LOADS
    progress.step(f"default threads vs explicit num_threads, batch 1 and 256, {' and '.join(loads)} "
                  "(alternating rounds)")
    thread_defaults = threadcheck.measure_thread_defaults(
        [inp.model_dir / row["file"] for row in rows], inp.images,
        rounds=3 if quick else 21, budget_s=0.01 if quick else 0.05, min_calls=2 if quick else 5,
        settle_calls=10 if quick else threadcheck.SETTLE_CALLS, settle_s=0.0 if quick else threadcheck.SETTLE_S,
        loads=loads,
    )
    result = _assemble(inp, output_dir, allow_source_mismatch, environment, rows, skipped, entries,
                       cold, thread_defaults, keras_info)
    if mcu:  # opt-in: generated C on QEMU's microcontroller boards (benchmarks/mcu)
        from .mcu.table import mcu_table
        result.mcu = mcu_table([inp.model_dir], images=inp.images[:20], cores=mcu_cores)
        if profile:
            from .mcu.profile import profile_table
            result.mcu_profile = profile_table([inp.model_dir])
    result.targets = compute_targets(result.subjects, result.cold_start, result.thread_defaults)
    result.wall_time_s = time.perf_counter() - started
    out = result.to_dict()
    if output_dir is not None:
        out["outputs"] = report.write_outputs(out, Path(output_dir))
    return out


# --- phases -----------------------------------------------------------------


def _measure_artifacts(
    inp: RunInputs, progress: _Progress
) -> tuple[list[dict[str, Any]], list[dict[str, str]], list[dict[str, Any]]]:
    """Quality and latency of every loadable artifact, its runtime and bare calls side by side."""
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    entries: list[dict[str, Any]] = []
    for path in inp.artifacts:
        try:
            rt = subjects.runtime_subject(path, inp.threads)
        except (runtime.ModelFileError, runtime.BackendUnavailableError) as e:
            log.warning("skipping %s: %s", path.name, e)
            skipped.append({"file": path.name, "reason": str(e)})
            progress.drop(f"measure:{path.name}", f"cold:{path.name}")
            continue
        bare = subjects.bare_subject(path, inp.threads, inp.pixel_scale, inp.images.shape[1:], inp.task)
        row, pair = _measure_artifact(inp, path, rt, bare, progress)
        rows.append(row)
        entries.extend(pair)
        del rt, bare
    if not rows:
        raise ArtifactsNotFoundError(f"{inp.model_dir}: no loadable edgeport artifacts; {CREATE_HINT}")
    return rows, skipped, entries


def _measure_artifact(
    inp: RunInputs, path: Path, rt: subjects.Subject, bare: subjects.Subject, progress: _Progress
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One artifact's report row and its runtime and bare subject entries."""
    images = inp.images
    metric = QUALITY_METRICS[inp.task]
    progress.step(f"{path.name} {metric} on {len(images)} test images")
    acc = quality(rt.predict_labels(images), inp.labels, inp.task)
    bare_acc = quality(bare.predict_labels(images), inp.labels, inp.task)
    size = path.stat().st_size
    row = {
        "file": path.name, "format": rt.info["format"], "backend": rt.backend,
        "precision": rt.info["precision"], "io_dtype": rt.info["io_dtype"], "size_bytes": size,
        **acc, f"bare_{metric}": bare_acc[metric],
    }
    measured: dict[str, list[Measurement]] = {rt.id: [], bare.id: [], "pixels": []}
    for bs in inp.batch_sizes:
        pixels = rt.prepare_pixels if inp.raw_pixels else None
        what = "runtime, bare" + (", runtime on raw pixels" if pixels else "")
        progress.step(f"{path.name} batch {bs} ({what}; {inp.rounds} round(s))")
        batch = images[:bs]
        calls = [rt.prepare(batch), bare.prepare(batch)]
        if pixels is not None:
            calls.append(pixels(batch))
        ms = measure_interleaved(calls, inp.settings, bs, inp.rounds)
        measured[rt.id].append(ms[0])
        measured[bare.id].append(ms[1])
        measured["pixels"].extend(ms[2:])
    bare_acc_row = {**acc, **bare_acc}
    rt_entry, bare_entry = (
        _entry(s, measured[s.id], a, size, {k: v for k, v in s.info.items() if k != "model"})
        for s, a in ((rt, acc), (bare, bare_acc_row))
    )
    rt_entry["raw_pixel_input"] = None if not measured["pixels"] else {
        "input": f"uint8 raw pixels (N, {inp.item}): the runtime scales them inside the timed call",
        "batches": [m.to_dict() for m in measured["pixels"]],
    }
    return row, [rt_entry, bare_entry]


def _measure_keras(
    inp: RunInputs, progress: _Progress
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Keras predict and call (in a subprocess), then the NumPy reference on Keras's weights."""
    if inp.keras_path is None:
        return None, []
    progress.step(f"Keras baselines in a subprocess ({KERAS_FILE}: {QUALITY_METRICS[inp.task]}, predict and call)")
    info, layers = run_keras_worker(
        inp.keras_path, inp.images, inp.labels, inp.batch_sizes, inp.threads, inp.data_scale,
        inp.settings, progress.step, inp.task,
    )
    entries = keras_entries(info, inp.keras_path, inp.item)
    numpy_entry = _numpy_entry(inp, layers, progress)
    if numpy_entry is not None:
        entries.append(numpy_entry)
    return info, entries


def _numpy_entry(
    inp: RunInputs, layers: list[tuple[np.ndarray, np.ndarray, str]] | None, progress: _Progress,
) -> dict[str, Any] | None:
    if not layers:
        log.warning("the Keras model is not a stack of Dense layers: NumPy reference skipped")
        progress.drop("numpy")
        return None
    try:
        s = subjects.numpy_subject(layers, inp.threads, inp.pixel_scale, inp.task)
    except ValueError as e:
        log.warning("NumPy reference skipped: %s", e)
        progress.drop("numpy")
        return None
    progress.step(f"numpy reference {QUALITY_METRICS[inp.task]}")
    acc = quality(s.predict_labels(inp.images), inp.labels, inp.task)
    ms = []
    for bs in inp.batch_sizes:
        progress.step(f"{s.id} batch {bs}")
        with s.context():
            ms.extend(measure_interleaved([s.prepare(inp.images[:bs])], inp.settings, bs, 1))
    return _entry(s, ms, acc, s.info["size_bytes"], s.info)


def _entry(
    s: subjects.Subject, ms: list[Measurement], acc: dict[str, Any], size: int | None, info: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": s.id, "kind": s.kind, "artifact": s.artifact, "backend": s.backend, "input": s.input,
        "thread_settings": s.thread_settings, "size_bytes": size,
        **quality_fields(acc),
        "info": info, "batches": [m.to_dict() for m in ms],
    }


def _cold_starts(
    inp: RunInputs, rows: list[dict[str, Any]], progress: _Progress
) -> list[dict[str, Any]]:
    """Import + load + first prediction in fresh processes: each artifact, then Keras."""
    cold = []
    common = {"threads": inp.threads, "image": inp.images[0], "pixel_scale": inp.data_scale, "repeats": inp.repeats}
    for row in rows:
        progress.step(f"cold start {row['file']} (runtime, {inp.repeats} fresh process(es))")
        c = coldstart.cold_start("runtime", inp.model_dir / row["file"], **common)
        cold.append({"subject": f"runtime:{row['file']}", **c})
    if inp.keras_path is not None:
        for kind, sid, _ in KERAS_KINDS:
            progress.step(f"cold start Keras {kind.split('_')[1]} ({inp.repeats} fresh process(es))")
            c = coldstart.cold_start(kind, inp.keras_path, **common)
            cold.append({"subject": sid, **c})
    return cold


def _assemble(
    inp: RunInputs, output_dir, allow_source_mismatch: bool, environment: dict[str, Any],
    rows: list[dict[str, Any]], skipped: list[dict[str, str]], entries: list[dict[str, Any]],
    cold: list[dict[str, Any]], thread_defaults: list[dict[str, Any]], keras_info: dict[str, Any] | None,
) -> BenchmarkResult:
    """The typed result from the measured parts (targets and wall time are filled in last)."""
    ratios = add_ratios(entries, inp.batch_sizes)
    environment["thread_settings"] = {e["id"]: e["thread_settings"] for e in entries}
    environment["onnxruntime_spinning"] = {
        "session.intra_op.allow_spinning": "0",
        "set_explicitly": True,
        "note": "set on every onnxruntime session (runtime and bare); inter-op pool is 1 thread, sequential",
    }
    try:
        environment["load_average_end"] = list(os.getloadavg())
    except OSError:
        environment["load_average_end"] = None
    return BenchmarkResult(
        created_utc=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        config=RunConfig(
            model_dir=str(inp.model_dir), output_dir=None if output_dir is None else str(output_dir),
            data_dir=inp.dataset.source, threads=inp.threads, batch_sizes=list(inp.batch_sizes),
            quick=inp.quick, allow_source_mismatch=allow_source_mismatch,
        ),
        provenance=inp.provenance,
        measurement=_measurement(inp),
        environment=environment,
        artifacts=rows,
        skipped_artifacts=skipped,
        subjects=entries,
        ratios=ratios,
        cold_start=cold,
        thread_defaults=thread_defaults,
        keras=None if keras_info is None else {
            k: keras_info[k] for k in ("keras_version", "tensorflow_version", "keras_backend", "layers", "load")
        },
        quality=quality_info(inp.task),
    )


def _measurement(inp: RunInputs) -> dict[str, Any]:
    return {
        "mode": "quick" if inp.quick else "full",
        **inp.settings.to_dict(),
        "rounds": inp.rounds,
        "rounds_note": "runtime and bare calls of an artifact are measured in alternating rounds, "
        "each with its own warm-up and 1/rounds of the time and run budget",
        "timer": "time.perf_counter_ns around each call",
        "stop_rule": "run until both min_time_s and min_runs are reached, or max_time_s",
        "gc_disabled_during_timing": True,
        "input": "the first N images of the test set for batch size N (same images for every subject)",
        "test_samples": int(len(inp.images)),
        "cold_start_repeats": inp.repeats,
    }
