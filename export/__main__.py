"""``python -m export --format onnx|tflite|all [--quantize ...] [--data x.npz]``."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from runtime.cli import run_cli
from runtime.console import quiet_console

from .errors import ReportedError
from .litert import IO_DTYPES
from .onnx import DEFAULT_OPSET
from .pipeline import (
    ALL_MODES,
    AUTO_MODE,
    DEFAULT_CALIBRATION_SAMPLES,
    DEFAULT_IO_DTYPE,
    FORMAT_CHOICES,
    SEED_MAX,
    run_export,
)
from .reference import AUTO
from .report import REPORT_NAME
from .task import TASKS
from .validate import THRESHOLD_KEYS, format_table, parse_threshold_overrides

DATA_HELP = (
    "Data: --data PATH.npz (x_test; optional y_test, x_calibration, x_train, class_names), else "
    "Fashion-MNIST from --data-dir or $FASHION_MNIST_DIR, else random inputs from the input domain "
    "(fp32, float16 and dynamic only; nothing is downloaded). Exit codes: 0 ok, 1 an artifact failed "
    "validation, 2 bad arguments or input, 130/143 interrupted."
)


def _int_in(name: str, low: int, high: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"{name}: expected an integer, got {text!r}") from e
        if value < low or (high is not None and value > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"{name}: expected an integer in {bound}, got {value}")
        return value

    return parse


def _pixel_scale(text: str) -> float | str | None:
    if text in ("none", AUTO):
        return None if text == "none" else AUTO
    try:
        value = float(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"--pixel-scale: expected a number, 'auto' or 'none', got {text!r}") from e
    if not (0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"--pixel-scale: expected a finite number > 0, got {text!r}")
    return value
def _formats(text: str) -> str:
    """``--format``: one format or a comma-separated list of them, each from the closed set."""
    for name in text.split(","):
        if name.strip() not in FORMAT_CHOICES:
            choices = ", ".join(repr(c) for c in FORMAT_CHOICES)
            raise argparse.ArgumentTypeError(f"invalid choice: {name.strip()!r} (choose from {choices}, or a "
                                             f"comma-separated list)")
    return text


from .steering import Steering, format_steering


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default once: not when the help already names it, nor when there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if "(default:" in text or default is None or isinstance(default, bool) or default in ([], argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m export",
        description="Convert a model (.keras, .h5, SavedModel or .tflite) to ONNX, TFLite or C, quantize it, "
        "and validate every artifact against the source model through the runtime.",
        epilog=DATA_HELP,
        formatter_class=_HelpFormatter,
    )
    p.add_argument(
        "--format", default="all", metavar="FORMATS", type=_formats,
        help=f"comma-separated formats from {list(FORMAT_CHOICES)} ('all' = onnx,tflite)",
    )
    p.add_argument(
        "--quantize", default=AUTO_MODE, metavar="MODES",
        help=f"comma-separated modes from {list(ALL_MODES)}, or 'all' (none = fp32); 'auto' = none, or a "
        ".tflite's own mode",
    )
    p.add_argument(
        "--model", type=Path, default=Path("artifacts/model.keras"),
        help="source model: .keras, Keras 2 .h5, a TF SavedModel folder, or a .tflite (taken as it is)",
    )
    p.add_argument("--output", type=Path, default=None, help="output folder (default: the model's folder)")
    p.add_argument("--data", type=Path, default=None, help="your validation/calibration data, a .npz")
    p.add_argument("--data-dir", default=None, help="Fashion-MNIST folder (default: $FASHION_MNIST_DIR)")
    p.add_argument("--task", choices=TASKS, default=None, help="override the task read from the output layer")
    p.add_argument(
        "--pixel-scale", type=_pixel_scale, default=AUTO,
        help="uint8 data are raw pixels that the model sees times this scale (1 if the model rescales "
        "inside); 'auto' = 1/255 for uint8 data; 'none' = float features",
    )
    p.add_argument("--class-names", type=Path, default=None, metavar="FILE", help="one class name per line")
    p.add_argument("--opset", type=_int_in("--opset", 1), default=DEFAULT_OPSET, help="ONNX opset")
    p.add_argument(
        "--io-dtype", default=DEFAULT_IO_DTYPE, choices=IO_DTYPES,
        help="input/output type of calibrated TFLite: int8 (uint8: raw pixels feed in directly); "
        "int16x8 allows float32 or int16 (any integer choice gives int16)",
    )
    p.add_argument(
        "--calibration-samples", type=_int_in("--calibration-samples", 1), default=DEFAULT_CALIBRATION_SAMPLES,
        help="training samples used to calibrate int8",
    )
    p.add_argument("--seed", type=_int_in("--seed", 0, SEED_MAX), default=0, help="seed for calibration draws")
    p.add_argument(
        "--threshold", action="append", default=[], metavar="MODE.KEY=VALUE",
        help=f"override a validation threshold, e.g. int8.min_agreement=0.98 (keys: {', '.join(THRESHOLD_KEYS)})",
    )
    p.add_argument(
        "--c-prefix", default="edgeport_model", metavar="NAME",
        help="prefix of the C API names for --format c/tflm: an ASCII letter, then letters and digits "
        "in parts joined by single '_'",
    )
    p.add_argument(
        "--sign-key", type=Path, default=None, metavar="KEY.pem",
        help="sign every artifact with this Ed25519 private key (openssl genpkey -algorithm ed25519)",
    )
    _add_steering_arguments(p)
    p.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    p.add_argument(
        "-v", "--verbose", action="store_true",
        help="also show TensorFlow's own log lines and third-party warnings (hidden by default)",
    )
    return p


def _add_steering_arguments(p: argparse.ArgumentParser) -> None:
    """Options that steer quantization (see export/steering/mixed_precision.py for which variants allow what)."""
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


_STOPPED = "; temporary files removed, existing artifacts untouched"
_SIGNAL_WORDS = {"interrupted": "interrupted" + _STOPPED, "terminated": "terminated" + _STOPPED}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("export").setLevel(logging.WARNING if args.quiet else logging.INFO)

    def body(received: list[int]) -> int:
        try:
            reports = _run(args)
        except ReportedError as e:  # the table of what was built comes before the error line
            if not received:
                _print_reports(e.reports)
            raise
        out = args.output or args.model.parent
        _print_reports(reports)
        print(f"\nvalidated on: {', '.join(sorted({r.data for r in reports}))}")
        print(f"report: {out / (REPORT_NAME + '.json')}")
        return 0

    # Ctrl-C and SIGTERM both unwind through every ``finally`` (temporary files go).
    return run_cli(body, **_SIGNAL_WORDS)


def _run(args: argparse.Namespace) -> list:
    steering = Steering.parse(args.keep_float, args.layer_report, args.target_agreement, args.max_size_ratio)
    with quiet_console(args.verbose):  # before TensorFlow is first imported
        return run_export(
            args.model,
            fmt=args.format,
            quantize=args.quantize,
            output_dir=args.output,
            data=args.data,
            data_dir=args.data_dir,
            task=args.task,
            pixel_scale=args.pixel_scale,
            class_names=args.class_names,
            opset=args.opset,
            io_dtype=args.io_dtype,
            calibration_samples=args.calibration_samples,
            seed=args.seed,
            thresholds=parse_threshold_overrides(args.threshold),
            sign_key=args.sign_key,
            steering=steering,
            c_prefix=args.c_prefix,
        )


def _print_reports(reports) -> None:
    print(format_table(reports))
    sections = format_steering(reports)
    if sections:
        print("\n" + sections)


if __name__ == "__main__":
    sys.exit(main())
