"""Console hygiene for the command-line tools (never used at import of a library module).

TensorFlow, LiteRT and the TFLite converter write log lines straight to file descriptor 2 from
C++, some before absl's logging is even initialised, so no environment variable removes all of
them. ``filtered_stderr`` replaces fd 2 with a pipe for the duration of a CLI call; a reader
thread forwards every line except the known third-party log lines to the real stderr.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
import warnings
from collections.abc import Iterator

# Lines from C++ logging: absl/glog ("I0000 00:00:17... file.cc:12] ..."), TensorFlow's older
# format ("2026-01-01 10:00:00.123: W tensorflow/..."), absl's pre-init banner, LiteRT's
# delegate notice and the converter's quantizer summary. Fatal (F) lines are kept.
NOISE = re.compile(
    rb"^(?:[IWE]\d{4} [\d:.]+ +\d+ \S+:\d+\]"
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|INFO: Created TensorFlow Lite XNNPACK delegate"
    rb"|INFO: Initialized TensorFlow Lite runtime"
    rb"|fully_quantize: \d, inference_type: )"
)
_QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "GLOG_minloglevel": "3", "ABSL_MIN_LOG_LEVEL": "3"}
_THIRD_PARTY_LOGGERS = ("tensorflow", "absl", "keras", "tf2onnx", "onnx", "h5py", "matplotlib")


def quiet_environment() -> None:
    """Ask TensorFlow's C++ logging to stay quiet; call before TensorFlow is imported."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)


@contextlib.contextmanager
def quiet_console(verbose: bool = False) -> Iterator[None]:
    """While active: no third-party C++ log lines, Python warnings or library log records.

    With ``verbose`` it changes nothing, so everything shows.
    """
    if verbose:
        yield
        return
    quiet_environment()
    for name in _THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    root_filter = _ThirdPartyRootRecords()
    logging.getLogger().addFilter(root_filter)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # our own warnings still show
            warnings.filterwarnings("default", module=r"^(train|export|runtime|benchmarks)(\.|$)")
            with filtered_stderr():
                yield
    finally:
        logging.getLogger().removeFilter(root_filter)


class _ThirdPartyRootRecords(logging.Filter):
    """Drops records below ERROR that a third-party package logs on the root logger.

    onnxruntime's quantizer calls ``logging.warning`` directly, e.g. "The original model opset
    version is 17 ... Please verify the quantized model." when int16x8 raises the opset.
    """

    _PACKAGES = tuple(f"{os.sep}{name}{os.sep}" for name in ("onnxruntime", *_THIRD_PARTY_LOGGERS))

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not any(p in record.pathname for p in self._PACKAGES)


@contextlib.contextmanager
def filtered_stderr(noise: re.Pattern[bytes] = NOISE) -> Iterator[None]:
    """Drop lines matching ``noise`` written to fd 2 by any code (C++ included) while active."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable fd 2: nothing to filter
        yield
        return
    read_end, write_end = os.pipe()
    reader = threading.Thread(target=_forward, args=(read_end, saved, noise), daemon=True)
    reader.start()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the reader sees EOF
        reader.join(timeout=5)
        os.close(saved)


def _forward(read_end: int, target: int, noise: re.Pattern[bytes]) -> None:
    pending = b""
    try:
        while chunk := os.read(read_end, 65536):
            *lines, pending = (pending + chunk).split(b"\n")
            kept = [line + b"\n" for line in lines if not noise.match(line)]
            if kept:
                _write_all(target, b"".join(kept))
        if pending and not noise.match(pending):
            _write_all(target, pending)
    finally:
        os.close(read_end)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up runs (exit code 143)."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While active, SIGTERM raises Terminated (a KeyboardInterrupt) in the main thread."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: signals stay as they are
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
