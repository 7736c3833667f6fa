"""The contract the four command-line tools share (train, export, runtime, benchmarks).

- An error prints one line ``error: ...`` on stderr and exits with the code its class carries
  (``exit_code``: 2 for usage and input errors, 1 for a failed run); a file that cannot be read or
  written (OSError) exits 2.
- Ctrl-C exits 130 and SIGTERM 143, after every ``finally`` has run (temporary files go), even
  where a library wrapped the KeyboardInterrupt in an exception of its own.
- Anything else is a bug: its traceback is printed and the exit code is 1, never a usage error.
"""
from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import NoReturn

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


def one_line(text: object) -> str:
    """``text`` (an exception, a message) on one line; an exception without a message gives its class name."""
    line = " ".join(str(text).split())
    if not line and isinstance(text, BaseException):
        return type(text).__name__
    return line


def print_error(message: object) -> None:
    """``error: <message on one line>`` on stderr."""
    print(f"error: {one_line(message)}", file=sys.stderr)


class ArgumentError(Exception):
    """An argparse error, reported by the CLI as one line (exit 2)."""

    exit_code = EXIT_USAGE


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise ArgumentError instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise ArgumentError(message)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from e
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up runs (exit code 143)."""


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[list[int]]:
    """While active, SIGINT raises KeyboardInterrupt and SIGTERM Terminated in the main thread.

    Yields the list of signals received, so that the exit code is right even when a library
    caught the interrupt and raised something else. Outside the main thread nothing changes.
    """
    received: list[int] = []

    def handler(signum: int, frame: object) -> None:
        received.append(signum)
        raise KeyboardInterrupt() if signum == signal.SIGINT else Terminated()

    previous = {}
    try:
        for sig in EXIT_CODES:
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: signals stay as they are
        pass
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def exit_code(error: BaseException, received: list[int] | None = None, *,
              interrupted: str = "interrupted", terminated: str = "terminated (SIGTERM)") -> int:
    """Report ``error`` as the CLIs do and return the exit code (see the module docstring).

    ``interrupted``/``terminated``: the words printed for Ctrl-C and SIGTERM.
    """
    if received or isinstance(error, KeyboardInterrupt):
        sig = received[-1] if received else signal.SIGTERM if isinstance(error, Terminated) else signal.SIGINT
        print_error(interrupted if sig == signal.SIGINT else terminated)
        return EXIT_CODES[sig]
    code = getattr(type(error), "exit_code", None)
    if isinstance(code, int):
        print_error(error)
        return code
    if isinstance(error, OSError):  # a file that cannot be read or written: input, as in every CLI
        print_error(error)
        return EXIT_USAGE
    if not isinstance(error, Exception):  # SystemExit, GeneratorExit: not ours to report
        raise error
    traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    print_error(f"unexpected {type(error).__name__} (a bug; the traceback is above): {error}")
    return EXIT_FAILED


def run_cli(body: Callable[[list[int]], int], **words: str) -> int:
    """Every CLI's main: ``body(received)`` runs with Ctrl-C and SIGTERM raised as interrupts
    (``received``: the signals so far) and returns the exit code; an error it raises is
    reported as ``exit_code`` does (``words``: its ``interrupted``/``terminated`` texts)."""
    with signals_as_interrupts() as received:
        try:
            return body(received)
        except BaseException as e:  # noqa: BLE001  (each error's exit_code; interrupts 130/143; bugs 1)
            return exit_code(e, received, **words)
