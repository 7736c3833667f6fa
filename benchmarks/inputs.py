"""Input handling for ``run_benchmarks``: batch sizes, threads, artifact discovery, test data.

Test data comes through export's data interface (``export.data.resolve``): ``--data X.npz``
(any model's ``x_test``/``y_test``), else ``--data-dir DIR`` or ``$FASHION_MNIST_DIR`` (Fashion-MNIST).
It is shaped by export's rule (``export.data.conform``) and fed as the artifacts' metadata says:
uint8 data are raw pixels scaled by the recorded ``pixel_scale``; a model that records none
refuses them (``MissingScaleError``) rather than guessing a scale.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

import runtime
from export.data import FASHION_MNIST_ENV, Dataset, as_float_features, conform, resolve
from export.errors import DataError

from . import preflight
from .errors import CREATE_HINT, ArtifactsNotFoundError, UsageError
from .timing import FULL, QUICK, MeasureSettings

log = logging.getLogger("benchmarks")

DEFAULT_BATCH_SIZES = (1, 32, 256)
KERAS_FILE = "model.keras"
DATA_ENV_VAR = FASHION_MNIST_ENV
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


class MissingScaleError(UsageError):
    """The data are raw uint8 pixels but an artifact records no ``pixel_scale`` to scale them by."""


def load_test_set(data: str | os.PathLike[str] | None, data_dir: str | os.PathLike[str] | None) -> Dataset:
    """The test set from ``--data X.npz``, else ``--data-dir DIR`` or ``$FASHION_MNIST_DIR``; UsageError if none."""
    try:
        dataset = resolve(data, data_dir)
    except DataError as e:
        raise UsageError(str(e)) from e
    if dataset is None:
        raise UsageError(f"no test data: pass --data X.npz (x_test, y_test) or --data-dir DIR, or set {DATA_ENV_VAR}")
    return dataset


def require_pixel_scale(meta: runtime.ModelMetadata, dtype: np.dtype, name: str, source: str) -> None:
    """MissingScaleError if ``dtype`` data are raw uint8 pixels and ``meta`` records no pixel scale
    (unless uint8 codes are the model's own input, as for a .tflite from elsewhere): never a guessed scale."""
    own_codes = meta.takes_raw_input and meta.input_dtype == "uint8"
    if np.dtype(dtype) == np.uint8 and meta.pixel_scale is None and not own_codes:
        raise MissingScaleError(
            f"{source}: the inputs are raw uint8 pixels but {name} records no pixel_scale to scale them by; "
            f"give float inputs, or re-export with --pixel-scale"
        )


def task_of(metadata: dict[str, runtime.ModelMetadata]) -> str:
    """The one task (``classification``, ``binary`` or ``regression``) of the artifacts; UsageError if mixed."""
    tasks = {m.task for m in metadata.values()}
    if len(tasks) > 1:
        found = ", ".join(f"{name}: {meta.task}" for name, meta in metadata.items())
        raise UsageError(f"the artifacts are of different tasks ({found}): benchmark one model at a time")
    return next(iter(tasks), "classification")


def check_labels(labels: np.ndarray | None, task: str, metadata: dict[str, runtime.ModelMetadata], source: str) -> None:
    """UsageError unless ``labels`` (y_test) fit the task: integer classes in range, or one target per output."""
    if labels is None:
        what = "the MAE" if task == "regression" else "accuracy"
        raise UsageError(f"{source}: no y_test labels: the benchmark measures {what} against them")
    if task == "regression":
        if labels.dtype.kind not in "fiu" or labels.ndim not in (1, 2):
            raise UsageError(f"{source}: y_test is {labels.dtype} {labels.shape}: expected numeric regression "
                             "targets, (N,) or (N, outputs)")
        for name, meta in metadata.items():
            width = 1 if labels.ndim == 1 else labels.shape[1]
            if width != meta.num_outputs:
                raise UsageError(f"{source}: y_test {labels.shape} has {width} target(s) per sample, "
                                 f"but {name} has {meta.num_outputs} output(s)")
        return
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise UsageError(f"{source}: y_test is {labels.dtype} {labels.shape}: expected one integer class per sample")
    for name, meta in metadata.items():
        classes = len(meta.class_names) if task == "binary" else meta.num_outputs
        if labels.size and (labels.min() < 0 or labels.max() >= classes):
            raise UsageError(f"{source}: y_test holds classes {int(labels.min())}..{int(labels.max())}, "
                             f"but {name} has {classes} classes")


def check_test_data(
    dataset: Dataset, metadata: dict[str, runtime.ModelMetadata]
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """(inputs, labels, pixel scale) of ``dataset`` for the artifacts whose ``metadata`` is given.

    The inputs take the artifacts' input shape (export's rule); uint8 stays raw pixels, other
    integers become float features. UsageError if the artifacts are not one model (one task, one
    input shape, one pixel scale), if y_test does not fit the task (integer classes for a classifier
    or binary model, numeric targets for a regressor), or the data do not fit; MissingScaleError for
    raw pixels without a pixel scale.
    """
    source = dataset.source
    task = task_of(metadata)
    shapes = {tuple(m.input_shape) for m in metadata.values()}
    if len(shapes) > 1:
        raise UsageError(f"the artifacts have different input shapes {sorted(shapes)}: benchmark one model at a time")
    scales = {m.pixel_scale for m in metadata.values()}
    if len(scales) > 1:
        raise UsageError(f"the artifacts record different pixel scales {sorted(map(str, scales))}: "
                         "benchmark one model at a time")
    labels = dataset.y_test
    check_labels(labels, task, metadata, source)
    dataset = as_float_features(dataset)
    images = dataset.x_test
    for name, meta in metadata.items():
        require_pixel_scale(meta, images.dtype, name, source)
    if images.dtype != np.uint8:
        images = images.astype(np.float32, copy=False)
    if shapes:
        try:
            images = conform(images, next(iter(shapes)), f"{source}: x_test")
        except DataError as e:
            raise UsageError(str(e)) from e
    return images, labels, next(iter(scales), None)


@dataclass
class RunInputs:
    """Everything checked and loaded before the first measurement."""

    model_dir: Path
    artifacts: list[Path]
    keras_path: Path | None  # None: no model.keras, baselines skipped
    provenance: dict[str, Any]
    dataset: Dataset  # where the test data came from (``dataset.source``)
    images: np.ndarray  # raw uint8 pixels, or float32 inputs; shaped as the artifacts' input
    labels: np.ndarray  # integer classes, or regression targets
    pixel_scale: float | None  # the artifacts' recorded pixel scale
    threads: int
    batch_sizes: tuple[int, ...]
    quick: bool
    settings: MeasureSettings
    rounds: int
    repeats: int
    task: str = "classification"  # the artifacts' one task: what the quality column measures

    @property
    def item(self) -> str:
        """One input's shape, for the report's input descriptions."""
        return ", ".join(map(str, self.images.shape[1:]))

    @property
    def raw_pixels(self) -> bool:
        """True if the data are raw uint8 pixels (the runtime scales them by ``pixel_scale``)."""
        return self.images.dtype == np.uint8

    @property
    def data_scale(self) -> float:
        """The factor that turns the data into the model's float inputs (1 for float data)."""
        return float(self.pixel_scale) if self.raw_pixels and self.pixel_scale is not None else 1.0


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
    data: str | os.PathLike[str] | None = None,
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
    metadata = preflight.read_metadata(artifacts)
    provenance = preflight.check_sources(
        artifacts, keras_path if has_keras else None, allow_mismatch=allow_source_mismatch, metadata=metadata
    )
    dataset = load_test_set(data, data_dir)
    images, labels, pixel_scale = check_test_data(dataset, metadata)
    task = task_of(metadata)
    if batch_sizes[-1] > len(images):
        raise UsageError(f"--batch-sizes: {batch_sizes[-1]} exceeds the {len(images)} test images")
    if not has_keras:
        log.warning("%s not found: the Keras and NumPy baselines are skipped", keras_path)
    return RunInputs(
        model_dir=model_dir, artifacts=artifacts, keras_path=keras_path if has_keras else None,
        provenance=provenance, dataset=dataset, images=images, labels=labels, pixel_scale=pixel_scale,
        threads=threads, batch_sizes=batch_sizes, quick=quick,
        settings=settings or (QUICK if quick else FULL),
        rounds=QUICK_ROUNDS if quick else FULL_ROUNDS,
        repeats=cold_start_repeats or (QUICK_COLD_REPEATS if quick else FULL_COLD_REPEATS),
        task=task,
    )
