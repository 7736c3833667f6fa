"""Compare ONNX static-int8 layouts, QDQ and QOperator, on size, accuracy and CPU latency.

    python -m benchmarks.quant_formats --model-dir artifacts [--data-dir DIR]

This is the measurement behind ``export.onnx.STATIC_QUANT_FORMAT`` (see docs/export.md).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

import runtime
from runtime.metadata import Quantization

from export.data import load_fashion_mnist, resolve
from export.onnx import quantize_onnx
from export.pipeline import DEFAULT_CALIBRATION_SAMPLES
from export.reference import AUTO, prepare_reference

from .timing import MeasureSettings, measure_interleaved

FORMATS = ("QDQ", "QOperator")
ROUNDS = 5


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
        settings = MeasureSettings(warmup_runs=min(runs, 200), min_time_s=0.0, min_runs=runs, max_time_s=60.0)
        calls = [lambda m=models[fmt]: m.predict_proba(x) for fmt in FORMATS]
        measured = measure_interleaved(calls, settings, batch, ROUNDS)
        for row, m in zip(rows, measured):
            row[f"p50_us_batch{batch}"] = float(np.median(m.rounds_p50_ms)) * 1000.0
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.quant_formats", description=__doc__.splitlines()[0])
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
