"""The reference every artifact is validated against: the Keras model, its data, its outputs.

All facts come from the model and the data (never from ``train``'s constants):
input shape, output width and task from the model; pixel scale, labels, class
names and the calibration pool from the data.
"""
from __future__ import annotations

import logging
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from runtime.files import NOT_FOUND, file_problem
from runtime.metadata import ModelMetadata, Quantization

from .data import Dataset, conform, given_class_names, random_inputs
from .errors import DataError, ModelLoadError, UsageError
from .metadata import build_metadata, sha256_file
from .task import ModelFacts, exported_model, inspect_model, io_names

logger = logging.getLogger(__name__)

DEFAULT_PIXEL_SCALE = 1.0 / 255.0
AUTO = "auto"  # pixel_scale: 1/255 for uint8 data (or image-shaped input with no data), else features


@dataclass(frozen=True, eq=False)
class Reference:
    """A prepared Keras model with its validation data and its own outputs on that data."""

    keras_model: Any  # the model as exported: with a softmax/sigmoid appended if asked
    facts: ModelFacts
    source_sha256: str
    class_names: tuple[str, ...]
    pixel_scale: float | None
    inputs: np.ndarray  # validation inputs as users feed them: uint8 pixels or float32 features
    labels: np.ndarray | None
    outputs: np.ndarray  # Keras outputs on ``inputs``, float32 (N, k)
    data_source: str
    synthetic: bool = False  # random inputs: no data was given
    calibration: np.ndarray | None = None  # float32, as the model sees it

    @property
    def io_names(self) -> tuple[str, str]:
        return io_names(self.facts.task, self.pixel_scale is not None)

    def to_model_input(self, x: np.ndarray) -> np.ndarray:
        """Data as the Keras model sees it: pixels times the pixel scale, features as float32."""
        if self.pixel_scale is not None and x.dtype == np.uint8:
            return x.astype(np.float32) * np.float32(self.pixel_scale)
        return x.astype(np.float32)

    def metadata(self, fmt: str, quantization: Quantization, **extra) -> ModelMetadata:
        return build_metadata(
            fmt=fmt, source_sha256=self.source_sha256, quantization=quantization,
            task=self.facts.task, class_names=self.class_names, item_shape=self.facts.item_shape,
            outputs=self.facts.outputs, pixel_scale=self.pixel_scale, **extra,
        )


def load_keras_model(path: Path):
    """Load a ``.keras`` file, turning every failure into a one-line ModelLoadError."""
    problem = file_problem(path)
    if problem == NOT_FOUND:
        raise ModelLoadError(f"{path}: model file not found (train one with `python -m train`)")
    if problem is not None:
        raise ModelLoadError(f"{path}: {problem}: expected a .keras model file")
    if path.suffix != ".keras":
        raise ModelLoadError(f"{path}: expected a .keras file, got suffix {path.suffix or '(none)'!r}")
    if not zipfile.is_zipfile(path):
        raise ModelLoadError(f"{path}: cannot load the Keras model (not a .keras zip archive)")
    import keras

    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as e:  # Keras raises ValueError, zipfile.BadZipFile, OSError, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise ModelLoadError(f"{path}: cannot load the Keras model ({type(e).__name__}: {first})") from e


def prepare_reference(
    model_path: Path,
    dataset: Dataset | None,
    *,
    task: str | None,
    pixel_scale: float | str | None,
    class_names: Sequence[str] | str | Path | None,
    calibration_samples: int | None,
    seed: int,
) -> Reference:
    """Load the model, fit the data to it, and compute Keras's outputs on the validation inputs.

    ``calibration_samples`` None means no calibration set is needed.
    """
    model = load_keras_model(model_path)
    facts = inspect_model(model, task)
    scale = _pixel_scale(dataset, facts, pixel_scale)
    if dataset is None:
        dataset = random_inputs(facts.item_shape, scale is not None, seed)
        logger.info("no data given: validating on %s from the input domain", dataset.source)
    inputs = conform(dataset.x_test, facts.item_shape, "x_test")
    labels = _check_labels(dataset.y_test, facts)
    names = _class_names(class_names, dataset, facts)
    keras_model = exported_model(model, facts)
    reference = Reference(
        keras_model=keras_model, facts=facts, source_sha256=sha256_file(model_path), class_names=names,
        pixel_scale=scale, inputs=inputs, labels=labels, outputs=np.zeros(0), data_source=dataset.source,
        synthetic=dataset.synthetic,
    )
    calibration = None
    if calibration_samples is not None:
        drawn = dataset.calibration(calibration_samples, seed)
        if drawn is None:
            raise DataError(
                f"calibration needs training data: pass --data PATH.npz with 'x_calibration' or 'x_train' "
                f"(or --data-dir for Fashion-MNIST); {dataset.source} has none"
            )
        if len(drawn) < calibration_samples:
            logger.warning(
                "calibration: %d samples asked, %s has %d: using all %d",
                calibration_samples, dataset.calibration_key, len(drawn), len(drawn),
            )
        calibration = reference.to_model_input(conform(drawn, facts.item_shape, dataset.calibration_key))
    outputs = keras_model.predict(reference.to_model_input(inputs), batch_size=1000, verbose=0)
    outputs = np.asarray(outputs, dtype=np.float32).reshape(len(inputs), facts.outputs)
    return Reference(**{**reference.__dict__, "outputs": outputs, "calibration": calibration})


def _pixel_scale(dataset: Dataset | None, facts: ModelFacts, given: float | str | None) -> float | None:
    if given is not None and given != AUTO:
        if isinstance(given, bool) or not isinstance(given, (int, float)) or not (math.isfinite(given) and given > 0):
            raise UsageError(f"pixel_scale must be a finite number > 0, None or 'auto', got {given!r}")
    if dataset is not None:
        if not dataset.raw_pixels:
            if given not in (None, AUTO):
                raise DataError(
                    f"--pixel-scale applies to uint8 pixel data, but x_test is {dataset.x_test.dtype} "
                    f"(float data is taken as features)"
                )
            return None
        if given is None:
            raise DataError("x_test is uint8 raw pixels, which need a pixel scale (got none)")
        return DEFAULT_PIXEL_SCALE if given == AUTO else float(given)
    if given == AUTO:
        return DEFAULT_PIXEL_SCALE if len(facts.item_shape) >= 2 else None
    return None if given is None else float(given)


def _check_labels(y: np.ndarray | None, facts: ModelFacts) -> np.ndarray | None:
    if y is None:
        return None
    if facts.task == "regression":
        if y.size != len(y) * facts.outputs:
            raise DataError(f"y_test has shape {y.shape}: the model predicts {facts.outputs} value(s) per sample")
        return y.reshape(len(y), facts.outputs).astype(np.float64)
    flat = y.reshape(len(y), -1)
    if flat.shape[1] != 1 or (y.dtype.kind == "f" and not np.all(np.mod(flat, 1) == 0)):
        raise DataError(f"y_test has shape {y.shape} and dtype {y.dtype}: expected one class index per sample")
    labels = flat[:, 0].astype(np.int64)
    classes = 2 if facts.task == "binary" else facts.outputs
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise DataError(
            f"y_test holds labels {int(labels.min())}..{int(labels.max())}: the model has {classes} classes "
            f"(0..{classes - 1})"
        )
    return labels


def _class_names(given, dataset: Dataset, facts: ModelFacts) -> tuple[str, ...]:
    if facts.task == "regression":
        return ()
    count = 2 if facts.task == "binary" else facts.outputs
    if given is not None:
        names = given_class_names(given)
    else:
        names = dataset.class_names or tuple(f"class_{i}" for i in range(count))
    if len(names) != count:
        raise DataError(f"{len(names)} class names for a model with {count} classes")
    return names
