"""``run_benchmarks``: measure every artifact and baseline, return (and write) the report."""
from __future__ import annotations

import collections
import datetime as _dt
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

import runtime

from . import coldstart, preflight, report, subjects, threadcheck
from .environment import collect_environment
from .errors import CREATE_HINT, ArtifactsNotFoundError, BenchmarkError, UsageError
from .timing import FULL, QUICK, MeasureSettings, Measurement, measure_interleaved

log = logging.getLogger("benchmarks")

SCHEMA_VERSION = 1
DEFAULT_BATCH_SIZES = (1, 32, 256)
KERAS_FILE = "model.keras"
DATA_ENV_VAR = "FASHION_MNIST_DIR"
# the shared data folder next to the checkout, as the project's tests use it
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-mnist"
KERAS_PREDICT, KERAS_CALL, NUMPY_REF = "keras:predict", "keras:call", "numpy:reference"
FULL_ROUNDS, FULL_COLD_REPEATS = 10, 3
QUICK_ROUNDS, QUICK_COLD_REPEATS = 1, 1
WORKER_TIMEOUT_S = 1800.0

TARGET_WRAPPER_OVERHEAD_PCT = 25.0
TARGET_SPEEDUP_VS_PREDICT = 1000.0
TARGET_SPEEDUP_VS_CALL = 50.0
TARGET_COLD_START_RATIO = 1 / 10
TARGET_RSS_RATIO = 1 / 8


# --- inputs -----------------------------------------------------------------


def parse_batch_sizes(text: str | Iterable[int]) -> tuple[int, ...]:
    """``"1,32,256"`` (or ints) -> sorted unique positive batch sizes, always including 1."""
    if isinstance(text, str):
        items = [t.strip() for t in text.split(",")]
        if not text.strip() or any(not t for t in items):
            raise UsageError(f"--batch-sizes {text!r}: expected comma-separated positive integers, e.g. 1,32,256")
        try:
            sizes = [int(t) for t in items]
        except ValueError as e:
            raise UsageError(
                f"--batch-sizes {text!r}: expected comma-separated positive integers, e.g. 1,32,256"
            ) from e
    else:
        sizes = list(text)
    bad = [s for s in sizes if isinstance(s, bool) or not isinstance(s, int) or s < 1]
    if bad or not sizes:
        raise UsageError(f"--batch-sizes: every batch size must be a positive integer, got {sizes!r}")
    return tuple(sorted(set(sizes) | {1}))


def check_threads(threads: object) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise UsageError(f"--threads must be a positive integer, got {threads!r}")
    return threads


def find_artifacts(model_dir: Path) -> list[Path]:
    """Every .onnx/.tflite file in ``model_dir``: ONNX first, fp32 before its variants.

    Dotfiles (an export's ``.tmp-*`` leftovers) are never artifacts.
    """
    if not model_dir.is_dir():
        raise ArtifactsNotFoundError(f"{model_dir}: model directory not found; {CREATE_HINT}")
    found = [
        p for p in model_dir.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in runtime.SUFFIX_BACKENDS
    ]
    if not found:
        raise ArtifactsNotFoundError(
            f"{model_dir}: no .onnx or .tflite artifacts in this directory; {CREATE_HINT}"
        )
    return sorted(found, key=lambda p: (p.suffix.lower(), p.name.count("."), p.name))


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """--data-dir, else $FASHION_MNIST_DIR, else the shared folder next to the checkout."""
    if data_dir:
        return Path(data_dir)
    if os.environ.get(DATA_ENV_VAR):
        return Path(os.environ[DATA_ENV_VAR])
    if DEFAULT_DATA_DIR.is_dir():
        return DEFAULT_DATA_DIR
    raise UsageError(f"no Fashion-MNIST data folder: pass --data-dir DIR or set {DATA_ENV_VAR}")


def load_test_set(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    from train.data import DataError, load_split  # numpy-only module, no TensorFlow

    try:
        return load_split("test", data_dir)
    except DataError as e:
        raise UsageError(str(e)) from e


# --- progress ---------------------------------------------------------------


class _Progress:
    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0

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
    settings: MeasureSettings | None = None,
    cold_start_repeats: int | None = None,
    allow_source_mismatch: bool = False,
    mcu: bool = False,
) -> dict[str, Any]:
    """Benchmark every artifact in ``model_dir`` and the baselines; return the report dict.

    Writes ``benchmark.json``, ``benchmark.md`` and ``latency.png`` into ``output_dir``
    (skipped if it is None). Raises UsageError for bad arguments or missing inputs,
    SourceMismatchError if ``model.keras`` is not the artifacts' source (unless
    ``allow_source_mismatch``: then the report carries a warning), and BenchmarkError
    if a measuring subprocess fails. ``mcu=True`` adds the Cortex-M4F table
    (``result["mcu"]``, see ``benchmarks.mcu.table``).
    """
    started = time.perf_counter()
    threads = check_threads(threads)
    batch_sizes = parse_batch_sizes(batch_sizes)
    if output_dir is not None:
        preflight.check_output_dir(output_dir)
    model_dir = Path(model_dir)
    artifacts = find_artifacts(model_dir)
    keras_path = model_dir / KERAS_FILE
    has_keras = keras_path.is_file()
    provenance = preflight.check_sources(
        artifacts, keras_path if has_keras else None, allow_mismatch=allow_source_mismatch
    )
    data_path = resolve_data_dir(data_dir)
    images, labels = load_test_set(data_path)
    images = preflight.shape_test_images(images, provenance)
    item = ", ".join(map(str, images.shape[1:]))  # for the report's input descriptions
    if batch_sizes[-1] > len(images):
        raise UsageError(f"--batch-sizes: {batch_sizes[-1]} exceeds the {len(images)} test images")
    settings = settings or (QUICK if quick else FULL)
    rounds = QUICK_ROUNDS if quick else FULL_ROUNDS
    repeats = cold_start_repeats or (QUICK_COLD_REPEATS if quick else FULL_COLD_REPEATS)
    if not has_keras:
        log.warning("%s not found: the Keras and NumPy baselines are skipped", keras_path)

    n_art, n_bs = len(artifacts), len(batch_sizes)
    # per artifact: accuracy, one step per batch size, cold start; Keras: worker start,
    # accuracy, predict and call per batch size, cold starts; NumPy: accuracy, batch sizes
    progress = _Progress(
        n_art * (2 + n_bs) + (2 + 2 * n_bs + 2 + 1 + n_bs if has_keras else 0)
    )
    environment = collect_environment(threads)
    log.info(
        "benchmarking %d artifacts in %s, threads=%d, batch sizes %s, %s mode",
        n_art, model_dir, threads, ",".join(map(str, batch_sizes)), "quick" if quick else "full",
    )

    artifact_rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    entries: list[dict[str, Any]] = []
    pixel_scale: float | None = None
    for path in artifacts:
        try:
            rt = subjects.runtime_subject(path, threads)
        except (runtime.ModelFileError, runtime.BackendUnavailableError) as e:
            log.warning("skipping %s: %s", path.name, e)
            skipped.append({"file": path.name, "reason": str(e)})
            progress.total -= 2 + n_bs
            continue
        pixel_scale = float(rt.info["pixel_scale"])
        bare = subjects.bare_subject(path, threads, pixel_scale)
        progress.step(f"{path.name} accuracy on {len(images)} test images")
        acc = _accuracy(rt.predict_labels(images), labels)
        bare_acc = _accuracy(bare.predict_labels(images), labels)
        size = path.stat().st_size
        artifact_rows.append({
            "file": path.name,
            "format": rt.info["format"],
            "backend": rt.backend,
            "precision": rt.info["precision"],
            "io_dtype": rt.info["io_dtype"],
            "size_bytes": size,
            **acc,
            "bare_accuracy": bare_acc["accuracy"],
        })
        measured: dict[str, list[Measurement]] = {rt.id: [], bare.id: [], "pixels": []}
        for bs in batch_sizes:
            what = "runtime, bare" + (", runtime on raw pixels" if rt.prepare_pixels else "")
            progress.step(f"{path.name} batch {bs} ({what}; {rounds} round(s))")
            batch = images[:bs]
            calls = [rt.prepare(batch), bare.prepare(batch)]
            if rt.prepare_pixels is not None:
                calls.append(rt.prepare_pixels(batch))
            ms = measure_interleaved(calls, settings, bs, rounds)
            measured[rt.id].append(ms[0])
            measured[bare.id].append(ms[1])
            measured["pixels"].extend(ms[2:])
        bare_acc_row = {**acc, "accuracy": bare_acc["accuracy"], "correct": bare_acc["correct"]}
        for s, a in ((rt, acc), (bare, bare_acc_row)):
            entries.append(_entry(s, measured[s.id], a, size, {k: v for k, v in s.info.items() if k != "model"}))
        entries[-2]["raw_pixel_input"] = None if not measured["pixels"] else {
            "input": f"uint8 raw pixels (N, {item}): the runtime scales them inside the timed call",
            "batches": [m.to_dict() for m in measured["pixels"]],
        }
        del rt, bare
    if not artifact_rows:
        raise ArtifactsNotFoundError(f"{model_dir}: no loadable edgeport artifacts; {CREATE_HINT}")
    assert pixel_scale is not None

    keras_info: dict[str, Any] | None = None
    if has_keras:
        progress.step(f"Keras baselines in a subprocess ({KERAS_FILE}: accuracy, predict and call)")
        keras_info, layers = run_keras_worker(
            keras_path, images, labels, batch_sizes, threads, pixel_scale, settings, progress
        )
        keras_size = keras_path.stat().st_size
        for kind, sid, call in (
            ("keras_predict", KERAS_PREDICT, "model.predict(x, batch_size=N, verbose=0)"),
            ("keras_call", KERAS_CALL, "model(x, training=False).numpy()"),
        ):
            entries.append({
                "id": sid, "kind": kind, "artifact": KERAS_FILE, "backend": "keras/tensorflow",
                "input": f"float32 [0, 1] (N, {item})",
                "thread_settings": keras_info["thread_settings"],
                "size_bytes": keras_size,
                "accuracy": keras_info["accuracy"], "correct": keras_info["correct"],
                "samples": keras_info["samples"],
                "info": {"call": call, "load": keras_info["load"], "process": "dedicated subprocess"},
                "batches": keras_info["measurements"][kind],
            })
        numpy_entry = _numpy_entry(layers, images, labels, batch_sizes, threads, pixel_scale, settings, progress)
        if numpy_entry is not None:
            entries.append(numpy_entry)

    cold = []
    for row in artifact_rows:
        progress.step(f"cold start {row['file']} (runtime, {repeats} fresh process(es))")
        c = coldstart.cold_start(
            "runtime", model_dir / row["file"], threads=threads, image=images[0],
            pixel_scale=pixel_scale, repeats=repeats,
        )
        cold.append({"subject": f"runtime:{row['file']}", **c})
    if has_keras:
        for kind, sid in (("keras_predict", KERAS_PREDICT), ("keras_call", KERAS_CALL)):
            progress.step(f"cold start Keras {kind.split('_')[1]} ({repeats} fresh process(es))")
            c = coldstart.cold_start(
                kind, keras_path, threads=threads, image=images[0], pixel_scale=pixel_scale, repeats=repeats
            )
            cold.append({"subject": sid, **c})

    progress.total += 1
    progress.step("default threads vs explicit num_threads, batch 1 and 256 (alternating rounds)")
    thread_defaults = threadcheck.measure_thread_defaults(
        [model_dir / row["file"] for row in artifact_rows], images,
        rounds=3 if quick else 7, budget_s=0.01 if quick else 0.05,
    )

    ratios = _add_ratios(entries, batch_sizes)
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
    result: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": "python -m benchmarks",
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "config": {
            "model_dir": str(model_dir),
            "output_dir": None if output_dir is None else str(output_dir),
            "data_dir": str(data_path),
            "threads": threads,
            "batch_sizes": list(batch_sizes),
            "quick": quick,
            "allow_source_mismatch": allow_source_mismatch,
        },
        "provenance": provenance,
        "measurement": {
            "mode": "quick" if quick else "full",
            **settings.to_dict(),
            "rounds": rounds,
            "rounds_note": "runtime and bare calls of an artifact are measured in alternating rounds, "
            "each with its own warm-up and 1/rounds of the time and run budget",
            "timer": "time.perf_counter_ns around each call",
            "stop_rule": "run until both min_time_s and min_runs are reached, or max_time_s",
            "gc_disabled_during_timing": True,
            "input": "the first N images of the test set for batch size N (same images for every subject)",
            "test_samples": int(len(images)),
            "cold_start_repeats": repeats,
        },
        "environment": environment,
        "artifacts": artifact_rows,
        "skipped_artifacts": skipped,
        "subjects": entries,
        "ratios": ratios,
        "cold_start": cold,
        "thread_defaults": thread_defaults,
        "keras": None if keras_info is None else {
            k: keras_info[k] for k in ("keras_version", "tensorflow_version", "keras_backend", "layers", "load")
        },
    }
    if mcu:  # opt-in: generated C on QEMU's Cortex-M4F (benchmarks/mcu)
        from .mcu.table import mcu_table
        result["mcu"] = mcu_table([model_dir], images=images[:20])
    result["targets"] = compute_targets(result)
    result["wall_time_s"] = time.perf_counter() - started
    if output_dir is not None:
        result["outputs"] = report.write_outputs(result, Path(output_dir))
    return result


def _accuracy(pred: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    correct = int((np.asarray(pred) == labels).sum())
    return {"accuracy": correct / len(labels), "correct": correct, "samples": int(len(labels))}


def _entry(
    s: subjects.Subject, ms: list[Measurement], acc: dict[str, Any], size: int | None, info: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": s.id,
        "kind": s.kind,
        "artifact": s.artifact,
        "backend": s.backend,
        "input": s.input,
        "thread_settings": s.thread_settings,
        "size_bytes": size,
        "accuracy": acc["accuracy"],
        "correct": acc["correct"],
        "samples": acc["samples"],
        "info": info,
        "batches": [m.to_dict() for m in ms],
    }


def _numpy_entry(
    layers: list[tuple[np.ndarray, np.ndarray, str]] | None,
    images: np.ndarray,
    labels: np.ndarray,
    batch_sizes: Sequence[int],
    threads: int,
    pixel_scale: float,
    settings: MeasureSettings,
    progress: _Progress,
) -> dict[str, Any] | None:
    if not layers:
        log.warning("the Keras model is not a stack of Dense layers: NumPy reference skipped")
        progress.total -= 1 + len(batch_sizes)
        return None
    try:
        s = subjects.numpy_subject(layers, threads, pixel_scale)
    except ValueError as e:
        log.warning("NumPy reference skipped: %s", e)
        progress.total -= 1 + len(batch_sizes)
        return None
    progress.step("numpy reference accuracy")
    acc = _accuracy(s.predict_labels(images), labels)
    ms = []
    for bs in batch_sizes:
        progress.step(f"{s.id} batch {bs}")
        with s.context():
            ms.extend(measure_interleaved([s.prepare(images[:bs])], settings, bs, 1))
    return _entry(s, ms, acc, s.info["size_bytes"], s.info)


# --- the Keras subprocess ---------------------------------------------------


def run_keras_worker(
    keras_path: Path,
    images: np.ndarray,
    labels: np.ndarray,
    batch_sizes: Sequence[int],
    threads: int,
    pixel_scale: float,
    settings: MeasureSettings,
    progress: _Progress,
) -> tuple[dict[str, Any], list[tuple[np.ndarray, np.ndarray, str]] | None]:
    """Run ``benchmarks._keras_worker``; return its result and the Dense layers it read."""
    from ._keras_worker import PROGRESS_PREFIX

    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="edgeport-bench-") as tmp:
        tmp_path = Path(tmp)
        np.savez(tmp_path / "data.npz", images=images, labels=labels)
        config = {
            "model": str(keras_path),
            "data": str(tmp_path / "data.npz"),
            "batch_sizes": list(batch_sizes),
            "threads": threads,
            "pixel_scale": pixel_scale,
            "settings": settings.to_dict(),
            "output": str(tmp_path / "result.json"),
            "weights_output": str(tmp_path / "weights.npz"),
        }
        (tmp_path / "config.json").write_text(json.dumps(config))
        env = coldstart.child_env("keras", threads)
        env["OMP_NUM_THREADS"] = str(threads)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._keras_worker", str(tmp_path / "config.json")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        )
        tail: collections.deque[str] = collections.deque(maxlen=20)

        def relay() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                if line.startswith(PROGRESS_PREFIX):
                    progress.step("Keras " + line[len(PROGRESS_PREFIX):].strip().rstrip(". "))
                else:
                    tail.append(line.rstrip())

        reader = threading.Thread(target=relay, daemon=True)
        reader.start()
        try:
            rc = proc.wait(timeout=WORKER_TIMEOUT_S)
        except subprocess.TimeoutExpired as e:
            proc.kill()
            proc.wait()
            raise BenchmarkError(f"the Keras baseline subprocess timed out after {WORKER_TIMEOUT_S:g}s") from e
        except BaseException:  # Ctrl-C or SIGTERM: do not leave the worker running
            proc.kill()
            proc.wait()
            raise
        finally:
            reader.join(timeout=10)
        if rc != 0:
            last = next((ln for ln in reversed(tail) if ln.strip()), "(no stderr)")
            raise BenchmarkError(f"the Keras baseline subprocess failed (exit {rc}): {last}")
        result = json.loads((tmp_path / "result.json").read_text())
        with np.load(tmp_path / "weights.npz") as w:
            weights = {k: w[k] for k in w.files}
    layers: list[tuple[np.ndarray, np.ndarray, str]] | None = []
    for i, layer in enumerate(result["layers"]):
        if layer["class"] != "Dense" or len(layer["shapes"]) != 2:
            layers = None
            break
        layers.append((weights[f"w{i}_0"], weights[f"w{i}_1"], layer["activation"]))
    return result, layers


# --- ratios and targets -----------------------------------------------------


def _p50(entry: dict[str, Any], bs: int) -> float | None:
    for b in entry["batches"]:
        if b["batch_size"] == bs:
            return b["latency_ms"]["p50"]
    return None


def _batch(entry: dict[str, Any], bs: int) -> dict[str, Any]:
    return next(b for b in entry["batches"] if b["batch_size"] == bs)


def _round_ratios(runtime_b: dict[str, Any], bare_b: dict[str, Any]) -> dict[str, Any] | None:
    """Overhead computed round by round (runtime and bare ran back to back in each round):
    a noise check on the merged-p50 figure, since a disturbance then hits both alike."""
    pairs = list(zip(runtime_b.get("rounds_p50_ms") or [], bare_b.get("rounds_p50_ms") or []))
    if len(pairs) < 2:
        return None
    pct = sorted((r / b - 1.0) * 100.0 for r, b in pairs)
    return {"median": float(np.median(pct)), "min": pct[0], "max": pct[-1], "rounds": len(pct)}


def _add_ratios(entries: list[dict[str, Any]], batch_sizes: Sequence[int]) -> dict[str, Any]:
    """Speedup vs Keras predict (p50) for all, wrapper overhead vs bare for runtime subjects."""
    by_id = {e["id"]: e for e in entries}
    keras = by_id.get(KERAS_PREDICT)
    for e in entries:
        bare = by_id.get(f"bare:{e['artifact']}") if e["kind"] == "runtime" else None
        for b in e["batches"]:
            bs, p50 = b["batch_size"], b["latency_ms"]["p50"]
            k = _p50(keras, bs) if keras else None
            b["speedup_vs_keras_predict"] = k / p50 if k else None
            if e["kind"] == "runtime":
                bp = _p50(bare, bs) if bare else None
                b["wrapper_overhead_pct"] = (p50 / bp - 1.0) * 100.0 if bp else None
                b["wrapper_overhead_pct_by_round"] = _round_ratios(b, _batch(bare, bs)) if bare else None
                raw = e.get("raw_pixel_input")
                if raw:
                    rb = next(r for r in raw["batches"] if r["batch_size"] == bs)
                    rp = rb["latency_ms"]["p50"]
                    rb["speedup_vs_keras_predict"] = k / rp if k else None
                    rb["overhead_vs_bare_pct"] = (rp / bp - 1.0) * 100.0 if bp else None
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


def _target(
    tid: str, description: str, value: float | None, comparison: str, bound: float, unit: str, detail: str
) -> dict[str, Any]:
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
    text = f"p50 {_p50(e, 1) * 1000:.2f} us vs bare {_p50(bare, 1) * 1000:.2f} us"
    by_round = e["ratios"].get("wrapper_overhead_pct_by_round")
    if by_round:
        text += (
            f"; per-round median {by_round['median']:+.1f}% "
            f"(range {by_round['min']:+.1f}% .. {by_round['max']:+.1f}% over {by_round['rounds']} rounds)"
        )
    return text


def compute_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The project's performance targets, each with its measured value and met/missed."""
    entries = {e["id"]: e for e in result["subjects"]}
    runtime_entries = [e for e in result["subjects"] if e["kind"] == "runtime"]
    targets = []
    for e in runtime_entries:
        bare = entries.get(f"bare:{e['artifact']}")
        targets.append(_target(
            f"wrapper_overhead:{e['artifact']}",
            f"runtime wrapper cost at batch 1, {e['artifact']} ({e['backend']}), vs its bare call",
            e["ratios"]["wrapper_overhead_pct"], "<=", TARGET_WRAPPER_OVERHEAD_PCT, "%",
            _overhead_detail(e, bare),
        ))
    fastest = min(runtime_entries, key=lambda e: _p50(e, 1))
    f50 = _p50(fastest, 1)
    for sid, bound, what in (
        (KERAS_PREDICT, TARGET_SPEEDUP_VS_PREDICT, "Keras model.predict"),
        (KERAS_CALL, TARGET_SPEEDUP_VS_CALL, "direct Keras model(x)"),
    ):
        k = entries.get(sid)
        value = _p50(k, 1) / f50 if k else None
        targets.append(_target(
            f"speedup_vs_{sid.split(':')[1]}",
            f"fastest artifact's batch-1 p50 vs {what} p50",
            value, ">=", bound, "x",
            f"{fastest['id']} p50 {f50 * 1000:.2f} us vs {sid} p50 {_p50(k, 1):.2f} ms" if k else f"{sid} not measured",
        ))
    cold = result["cold_start"]
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
    targets.append(_target(
        "cold_start_ratio", "runtime cold start (import+load+first prediction) / Keras's",
        t_value, "<=", TARGET_COLD_START_RATIO, "ratio", t_detail,
    ))
    targets.append(_target(
        "peak_rss_ratio", "runtime cold-start peak RSS / Keras's",
        m_value, "<=", TARGET_RSS_RATIO, "ratio", m_detail,
    ))
    targets.extend(threadcheck.thread_targets(result.get("thread_defaults", [])))
    return targets
