"""``python -m benchmarks.mcu [--core m0,m4,...] [--inputs N] MODEL.tflite...``: the MCU table alone.

Each .tflite's generated C (beside it, else generated into a temporary folder) runs on the QEMU
board of each core with N seeded random inputs of the model's own input size, and is compared with
the tflite-micro interpreter on them. Prints the Markdown table; exit 2 on bad arguments.
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import BenchmarkError, UsageError
from .boards import DEFAULT_CORE, parse_cores
from .table import mcu_markdown, mcu_table


def _input_size(tflite: Path) -> int:
    """Elements of one input row, from the generated header (generating the C when needed)."""
    from export.csrc import export_c
    from export.csrc.host import read_api

    stem = tflite.name[: -len(".tflite")]
    header = tflite.with_name(f"{stem}.h")
    if not (header.is_file() and header.with_suffix(".c").is_file()):
        with tempfile.TemporaryDirectory(prefix="edgeport-mcu-size-") as tmp:
            return read_api(export_c(tflite, tmp, base_name=stem)[1])["INPUT_SIZE"]
    return read_api(header)["INPUT_SIZE"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mcu", description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, help=".tflite files")
    parser.add_argument("--core", default=DEFAULT_CORE, help="comma-separated cores (default: m4)")
    parser.add_argument("--inputs", type=int, default=3, help="random inputs per model (default: 3)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    from export.errors import ConversionError

    try:
        cores = [b.core for b in parse_cores(args.core)]
        if args.inputs < 1:
            raise UsageError(f"--inputs: expected a positive integer, got {args.inputs}")
        for path in args.models:
            if path.suffix != ".tflite" or not path.is_file():
                raise UsageError(f"{path}: expected a .tflite file")
        rows = []
        for path in args.models:
            rng = np.random.default_rng(0)
            images = rng.integers(0, 256, size=(args.inputs, _input_size(path)), dtype=np.uint8)
            rows += mcu_table([path], images=images, cores=cores)
    except (UsageError, ConversionError, OSError) as e:  # bad arguments, or a model the C generator refuses
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except BenchmarkError as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    print(mcu_markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
