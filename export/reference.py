"""The reference every artifact is validated against: the Keras model, its data, its outputs.

All facts come from the model and the data (never from ``train``'s constants):
input shape, output width and task from the model; pixel scale, labels, class
names and the calibration pool from the data.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

import runtime
from runtime.metadata import ModelMetadata, Quantization

from .data import Dataset, as_float_features, conform, fits, given_class_names, random_inputs
from .errors import DataError, ModelLoadError, TaskError, UsageError
from .metadata import build_metadata
from .sources import Source, load_source
from .task import ModelFacts, decide_facts, exported_model, inspect_model, io_names
from .tflite_source import random_tflite_inputs

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
    source: Source | None = None  # what --model loaded

    @property
    def kind(self) -> str:
        """The source's kind (``export.sources.SOURCE_KINDS``)."""
        return self.source.kind if self.source is not None else "keras"

    @property
    def io_names(self) -> tuple[str, str]:
        return io_names(self.facts.task, self.pixel_scale is not None)

    def to_model_input(self, x: np.ndarray) -> np.ndarray:
        """Data as the model sees it: pixels times the pixel scale, features as float32. A .tflite
        source takes data as users feed it (its runtime contract converts it)."""
        if self.kind == "tflite":
            return x
        if self.pixel_scale is not None and x.dtype == np.uint8:
            return x.astype(np.float32) * np.float32(self.pixel_scale)
        return x.astype(np.float32)

    def metadata(self, fmt: str, quantization: Quantization, **extra) -> ModelMetadata:
        return build_metadata(
            fmt=fmt, source_sha256=self.source_sha256, quantization=quantization,
            task=self.facts.task, class_names=self.class_names, item_shape=self.facts.item_shape,
            outputs=self.facts.outputs, pixel_scale=self.pixel_scale,
            input_dtype=self.source.tflite.input_dtype.name if self.kind == "tflite" else "float32", **extra,
        )


KERAS_KINDS = ("keras", "h5")  # sources that are a Keras model: softmax/sigmoid heads, steering, layer names


def load_keras_model(path: Path):
    """Load a ``.keras`` or Keras 2 ``.h5`` file, turning every failure into a one-line ModelLoadError."""
    source = load_source(path)
    if source.keras_model is None:
        raise ModelLoadError(f"{path}: is a {source.kind} model, not a Keras model (.keras or .h5)")
    return source.keras_model


def source_facts(source: Source, task: str | None) -> ModelFacts:
    """Input shape, output width and task of ``source``; a head is appended only to Keras models."""
    if source.kind in KERAS_KINDS:
        return inspect_model(source.keras_model, task)
    facts = decide_facts(source.item_shape, source.outputs, source.activation, task)
    if facts.appended:
        raise TaskError(
            f"--task {facts.task} on a {source.activation} output of {source.outputs} value(s) needs a "
            f"{facts.appended} at the end, which edgeport appends only to Keras models; {source.name} is a "
            f"{source.kind} model: use a model that ends in its {facts.appended}, or --task regression"
        )
    return facts


def prepare_reference(
    model_path: Path | Source,
    dataset: Dataset | None,
    *,
    task: str | None,
    pixel_scale: float | str | None,
    class_names: Sequence[str] | str | Path | None,
    calibration_samples: int | None,
    seed: int,
) -> Reference:
    """Load the model (or take the loaded ``Source``), fit the data to it, and compute its
    reference outputs on the validation inputs.

    ``calibration_samples`` None means no calibration set is needed.
    """
    source = model_path if isinstance(model_path, Source) else load_source(model_path)
    facts = source_facts(source, task)
    if dataset is not None and dataset.implicit and not fits(dataset.x_test, facts.item_shape):
        logger.info("%s does not fit the model's input %s: not used", dataset.source, facts.item_shape)
        dataset = None
    if source.kind == "tflite":
        scale = _tflite_pixel_scale(source, pixel_scale)
        if dataset is None:
            dataset = random_tflite_inputs(source.tflite, seed)
            logger.info("no data given: validating on %s from the input domain", dataset.source)
    else:
        if dataset is not None:
            dataset = as_float_features(dataset)
        scale = _pixel_scale(dataset, facts, pixel_scale)
        if dataset is None:
            dataset = random_inputs(facts.item_shape, scale is not None, seed)
            logger.info("no data given: validating on %s from the input domain", dataset.source)
    inputs = conform(dataset.x_test, facts.item_shape, "x_test")
    labels = _check_labels(dataset.y_test, facts)
    names = _class_names(class_names, dataset, facts, _own_class_names(source))
    keras_model = exported_model(source.keras_model, facts) if source.kind in KERAS_KINDS else None
    reference = Reference(
        keras_model=keras_model, facts=facts, source_sha256=source.sha256, class_names=names,
        pixel_scale=scale, inputs=inputs, labels=labels, outputs=np.zeros(0), data_source=dataset.source,
        synthetic=dataset.synthetic, source=source,
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
    if keras_model is not None:
        outputs = keras_model.predict(reference.to_model_input(inputs), batch_size=1000, verbose=0)
    else:
        try:
            outputs = source.predict(reference.to_model_input(inputs))
        except runtime.InvalidInputError as e:  # a .tflite's contract refused the data
            raise DataError(f"x_test does not fit {source.name}: {e}") from e
    outputs = np.asarray(outputs, dtype=np.float32).reshape(len(inputs), facts.outputs)
    return Reference(**{**reference.__dict__, "outputs": outputs, "calibration": calibration})


def _tflite_pixel_scale(source: Source, given: float | str | None) -> float | None:
    """A .tflite keeps its own input contract: the pixel scale of its edgeport metadata, or none."""
    if given is not None and given != AUTO:
        raise UsageError(
            f"--pixel-scale {given!r}: {source.name} is a .tflite, taken with its own input contract "
            f"(its input type, scale and zero point); omit --pixel-scale"
        )
    return source.tflite.contract.metadata.pixel_scale


def _own_class_names(source: Source) -> tuple[str, ...] | None:
    own = source.tflite.own_metadata if source.kind == "tflite" else None
    return own.class_names if own is not None and own.class_names else None


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


def _class_names(given, dataset: Dataset, facts: ModelFacts, own: tuple[str, ...] | None = None) -> tuple[str, ...]:
    if facts.task == "regression":
        return ()
    count = 2 if facts.task == "binary" else facts.outputs
    if given is not None:
        names = given_class_names(given)
    else:
        names = dataset.class_names or own or tuple(f"class_{i}" for i in range(count))
    if len(names) != count:
        raise DataError(f"{len(names)} class names for a model with {count} classes")
    return names
