"""``python -m benchmarks.mcu [--profile] [--inputs N] MODEL.tflite|DIR ...``: the MCU table for any models.

Each model's generated C runs on QEMU's Cortex-M4F with N seeded random inputs of its own input
size (instructions do not depend on the data), checked against the same C built for the host;
``--profile`` adds instructions per op.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import BenchmarkError, UsageError


def _input_size(tflite: Path) -> int:
    from tflite_micro.python.tflite_micro import runtime as tflm

    shape = tflm.Interpreter.from_file(str(tflite), arena_size=1 << 22).get_input_details(0)["shape"]
    return int(np.prod(shape))


def main(argv: list[str] | None = None) -> int:
    from .profile import profile_markdown, profile_table
    from .table import _tflite_paths, mcu_markdown, mcu_row

    parser = argparse.ArgumentParser(prog="python -m benchmarks.mcu", description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", help=".tflite files, or folders holding model.int8.tflite/model.tflite")
    parser.add_argument("--inputs", type=int, default=5, help="random inputs per model (default: 5)")
    parser.add_argument("--profile", action="store_true", help="also instructions per op of the int8 models")
    args = parser.parse_args(argv)
    try:
        if args.inputs < 1:
            raise UsageError(f"--inputs {args.inputs}; expected at least 1")
        paths = _tflite_paths(args.models)
        rows = []
        with tempfile.TemporaryDirectory(prefix="edgeport-mcu-") as tmp:
            for k, path in enumerate(paths):
                rng = np.random.default_rng(k)
                raw = rng.integers(0, 256, size=(args.inputs, _input_size(path)), dtype=np.uint8)
                rows.append(mcu_row(path, raw, Path(tmp) / f"m{k}"))
        print(mcu_markdown(rows))
        if args.profile:
            print()
            print(profile_markdown(profile_table([p for p in paths if _is_int8(p)])))
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BenchmarkError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def _is_int8(path: Path) -> bool:
    from tflite_micro.python.tflite_micro import runtime as tflm

    detail = tflm.Interpreter.from_file(str(path), arena_size=1 << 22).get_input_details(0)
    return np.dtype(detail["dtype"]) in (np.int8, np.uint8)


if __name__ == "__main__":
    sys.exit(main())
