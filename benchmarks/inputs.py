"""Input handling for ``run_benchmarks``: batch sizes, threads, artifact discovery, test data."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

import runtime

from . import preflight
from .errors import CREATE_HINT, ArtifactsNotFoundError, UsageError
from .timing import FULL, QUICK, MeasureSettings

log = logging.getLogger("benchmarks")

DEFAULT_BATCH_SIZES = (1, 32, 256)
KERAS_FILE = "model.keras"
DATA_ENV_VAR = "FASHION_MNIST_DIR"
# the shared data folder next to the checkout, as the project's tests use it
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-mnist"
FULL_ROUNDS, FULL_COLD_REPEATS = 10, 3
QUICK_ROUNDS, QUICK_COLD_REPEATS = 1, 1


def parse_batch_sizes(text: str | Iterable[int]) -> tuple[int, ...]:
    """``"1,32,256"`` (or ints) -> sorted unique positive batch sizes, always including 1."""
    if isinstance(text, str):
        items = [t.strip() for t in text.split(",")]
        if not text.strip() or any(not t for t in items):
            raise UsageError(f"--batch-sizes {text!r}: expected comma-separated positive integers, e.g. 1,32,256")
        try:
            sizes = [int(t) for t in items]
        except ValueError as e:
            raise UsageError(
                f"--batch-sizes {text!r}: expected comma-separated positive integers, e.g. 1,32,256"
            ) from e
    else:
        sizes = list(text)
    bad = [s for s in sizes if isinstance(s, bool) or not isinstance(s, int) or s < 1]
    if bad or not sizes:
        raise UsageError(f"--batch-sizes: every batch size must be a positive integer, got {sizes!r}")
    return tuple(sorted(set(sizes) | {1}))


def check_threads(threads: object) -> int:
    """``threads`` if it is a positive int, else UsageError."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise UsageError(f"--threads must be a positive integer, got {threads!r}")
    return threads


def find_artifacts(model_dir: Path) -> list[Path]:
    """Every .onnx/.tflite file in ``model_dir``: ONNX first, fp32 before its variants.

    Dotfiles (an export's ``.tmp-*`` leftovers) are never artifacts.
    """
    if not model_dir.is_dir():
        raise ArtifactsNotFoundError(f"{model_dir}: model directory not found; {CREATE_HINT}")
    found = [
        p for p in model_dir.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in runtime.SUFFIX_BACKENDS
    ]
    if not found:
        raise ArtifactsNotFoundError(
            f"{model_dir}: no .onnx or .tflite artifacts in this directory; {CREATE_HINT}"
        )
    return sorted(found, key=lambda p: (p.suffix.lower(), p.name.count("."), p.name))


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """--data-dir, else $FASHION_MNIST_DIR, else the shared folder next to the checkout."""
    if data_dir:
        return Path(data_dir)
    if os.environ.get(DATA_ENV_VAR):
        return Path(os.environ[DATA_ENV_VAR])
    if DEFAULT_DATA_DIR.is_dir():
        return DEFAULT_DATA_DIR
    raise UsageError(f"no Fashion-MNIST data folder: pass --data-dir DIR or set {DATA_ENV_VAR}")


def load_test_set(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The Fashion-MNIST test split (images, labels) from ``data_dir``; UsageError if unreadable."""
    from train.data import DataError, load_split  # numpy-only module, no TensorFlow

    try:
        return load_split("test", data_dir)
    except DataError as e:
        raise UsageError(str(e)) from e


@dataclass
class RunInputs:
    """Everything checked and loaded before the first measurement."""

    model_dir: Path
    artifacts: list[Path]
    keras_path: Path | None  # None: no model.keras, baselines skipped
    provenance: dict[str, Any]
    data_path: Path
    images: np.ndarray
    labels: np.ndarray
    threads: int
    batch_sizes: tuple[int, ...]
    quick: bool
    settings: MeasureSettings
    rounds: int
    repeats: int

    @property
    def item(self) -> str:
        """One input's shape, for the report's input descriptions."""
        return ", ".join(map(str, self.images.shape[1:]))


def prepare_inputs(
    model_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str] | None,
    threads: object,
    batch_sizes: str | Iterable[int],
    quick: bool,
    data_dir: str | os.PathLike[str] | None,
    settings: MeasureSettings | None,
    cold_start_repeats: int | None,
    allow_source_mismatch: bool,
    mcu: bool = False,
    mcu_cores: Iterable[str] = ("m4",),
) -> RunInputs:
    """Check every argument and load the inputs, in the order errors are reported; UsageError on bad input.

    ``mcu``: the cross toolchain and QEMU of every core of ``mcu_cores`` are checked here, before any measuring.
    """
    threads = check_threads(threads)
    batch_sizes = parse_batch_sizes(batch_sizes)
    if output_dir is not None:
        preflight.check_output_dir(output_dir)
    if mcu:
        from .mcu.toolchain import require_tools

        for core in mcu_cores:
            require_tools(core)
    model_dir = Path(model_dir)
    artifacts = find_artifacts(model_dir)
    keras_path = model_dir / KERAS_FILE
    has_keras = keras_path.is_file()
    provenance = preflight.check_sources(
        artifacts, keras_path if has_keras else None, allow_mismatch=allow_source_mismatch
    )
    data_path = resolve_data_dir(data_dir)
    images, labels = load_test_set(data_path)
    images = preflight.shape_test_images(images, provenance)
    if batch_sizes[-1] > len(images):
        raise UsageError(f"--batch-sizes: {batch_sizes[-1]} exceeds the {len(images)} test images")
    if not has_keras:
        log.warning("%s not found: the Keras and NumPy baselines are skipped", keras_path)
    return RunInputs(
        model_dir=model_dir, artifacts=artifacts, keras_path=keras_path if has_keras else None,
        provenance=provenance, data_path=data_path, images=images, labels=labels,
        threads=threads, batch_sizes=batch_sizes, quick=quick,
        settings=settings or (QUICK if quick else FULL),
        rounds=QUICK_ROUNDS if quick else FULL_ROUNDS,
        repeats=cold_start_repeats or (QUICK_COLD_REPEATS if quick else FULL_COLD_REPEATS),
    )
