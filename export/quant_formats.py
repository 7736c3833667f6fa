"""Compare ONNX static-int8 layouts, QDQ and QOperator, on size, accuracy and CPU latency.

    python -m export.quant_formats --model-dir artifacts [--data-dir DIR]

This is the measurement behind ``STATIC_QUANT_FORMAT`` (see README).
"""
from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np

import runtime
from runtime.metadata import Quantization

from .data import load_fashion_mnist, resolve
from .onnx import quantize_onnx
from .pipeline import DEFAULT_CALIBRATION_SAMPLES
from .reference import AUTO, prepare_reference

FORMATS = ("QDQ", "QOperator")
ROUNDS = 5


def _p50_us(fn, x: np.ndarray, runs: int) -> float:
    for _ in range(min(runs, 200)):
        fn(x)
    gc.disable()
    try:
        times = []
        for _ in range(runs):
            start = time.perf_counter_ns()
            fn(x)
            times.append(time.perf_counter_ns() - start)
    finally:
        gc.enable()
    return float(np.percentile(times, 50)) / 1000.0


def compare(model_dir: Path, data_dir: str | None = None, seed: int = 0) -> list[dict]:
    """Quantize ``model_dir/model.onnx`` both ways; return size, accuracy and p50 latencies."""
    fp32 = model_dir / "model.onnx"
    if not fp32.is_file():
        raise FileNotFoundError(f"{fp32}: not found (run `python -m export --format onnx` first)")
    data = load_fashion_mnist(data_dir) if data_dir else resolve()
    if data is None:
        raise FileNotFoundError("no data: pass --data-dir or set $FASHION_MNIST_DIR")
    ref = prepare_reference(
        model_dir / "model.keras", data, task=None, pixel_scale=AUTO, class_names=None,
        calibration_samples=DEFAULT_CALIBRATION_SAMPLES, seed=seed,
    )
    calibration = ref.calibration
    meta = ref.metadata("onnx", Quantization("int8", "float32", len(calibration), seed))
    rows, models = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in FORMATS:
            path = Path(tmp) / f"model.int8.{fmt}.onnx"
            quantize_onnx(fp32, path, mode="int8", metadata=meta, calibration=calibration, quant_format=fmt)
            models[fmt] = runtime.load(path, num_threads=1)
            rows.append({
                "format": fmt,
                "size_bytes": path.stat().st_size,
                "accuracy": float(np.mean(models[fmt].predict(data.x_test) == data.y_test)),
            })
    # Alternate the two models over several rounds and keep the median p50, so that a burst of
    # noise on a shared machine does not land on one format only.
    for batch, runs in ((1, 2000), (256, 200)):
        x = data.x_test[:batch]
        p50s = {fmt: [] for fmt in FORMATS}
        for _ in range(ROUNDS):
            for fmt in FORMATS:
                p50s[fmt].append(_p50_us(models[fmt].predict_proba, x, runs))
        for row in rows:
            row[f"p50_us_batch{batch}"] = float(np.median(p50s[row["format"]]))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m export.quant_formats", description=__doc__.splitlines()[0])
    p.add_argument("--model-dir", type=Path, default=Path("artifacts"))
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    try:
        rows = compare(args.model_dir, args.data_dir)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("| format | size (bytes) | accuracy | p50 batch 1 (us) | p50 batch 256 (us) |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['format']} | {r['size_bytes']:,} | {r['accuracy']:.4f} | "
              f"{r['p50_us_batch1']:.1f} | {r['p50_us_batch256']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
