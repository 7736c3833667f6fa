"""The Keras baselines: run ``benchmarks._keras_worker`` in a dedicated subprocess.

TensorFlow is imported only in that child, never in the benchmark process.
"""
from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from . import coldstart
from .analysis import KERAS_CALL, KERAS_PREDICT, answers, quality, quality_fields
from .errors import BenchmarkError
from .inputs import KERAS_FILE
from .timing import MeasureSettings

WORKER_TIMEOUT_S = 1800.0
# the worker's progress lines: start, test-set outputs, then predict and call per batch size
KERAS_KINDS = (
    ("keras_predict", KERAS_PREDICT, "model.predict(x, batch_size=N, verbose=0)"),
    ("keras_call", KERAS_CALL, "model(x, training=False).numpy()"),
)


def worker_steps(n_batch_sizes: int) -> int:
    """Progress steps of one worker run: its start, test-set outputs, then each kind per batch size."""
    return 2 + len(KERAS_KINDS) * n_batch_sizes


def run_keras_worker(
    keras_path: Path,
    images: np.ndarray,
    labels: np.ndarray,
    batch_sizes: Sequence[int],
    threads: int,
    pixel_scale: float,
    settings: MeasureSettings,
    step: Callable[[str], None],
    task: str = "classification",
) -> tuple[dict[str, Any], list[tuple[np.ndarray, np.ndarray, str]] | None]:
    """Run ``benchmarks._keras_worker``; return its result and the Dense layers it read.

    The result carries the quality of Keras's outputs against ``labels`` as ``task`` scores it
    (``analysis.quality``: accuracy, correct, samples; or mae, samples).
    ``step`` is called with each progress line the worker reports. Raises BenchmarkError
    if the worker fails or times out; the worker is killed on any interrupt.
    """
    with tempfile.TemporaryDirectory(prefix="edgeport-bench-") as tmp:
        tmp_path = Path(tmp)
        np.savez(tmp_path / "data.npz", images=images)
        config = {
            "model": str(keras_path),
            "data": str(tmp_path / "data.npz"),
            "batch_sizes": list(batch_sizes),
            "threads": threads,
            "pixel_scale": pixel_scale,
            "settings": settings.to_dict(),
            "output": str(tmp_path / "result.json"),
            "weights_output": str(tmp_path / "weights.npz"),
            "outputs_output": str(tmp_path / "outputs.npy"),
        }
        (tmp_path / "config.json").write_text(json.dumps(config))
        _run_worker(tmp_path / "config.json", threads, step)
        result = json.loads((tmp_path / "result.json").read_text())
        with np.load(tmp_path / "weights.npz") as w:
            weights = {k: w[k] for k in w.files}
        outputs = np.load(tmp_path / "outputs.npy", allow_pickle=False)
    result.update(quality(answers(outputs, task), labels, task))
    return result, _dense_layers(result["layers"], weights)


def _run_worker(config_path: Path, threads: int, step: Callable[[str], None]) -> None:
    """Start the worker, relay its progress lines to ``step``, wait; BenchmarkError on failure."""
    from ._keras_worker import PROGRESS_PREFIX

    root = Path(__file__).resolve().parent.parent
    env = coldstart.child_env("keras", threads)
    env["OMP_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._keras_worker", str(config_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )
    tail: collections.deque[str] = collections.deque(maxlen=20)

    def relay() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith(PROGRESS_PREFIX):
                step("Keras " + line[len(PROGRESS_PREFIX):].strip().rstrip(". "))
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


def _dense_layers(
    described: list[dict[str, Any]], weights: dict[str, np.ndarray]
) -> list[tuple[np.ndarray, np.ndarray, str]] | None:
    """(kernel, bias, activation) per layer if the model is a stack of Dense layers, else None."""
    layers = []
    for i, layer in enumerate(described):
        if layer["class"] != "Dense" or len(layer["shapes"]) != 2:
            return None
        layers.append((weights[f"w{i}_0"], weights[f"w{i}_1"], layer["activation"]))
    return layers


def keras_entries(info: dict[str, Any], keras_path: Path, item: str) -> list[dict[str, Any]]:
    """The report's subject entries for Keras predict and call, from the worker's result."""
    size = keras_path.stat().st_size
    return [
        {
            "id": sid, "kind": kind, "artifact": KERAS_FILE, "backend": "keras/tensorflow",
            "input": f"float32 (N, {item})",
            "thread_settings": info["thread_settings"],
            "size_bytes": size,
            **quality_fields(info),
            "info": {"call": call, "load": info["load"], "process": "dedicated subprocess"},
            "batches": info["measurements"][kind],
        }
        for kind, sid, call in KERAS_KINDS
    ]
