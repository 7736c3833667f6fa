"""Command line: ``python -m train [--epochs N] [--data-dir DIR] [--output DIR] ...``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from runtime.console import quiet_console
from train.data import ENV_VAR, DataError
from train.training import OutputError, train


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from e
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from e
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m train``."""
    parser = argparse.ArgumentParser(
        prog="python -m train", description="Train the Fashion-MNIST MLP (Hands-On ML, ch. 10)."
    )
    parser.add_argument("--epochs", type=_positive_int, default=30, help="training epochs (default: 30)")
    parser.add_argument("--batch-size", type=_positive_int, default=32, help="batch size (default: 32)")
    parser.add_argument(
        "--learning-rate", type=_positive_float, default=0.01, help="SGD learning rate (default: 0.01)"
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        with quiet_console(args.verbose):  # before TensorFlow is first imported
            result = train(
                data_dir=args.data_dir,
                epochs=args.epochs,
                batch_size=args.batch_size,
                learning_rate=args.learning_rate,
                seed=args.seed,
                output=args.output,
                verbose=0,  # per-epoch progress goes through logging instead
            )
    except (DataError, OutputError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    print(f"test loss:     {result.test_loss:.4f}")
    print(f"test accuracy: {result.test_accuracy:.4f}")
    print(f"model:         {result.model_path}")
    print(f"history:       {result.history_path}")
    print(f"plot:          {result.plot_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
