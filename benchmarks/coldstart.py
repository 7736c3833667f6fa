"""Cold start in a fresh process: import time, load time, first inference, peak RSS.

Each probe is ``sys.executable -c CHILD_CODE CONFIG_JSON``; the child times its
own phases with ``time.perf_counter`` and reports one JSON line on stdout. A
runtime child imports only ``runtime`` and asserts that TensorFlow was never
imported. Peak RSS is the child's ``VmHWM`` from /proc/self/status: the child's
``ru_maxrss`` is not used because Linux carries the parent's high-water mark
across fork+exec, so it would report the (large) benchmark process instead.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BenchmarkError

KINDS = ("runtime", "keras_predict", "keras_call")
PHASES = ("import_s", "load_s", "first_inference_s", "total_s", "process_wall_s", "peak_rss_bytes")

CHILD_CODE = r"""
import json, sys, time
cfg = json.loads(sys.argv[1])
sys.path.insert(0, cfg["root"])
kind, threads = cfg["kind"], cfg["threads"]
clock = time.perf_counter
if kind == "runtime":
    t0 = clock()
    import runtime
    t_import = clock() - t0
    import numpy as np
    x = np.asarray(cfg["pixels"], dtype=cfg["dtype"]).reshape(cfg["shape"])
    t0 = clock()
    model = runtime.load(cfg["path"], num_threads=threads)
    t_load = clock() - t0
    t0 = clock()
    y = model.predict(x) if model.task == "regression" else model.predict_proba(x)  # subjects.timed_call
    t_first = clock() - t0
else:
    t0 = clock()
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    t_import = clock() - t0
    import numpy as np
    x = np.asarray(cfg["pixels"], dtype=cfg["dtype"]).reshape(cfg["shape"]).astype(np.float32)
    x *= np.float32(cfg["pixel_scale"])
    t0 = clock()
    model = keras.saving.load_model(cfg["path"], compile=False)
    t_load = clock() - t0
    t0 = clock()
    if kind == "keras_predict":
        y = model.predict(x, verbose=0)
    else:
        y = model(x, training=False).numpy()
    t_first = clock() - t0
hwm = None
try:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
except OSError:
    pass
import resource
maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
maxrss = maxrss if sys.platform == "darwin" else maxrss * 1024
result = {
    "import_s": t_import, "load_s": t_load, "first_inference_s": t_first,
    "total_s": t_import + t_load + t_first,
    "peak_rss_bytes": hwm if hwm is not None else maxrss,
    "peak_rss_source": "VmHWM" if hwm is not None else "ru_maxrss",
    "ru_maxrss_bytes": maxrss,
    "prediction": int(np.asarray(y).argmax()),
    "tensorflow_imported": "tensorflow" in sys.modules,
    "keras_imported": "keras" in sys.modules,
}
print(json.dumps(result), flush=True)
if kind == "runtime":
    assert not result["tensorflow_imported"], "runtime cold start imported tensorflow"
"""


def project_root() -> Path:
    """The folder that holds the ``runtime`` package the parent uses."""
    import runtime

    return Path(runtime.__file__).resolve().parent.parent


def child_env(kind: str, threads: int) -> dict[str, str]:
    env = dict(os.environ)
    if kind != "runtime":
        env.update({
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "TF_NUM_INTRAOP_THREADS": str(threads),
            "TF_NUM_INTEROP_THREADS": "1",
        })
    return env


def probe_once(
    kind: str, path: Path, *, threads: int, image: np.ndarray, pixel_scale: float, timeout: float = 300.0
) -> dict[str, Any]:
    """One cold start in a fresh interpreter; returns its phase times and peak RSS.

    ``image``: one input as the runtime is fed it (raw uint8 pixels or float32); Keras gets it
    times ``pixel_scale`` (1 for float inputs).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown cold start kind {kind!r}: expected one of {KINDS}")
    config = {
        "kind": kind,
        "path": str(path),
        "threads": threads,
        "root": str(project_root()),
        "pixels": np.asarray(image).ravel().tolist(),
        "dtype": np.asarray(image).dtype.name,
        "shape": [1, *image.shape],
        "pixel_scale": pixel_scale,
    }
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD_CODE, json.dumps(config)],
            capture_output=True, text=True, timeout=timeout, env=child_env(kind, threads),
        )
    except subprocess.TimeoutExpired as e:
        raise BenchmarkError(f"cold start probe {kind} {path.name} timed out after {timeout:g}s") from e
    wall = time.perf_counter() - start
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        raise BenchmarkError(
            f"cold start probe {kind} {path.name} failed (exit {proc.returncode}): {tail}"
        )
    result = json.loads(lines[-1])
    result["process_wall_s"] = wall
    return result


def cold_start(
    kind: str, path: Path, *, threads: int, image: np.ndarray, pixel_scale: float, repeats: int
) -> dict[str, Any]:
    """``repeats`` probes; each phase is summarised by its median over the probes."""
    runs = [
        probe_once(kind, path, threads=threads, image=image, pixel_scale=pixel_scale)
        for _ in range(repeats)
    ]
    summary: dict[str, Any] = {
        "kind": kind,
        "file": path.name,
        "repeats": repeats,
        "statistic": "median over repeats",
    }
    for phase in PHASES:
        summary[phase] = float(statistics.median(r[phase] for r in runs))
    summary["peak_rss_bytes"] = int(summary["peak_rss_bytes"])
    summary["peak_rss_source"] = runs[0]["peak_rss_source"]
    summary["tensorflow_imported"] = any(r["tensorflow_imported"] for r in runs)
    summary["keras_imported"] = any(r["keras_imported"] for r in runs)
    summary["runs"] = runs
    return summary
