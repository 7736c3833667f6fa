"""Command line: ``python -m train [--arch mlp|cnn] [--epochs N] [--data-dir DIR] [--output DIR] ...``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from runtime.cli import Parser, exit_code, one_line, positive_int, run_cli
from runtime.console import quiet_console
from train.data import ENV_VAR, DataError
from train.training import ARCH_NAMES, ARCHS, SEED_MAX, OutputError, TrainingDivergedError, train


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from e
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected an integer in 0..{SEED_MAX}, got {text!r}") from e
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"expected an integer in 0..{SEED_MAX}, got {text!r}")
    return value


def _per_arch(field: str) -> str:
    """An architecture-dependent default for --help, e.g. "mlp 30, cnn 12"."""
    return ", ".join(f"{name} {getattr(d, field):g}" for name, d in ARCHS.items())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m train``; errors raise instead of exiting (see main)."""
    parser = Parser(
        prog="python -m train",
        description="Train a built-in Fashion-MNIST model: the MLP of Hands-On ML ch. 10 (default) "
        "or a small microcontroller-sized CNN.",
    )
    parser.add_argument("--arch", choices=ARCH_NAMES, default="mlp",
                        help="mlp: 784-300-100-10 MLP; cnn: <100k-parameter Conv2D/MaxPool/Dense net "
                        "(default: mlp)")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help=f"training epochs (default: {_per_arch('epochs')})")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help=f"batch size (default: {_per_arch('batch_size')})")
    parser.add_argument("--learning-rate", type=_positive_float, default=None,
                        help=f"learning rate (default: {_per_arch('learning_rate')}; optimizer: "
                        f"{', '.join(f'{n} {d.optimizer}' for n, d in ARCHS.items())})")
    parser.add_argument("--seed", type=_seed, default=42, help=f"random seed, 0..{SEED_MAX} (default: 42)")
    parser.add_argument("--limit", type=positive_int, default=None,
                        help="train on the first N training images only, for smoke tests (default: all)")
    parser.add_argument(
        "--data-dir",
        default=None,
        help=f"folder with the four IDX .gz files (default: ${ENV_VAR}, else keras.datasets download)",
    )
    parser.add_argument("--output", default="artifacts", help="output directory (default: artifacts)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only print the final summary")
    parser.add_argument(
        "-v", "--verbose", action="store_true",
        help="also show TensorFlow's own log lines and third-party warnings (hidden by default)",
    )
    return parser


def _data_source(data_dir: str | None) -> str:
    if data_dir:
        return "--data-dir: "
    return f"${ENV_VAR}: " if os.environ.get(ENV_VAR) else ""


def _in_context(e: BaseException, data_dir: str | None) -> BaseException:
    """``e``, or the same kind of error with the flag or hint the user needs in its message."""
    if isinstance(e, DataError):
        return DataError(f"{_data_source(data_dir)}{one_line(e)}")
    if isinstance(e, OutputError):
        return OutputError(f"--output: {one_line(e)}")
    if isinstance(e, TrainingDivergedError):
        return TrainingDivergedError(f"{one_line(e)} (try a smaller --learning-rate)")
    return e


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 1 failed, 2 bad input, 130/143 interrupted)."""
    try:
        args = build_parser().parse_args(argv)
    except Exception as e:  # noqa: BLE001  (exit_code reports it: one line, or a bug's traceback)
        return exit_code(e)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    def body(received: list[int]) -> int:
        try:
            with quiet_console(args.verbose):  # before TensorFlow is imported
                result = train(
                    arch=args.arch,
                    data_dir=args.data_dir,
                    epochs=args.epochs,
                    batch_size=args.batch_size,
                    learning_rate=args.learning_rate,
                    seed=args.seed,
                    output=args.output,
                    verbose=0,  # per-epoch progress goes through logging instead
                    limit=args.limit,
                )
        except Exception as e:
            in_context = _in_context(e, args.data_dir)  # the flag or hint the user needs, in the message
            if in_context is e:
                raise
            raise in_context from e
        print(f"arch:          {result.arch} ({result.parameters:,} parameters)")
        print(f"epochs:        {result.epochs} ({result.train_seconds:.0f} s of training)")
        print(f"test loss:     {result.test_loss:.4f}")
        print(f"test accuracy: {result.test_accuracy:.4f}")
        print(f"model:         {result.model_path}")
        print(f"history:       {result.history_path}")
        print(f"plot:          {result.plot_path}")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
