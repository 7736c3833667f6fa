"""Train a built-in Fashion-MNIST model and write model.keras, history.json and learning_curves.png.

TensorFlow/Keras are imported inside :func:`train`, so a bad data folder or
output path fails fast without paying for the TensorFlow import.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.files import install, output_dir_problem, temporary_path
from train.callbacks import divergence_guard as _divergence_guard, epoch_logger as _epoch_logger
from train.data import load_fashion_mnist
from train.errors import OutputError, TrainingDivergedError  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)

MODEL_FILE = "model.keras"
HISTORY_FILE = "history.json"
PLOT_FILE = "learning_curves.png"
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
SEED_MAX = 2**32 - 1  # numpy/keras seeds are unsigned 32-bit


@dataclass(frozen=True)
class ArchDefaults:
    """Training defaults of one built-in architecture (arguments and CLI flags override them)."""

    epochs: int
    batch_size: int
    learning_rate: float
    optimizer: str  # fixed per architecture: the book's plain SGD for the MLP, Adam for the CNN


# Kept here, not in train.model, so that the CLI and argument checks need no Keras import.
ARCHS: dict[str, ArchDefaults] = {
    "mlp": ArchDefaults(epochs=30, batch_size=32, learning_rate=0.01, optimizer="sgd"),
    "cnn": ArchDefaults(epochs=12, batch_size=64, learning_rate=0.001, optimizer="adam"),
}
ARCH_NAMES = tuple(ARCHS)


@dataclass(frozen=True)
class TrainResult:
    """Where a run wrote its outputs and how the model did on the test set."""

    model_path: Path
    history_path: Path
    plot_path: Path
    test_loss: float
    test_accuracy: float
    epochs: int
    seed: int
    history: dict[str, list[float | None]] = field(default_factory=dict)
    arch: str = "mlp"
    parameters: int = 0
    train_seconds: float = 0.0


# --- output -------------------------------------------------------------------


def _check_output(output: str | os.PathLike[str]) -> Path:
    """Check that ``output`` is (or can become) a writable directory, without creating it."""
    problem = output_dir_problem(output)
    if problem is not None:
        raise OutputError(f"{Path(output).expanduser()}: output path {problem}" if str(output) else f"output path {problem}")
    return Path(output).expanduser()


def finite_or_none(value: Any) -> Any:
    """``value`` with every NaN/inf float (also inside lists and dicts) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


def json_text(record: dict[str, Any]) -> str:
    """Strict JSON (no NaN/Infinity tokens): non-finite numbers become ``null``."""
    return json.dumps(finite_or_none(record), indent=2, allow_nan=False) + "\n"


def _save_plot(history: dict[str, list[float | None]], path: Path, title: str) -> None:
    """Plot loss and accuracy (train and validation) per epoch, like the book's fig. 10-12."""
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    fig = Figure(figsize=(8, 5))
    ax = fig.add_subplot()
    for key in METRICS:
        values = [math.nan if v is None else v for v in history.get(key, [])]
        style = "--" if key.startswith("val_") else "-"
        ax.plot(range(1, len(values) + 1), values, style, marker=".", label=key)
    ax.set_ylim(0, 1)
    ax.set_xlabel("epoch")
    ax.set_title(title)
    ax.grid(True)
    ax.legend()
    fig.savefig(path, format="png", dpi=100)


def _write_outputs(out: Path, model: keras.Model, record: dict[str, Any]) -> tuple[Path, Path, Path]:
    """Stage every output in a temp file, then os.replace them all into place.

    If anything fails (or the process is interrupted), the temp files are removed and
    existing outputs stay untouched.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out}: cannot create output directory: {e.strerror or e}") from e
    targets = (out / MODEL_FILE, out / HISTORY_FILE, out / PLOT_FILE)
    staged: list[Path] = []
    try:
        staged.append(temporary_path(out / MODEL_FILE))
        model.save(staged[-1])
        staged.append(temporary_path(out / HISTORY_FILE))
        staged[-1].write_text(json_text(record), encoding="utf-8")
        staged.append(temporary_path(out / PLOT_FILE))
        _save_plot(record["history"], staged[-1], f"Fashion-MNIST {record['arch'].upper()} learning curves")
        install(zip(staged, targets))
    finally:
        for tmp in staged:
            tmp.unlink(missing_ok=True)
    return targets


# --- the run ------------------------------------------------------------------


def _check_positive(name: str, value: Any, kind: type) -> None:
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
        raise ValueError(f"{name} must be a positive {kind.__name__}, got {value!r}")


def check_seed(seed: Any) -> int:
    """``seed`` if it is an int in 0..2**32-1, else ValueError naming it."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise ValueError(f"seed must be an integer in 0..{SEED_MAX}, got {seed!r}")
    return seed


def _check_finite(model: keras.Model, history: dict[str, list[float]], test_loss: float) -> None:
    """Refuse a model whose weights, training loss or test loss are not finite."""
    import numpy as np

    bad = [k for k in ("loss", "val_loss") if not all(math.isfinite(v) for v in history.get(k, []))]
    if not math.isfinite(test_loss):
        bad.append("test loss")
    if not all(np.isfinite(w).all() for w in model.get_weights()):
        bad.append("weights")
    if bad:
        raise TrainingDivergedError(
            f"training diverged: non-finite {', '.join(bad)}; nothing was written"
        )


def _settings(arch: str, epochs: int | None, batch_size: int | None, learning_rate: float | None) -> ArchDefaults:
    """The architecture's defaults with the given overrides, each checked."""
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}: expected one of {', '.join(ARCHS)}")
    defaults = ARCHS[arch]
    hp = ArchDefaults(
        epochs=defaults.epochs if epochs is None else epochs,
        batch_size=defaults.batch_size if batch_size is None else batch_size,
        learning_rate=defaults.learning_rate if learning_rate is None else learning_rate,
        optimizer=defaults.optimizer,
    )
    _check_positive("epochs", hp.epochs, int)
    _check_positive("batch_size", hp.batch_size, int)
    _check_positive("learning_rate", float(hp.learning_rate), float)
    if not math.isfinite(hp.learning_rate):
        raise ValueError(f"learning_rate must be finite, got {hp.learning_rate!r}")
    return hp


def _build_seeded(arch: str, learning_rate: float, seed: int) -> keras.Model:
    """A fresh ``arch`` model, after seeding Keras and making TensorFlow's ops deterministic."""
    import keras
    import tensorflow as tf

    from train.model import build_arch

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return build_arch(arch, learning_rate)


def _fit_and_evaluate(
    model: keras.Model, data: Any, x_train: Any, y_train: Any, shape: tuple[int, ...],
    hp: ArchDefaults, seed: int, verbose: int,
) -> tuple[dict[str, list[float]], float, float, float]:
    """Fit ``model`` and score it on the test set: (history, train seconds, test loss, test accuracy)."""
    from train.model import preprocess

    epochs, batch_size, learning_rate = hp.epochs, hp.batch_size, hp.learning_rate

    def inputs(images: Any) -> Any:
        return preprocess(images).reshape((len(images), *shape))

    log.info(
        "training %s (%d parameters, %s): epochs=%d batch_size=%d learning_rate=%g seed=%d",
        model.name, model.count_params(), hp.optimizer, epochs, batch_size, learning_rate, seed,
    )
    start = time.perf_counter()
    fit = model.fit(
        inputs(x_train),
        y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(inputs(data.x_valid), data.y_valid),
        callbacks=[_epoch_logger(), _divergence_guard(learning_rate)],
        verbose=verbose,
    )
    train_seconds = time.perf_counter() - start
    log.info("training took %.1fs", train_seconds)

    scores = model.evaluate(inputs(data.x_test), data.y_test, verbose=0, return_dict=True)
    test_loss, test_accuracy = float(scores["loss"]), float(scores["accuracy"])
    log.info("test: loss=%.4f accuracy=%.4f", test_loss, test_accuracy)

    raw_history = {key: [float(v) for v in fit.history[key]] for key in METRICS}
    return raw_history, train_seconds, test_loss, test_accuracy


def _record(
    arch: str, model: keras.Model, shape: tuple[int, ...], hp: ArchDefaults, seed: int, limit: int | None,
    train_seconds: float, test_loss: float, test_accuracy: float, history: dict[str, list[float | None]],
) -> dict[str, Any]:
    """The run's history.json record."""
    epochs, batch_size, learning_rate = hp.epochs, hp.batch_size, hp.learning_rate
    return {
        "arch": arch,
        "model_name": model.name,
        "parameters": int(model.count_params()),
        "input_shape": list(shape),
        "optimizer": hp.optimizer,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": float(learning_rate),
        "seed": seed,
        "limit": limit,
        "train_seconds": round(train_seconds, 1),
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
        "history": history,
    }


def train(
    *,
    arch: str = "mlp",
    data_dir: str | os.PathLike[str] | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    seed: int = 42,
    output: str | os.PathLike[str] = "artifacts",
    verbose: int = 1,
    limit: int | None = None,
) -> TrainResult:
    """Train a built-in model on Fashion-MNIST, evaluate it on the test set, write the outputs.

    ``arch`` is ``"mlp"`` (the book's 784-300-100-10, SGD) or ``"cnn"`` (a <100k-parameter
    CNN, Adam); ``epochs``, ``batch_size`` and ``learning_rate`` default per architecture
    (``ARCHS``). ``verbose`` is passed to ``model.fit``. ``limit`` (for smoke
    tests only) trains on just the first ``limit`` training samples; validation and test
    sets stay full. The same ``seed`` on the same machine gives identical weights.
    Raises TrainingDivergedError (and writes nothing) if the loss becomes NaN or infinite.
    """
    hp = _settings(arch, epochs, batch_size, learning_rate)
    epochs, batch_size, learning_rate = hp.epochs, hp.batch_size, hp.learning_rate
    check_seed(seed)
    if limit is not None:
        _check_positive("limit", limit, int)

    out = _check_output(output)
    data = load_fashion_mnist(data_dir)
    x_train, y_train = data.x_train[:limit], data.y_train[:limit]
    log.info(
        "data: %d train, %d validation, %d test images",
        len(x_train), len(data.x_valid), len(data.x_test),
    )

    model = _build_seeded(arch, learning_rate, seed)
    shape = tuple(model.input_shape[1:])  # (28, 28) for the MLP, (28, 28, 1) for the CNN

    raw_history, train_seconds, test_loss, test_accuracy = _fit_and_evaluate(
        model, data, x_train, y_train, shape, hp, seed, verbose
    )
    _check_finite(model, raw_history, test_loss)
    history = finite_or_none(raw_history)
    record = _record(arch, model, shape, hp, seed, limit, train_seconds, test_loss, test_accuracy, history)
    model_path, history_path, plot_path = _write_outputs(out, model, record)
    log.info("wrote %s, %s, %s", model_path, history_path, plot_path)
    return TrainResult(
        model_path=model_path,
        history_path=history_path,
        plot_path=plot_path,
        test_loss=test_loss,
        test_accuracy=test_accuracy,
        epochs=epochs,
        seed=seed,
        history=history,
        arch=arch,
        parameters=int(model.count_params()),
        train_seconds=train_seconds,
    )
