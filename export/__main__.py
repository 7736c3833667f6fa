"""``python -m export --format onnx|tflite|all [--quantize ...]``."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

from .errors import ExportError, TargetNotReachedError, ValidationError
from .litert import IO_DTYPES
from .onnx import DEFAULT_OPSET
from .pipeline import (
    ALL_MODES,
    DEFAULT_CALIBRATION_SAMPLES,
    DEFAULT_IO_DTYPE,
    FORMAT_CHOICES,
    REPORT_NAME,
    run_export,
)
from .mixed_precision import Steering
from .steering import format_steering
from .validate import format_table, parse_threshold_overrides


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m export",
        description="Convert a Keras model to ONNX and/or TFLite, quantize it, and validate "
        "every artifact against Keras on the full test set.",
    )
    p.add_argument("--format", default="all", choices=FORMAT_CHOICES, help="target format (default: all)")
    p.add_argument(
        "--quantize", default="none", metavar="MODES",
        help=f"comma-separated modes from {list(ALL_MODES)}, or 'all' (default: none = fp32)",
    )
    p.add_argument("--model", type=Path, default=Path("artifacts/model.keras"), help="source .keras model")
    p.add_argument("--output", type=Path, default=None, help="output folder (default: the model's folder)")
    p.add_argument("--data-dir", default=None, help="Fashion-MNIST folder (default: $FASHION_MNIST_DIR)")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    p.add_argument(
        "--io-dtype", default=DEFAULT_IO_DTYPE, choices=IO_DTYPES,
        help=f"input/output type of full-int8 TFLite (default {DEFAULT_IO_DTYPE}: raw pixels in); "
        "int16x8 TFLite allows float32 or int16 (any integer choice gives int16)",
    )
    p.add_argument(
        "--calibration-samples", type=int, default=DEFAULT_CALIBRATION_SAMPLES,
        help=f"training images used to calibrate int8 (default {DEFAULT_CALIBRATION_SAMPLES})",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for drawing the calibration set (default 0)")
    p.add_argument(
        "--threshold", action="append", default=[], metavar="MODE.KEY=VALUE",
        help="override a validation threshold, e.g. int8.min_agreement=0.98 or none.max_abs_diff=1e-4 "
        "(keys: min_agreement, max_abs_diff, max_accuracy_drop, max_size_ratio)",
    )
    # issue 11: steer quantization (see export/mixed_precision.py for which variants allow what)
    p.add_argument(
        "--layer-report", action="store_true",
        help="add a per-layer error table (by Keras layer name) for every quantized artifact",
    )
    p.add_argument(
        "--keep-float", default=None, metavar="LAYER[,LAYER...]",
        help="leave these Keras layers in float (onnx dynamic/int8, tflite int8 with --io-dtype float32)",
    )
    p.add_argument(
        "--target-agreement", type=float, default=None, metavar="FRACTION",
        help="keep the worst layers in float, one at a time, until argmax agreement reaches this (e.g. 0.998)",
    )
    p.add_argument(
        "--max-size-ratio", type=float, default=None, metavar="RATIO",
        help="size limit (x fp32) for variants with float layers (default: none, the size is reported)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is first imported
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("export").setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        steering = Steering.parse(args.keep_float, args.layer_report, args.target_agreement, args.max_size_ratio)
        reports = run_export(
            args.model,
            fmt=args.format,
            quantize=args.quantize,
            output_dir=args.output,
            data_dir=args.data_dir,
            opset=args.opset,
            io_dtype=args.io_dtype,
            calibration_samples=args.calibration_samples,
            seed=args.seed,
            thresholds=parse_threshold_overrides(args.threshold),
            steering=steering,
        )
    except (ValidationError, TargetNotReachedError) as e:
        _print_reports(e.reports)
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 1
    except (ExportError, ValueError, OSError) as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2
    out = args.output or args.model.parent
    _print_reports(reports)
    print(f"\nreport: {out / (REPORT_NAME + '.json')}")
    return 0


def _print_reports(reports) -> None:
    print(format_table(reports))
    sections = format_steering(reports)
    if sections:
        print("\n" + sections)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


if __name__ == "__main__":
    sys.exit(main())
