"""What ``--model`` takes: one loader per kind of model, dispatched in one place.

The kind is decided first, from the path alone, out of a closed set:

- ``keras``: a Keras 3 ``.keras`` archive;
- ``h5``: a Keras 2 HDF5 file (``.h5``/``.hdf5``), with the known Keras-2 config keys that
  Keras 3 rejects rewritten (``KERAS2_CONFIG_REWRITES``); anything else that fails is a
  ModelLoadError naming Keras's own reason;
- ``saved_model``: a TensorFlow SavedModel folder (``saved_model.pb`` inside), run through
  its ``serving_default`` signature (``export.savedmodel``);
- ``tflite``: a ``.tflite`` taken as it is: its own mode, its own graph (``export.tflite_source``).

Each loader returns a ``Source``: the facts export needs (input shape, output width, output
activation, a content hash), a way to compute reference outputs, and the loaded model.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from runtime.files import NOT_FOUND, file_problem

from .errors import ModelLoadError
from .metadata import sha256_file, sha256_tree

logger = logging.getLogger(__name__)

SOURCE_KINDS = ("keras", "h5", "saved_model", "tflite")
_SUFFIX_KINDS = {".keras": "keras", ".h5": "h5", ".hdf5": "h5", ".tflite": "tflite"}
SAVED_MODEL_FILE = "saved_model.pb"
ACCEPTED = ".keras, .h5 (Keras 2), a SavedModel folder, or .tflite"
# Keras-2 layer config keys that Keras 3 refuses, and are safe to drop: {layer class: {key: value it
# must hold}}. DepthwiseConv2D inherited Conv2D's `groups` in Keras 2 (always 1 there).
KERAS2_CONFIG_REWRITES: dict[str, dict[str, Any]] = {"DepthwiseConv2D": {"groups": 1}}


@dataclass(frozen=True, eq=False)
class Source:
    """A loaded model of one of ``SOURCE_KINDS``."""

    kind: str
    path: Path
    sha256: str  # of the file (of every file, for a SavedModel folder)
    item_shape: tuple[int, ...]
    outputs: int
    activation: str  # of the output: "softmax", "sigmoid", "linear", ...
    predict: Callable[[np.ndarray], np.ndarray]  # model inputs -> (N, outputs) float32
    keras_model: Any = None  # keras and h5
    saved_model: Any = None  # export.savedmodel.SavedModelGraph
    tflite: Any = None  # export.tflite_source.TfliteSource

    @property
    def name(self) -> str:
        return self.path.name


def source_kind(path: str | os.PathLike) -> str:
    """The kind of model at ``path`` (one of ``SOURCE_KINDS``), from its name alone; ModelLoadError if none."""
    path = Path(path)
    if path.is_dir():
        if (path / SAVED_MODEL_FILE).is_file():
            return "saved_model"
        raise ModelLoadError(f"{path}: is a directory without {SAVED_MODEL_FILE}: expected {ACCEPTED}")
    problem = file_problem(path)
    if problem == NOT_FOUND:
        raise ModelLoadError(f"{path}: model file not found (train one with `python -m train`)")
    if problem is not None:
        raise ModelLoadError(f"{path}: {problem}: expected {ACCEPTED}")
    kind = _SUFFIX_KINDS.get(path.suffix.lower())
    if kind is None:
        raise ModelLoadError(f"{path}: unsupported model suffix {path.suffix or '(none)'!r}: expected {ACCEPTED}")
    return kind


def load_source(path: str | os.PathLike) -> Source:
    """Load the model at ``path`` with the loader of its kind."""
    path = Path(path)
    return _LOADERS[source_kind(path)](path)


def _load_keras(path: Path) -> Source:
    if not zipfile.is_zipfile(path):
        raise ModelLoadError(f"{path}: cannot load the Keras model (not a .keras zip archive)")
    return _keras_source("keras", path, _keras_load(path, path))


def _load_h5(path: Path) -> Source:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
    except OSError as e:
        raise ModelLoadError(f"{path}: not an HDF5 file ({_first_line(e)})") from e
    if raw is None:
        raise ModelLoadError(f"{path}: holds no model_config (weights only?): expected a whole Keras model saved as .h5")
    config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    changed = rewrite_keras2_config(config)
    if not changed:
        return _keras_source("h5", path, _keras_load(path, path))
    logger.info("%s: Keras 2 config rewritten for Keras 3 (%s)", path.name, "; ".join(changed))
    with tempfile.TemporaryDirectory(prefix="edgeport-h5-") as tmp:
        copy = Path(tmp) / path.name
        shutil.copyfile(path, copy)
        with h5py.File(copy, "r+") as f:
            f.attrs["model_config"] = json.dumps(config)
        return _keras_source("h5", path, _keras_load(copy, path))


def rewrite_keras2_config(config: dict) -> list[str]:
    """Drop the ``KERAS2_CONFIG_REWRITES`` keys from every layer of a Keras model config, in place.

    Returns what was changed, one entry per (class, key). A listed key that holds another value
    than the one Keras 2 always wrote is left alone: Keras 3 then refuses the model with its reason.
    """
    counts: dict[str, int] = {}
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        rules = KERAS2_CONFIG_REWRITES.get(node.get("class_name"), {})
        layer_config = node.get("config")
        if rules and isinstance(layer_config, dict):
            for key, value in rules.items():
                if key in layer_config and layer_config[key] == value:
                    del layer_config[key]
                    label = f"{node['class_name']}.{key}"
                    counts[label] = counts.get(label, 0) + 1
        stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
    return [f"dropped {label}={KERAS2_CONFIG_REWRITES[label.split('.')[0]][label.split('.')[1]]!r} from "
            f"{n} layer(s)" for label, n in sorted(counts.items())]


def _keras_load(file: Path, shown: Path):
    import keras

    try:
        return keras.saving.load_model(file, compile=False)
    except Exception as e:  # Keras raises ValueError, TypeError, zipfile.BadZipFile, OSError, ...
        raise ModelLoadError(f"{shown}: cannot load the Keras model ({type(e).__name__}: {_first_line(e)})") from e


def _keras_source(kind: str, path: Path, model) -> Source:
    from .task import inspect_model, output_activation

    inspect_model(model, "regression")  # single input and output, fixed shapes: ModelLoadError otherwise
    return Source(
        kind=kind, path=path, sha256=sha256_file(path), item_shape=tuple(int(d) for d in model.inputs[0].shape[1:]),
        outputs=int(model.outputs[0].shape[1]), activation=output_activation(model),
        predict=lambda x: np.asarray(model.predict(x, batch_size=1000, verbose=0), dtype=np.float32),
        keras_model=model,
    )


def _load_saved_model(path: Path) -> Source:
    from .savedmodel import load_saved_model

    graph = load_saved_model(path)
    return Source(
        kind="saved_model", path=path, sha256=sha256_tree(path), item_shape=graph.item_shape,
        outputs=graph.outputs, activation=graph.activation, predict=graph.predict, saved_model=graph,
    )


def _load_tflite(path: Path) -> Source:
    from .tflite_source import open_tflite

    src = open_tflite(path)
    return Source(
        kind="tflite", path=path, sha256=sha256_file(path), item_shape=src.item_shape, outputs=src.outputs,
        activation=src.facts.output_activation, predict=src.reference_outputs, tflite=src,
    )


_LOADERS: dict[str, Callable[[Path], Source]] = {
    "keras": _load_keras, "h5": _load_h5, "saved_model": _load_saved_model, "tflite": _load_tflite,
}
assert set(_LOADERS) == set(SOURCE_KINDS)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else ""
