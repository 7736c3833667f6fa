"""``python -m benchmarks [--model-dir DIR] [--data X.npz | --data-dir DIR] [--output DIR] [--threads N] [--batch-sizes 1,32,256] [--quick]
[--mcu [--core m0,m3,m4,m7,m33,m55,rv32] [--profile]]``, or ``python -m benchmarks --mcu [--core ...] [--profile]
MODEL.tflite...`` for the MCU table of any .tflite files alone."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from runtime.cli import Parser, exit_code, positive_int, run_cli
from runtime.console import filtered_stderr

from .errors import UsageError


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="python -m benchmarks",
        description="Benchmark every exported artifact through runtime against Keras, bare-backend "
        "and NumPy baselines: latency, throughput, cold start, memory, and accuracy (MAE for regression).",
    )
    p.add_argument("--model-dir", type=Path, default=Path("artifacts"),
                   help="folder with the exported artifacts and model.keras (default: artifacts/)")
    p.add_argument("--output", type=Path, default=Path("benchmarks/results"),
                   help="where benchmark.json, benchmark.md and latency.png go (default: benchmarks/results/)")
    p.add_argument("--threads", type=positive_int, default=1,
                   help="inference threads for every subject (default: 1)")
    p.add_argument("--batch-sizes", default="1,32,256",
                   help="comma-separated batch sizes; 1 is always measured (default: 1,32,256)")
    p.add_argument("--quick", action="store_true", help="tiny time budgets for CI (< 60 s)")
    p.add_argument("--allow-source-mismatch", action="store_true",
                   help="benchmark even if the artifacts were not exported from --model-dir's model.keras "
                   "(the report then carries a warning; default: refuse with exit 2)")
    p.add_argument("--mcu", action="store_true",
                   help="also cross-compile the generated C and measure it on QEMU microcontroller boards "
                   "(needs ./.ci/install-mcu-tools: the ARM and RISC-V cross compilers and QEMU)")
    p.add_argument("--core", default=None,
                   help="with --mcu: comma-separated cores, one table row per core and model "
                   "(m0, m3, m4, m7, m33, m55, rv32; default: m4)")
    p.add_argument("--profile", action="store_true",
                   help="with --mcu: also instructions per op of each int8 model on the Cortex-M4 (a profiling "
                   "build; the shipped C has no timing code)")
    p.add_argument("--data", default=None, metavar="X.npz",
                   help="the test set of any model: an .npz with x_test and y_test (integer classes for a classifier "
                   "or binary model, numeric targets for a regressor; uint8 x_test: raw "
                   "pixels, scaled by the artifacts' pixel_scale; floats: the model's inputs), as export reads it")
    p.add_argument("--data-dir", default=None,
                   help="a Fashion-MNIST folder instead of --data (default: $FASHION_MNIST_DIR)")
    p.add_argument("tflite", nargs="*", type=Path, metavar="MODEL.tflite",
                   help="with --mcu: only the MCU table, for these .tflite files (or folders of them), "
                   "each fed random inputs of its own shape and type; writes mcu.json and mcu.md to --output")
    return p


def _cores(args: argparse.Namespace) -> list[str]:
    """The --core names, checked before any work (UsageError)."""
    from .mcu.boards import DEFAULT_CORE, parse_cores

    if args.core is None:
        return [DEFAULT_CORE]
    if not args.mcu:
        raise UsageError("--core needs --mcu (it picks the cores of the MCU table)")
    return [b.core for b in parse_cores(args.core)]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 benchmark failure, 2 usage error, 130/143 interrupted)."""
    try:
        args = build_parser().parse_args(argv)
        cores = _cores(args)
        if args.profile and not args.mcu:
            raise UsageError("--profile needs --mcu")
        if args.tflite and not args.mcu:
            raise UsageError(".tflite files are measured with --mcu only (the CPU benchmark reads --model-dir)")
    except Exception as e:  # noqa: BLE001  (exit_code reports it: one line, or a bug's traceback)
        return exit_code(e)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    logging.getLogger("benchmarks").setLevel(logging.INFO)

    from .report import to_markdown
    from .runner import run_benchmarks

    def body(received: list[int]) -> int:
        if args.tflite:
            from .mcu.table import run_mcu_only

            with filtered_stderr():
                print(run_mcu_only(args.tflite, args.output, cores=cores))
                if args.profile:
                    from .mcu.profile import profile_markdown, profile_table

                    print()
                    print(profile_markdown(profile_table(args.tflite)))
            return 0
        with filtered_stderr():  # e.g. LiteRT's "Created ... XNNPACK delegate"
            result = run_benchmarks(
                args.model_dir,
                args.output,
                threads=args.threads,
                batch_sizes=args.batch_sizes,
                quick=args.quick,
                data_dir=args.data_dir,
                data=args.data,
                allow_source_mismatch=args.allow_source_mismatch,
                mcu=args.mcu,
                mcu_cores=cores,
                profile=args.profile,
            )
        print(to_markdown(result))
        logging.getLogger("benchmarks").info("wrote %s", ", ".join(result["outputs"].values()))
        return 0

    return run_cli(body)  # UsageError 2, BenchmarkError 1, interrupts 130/143


if __name__ == "__main__":
    sys.exit(main())
