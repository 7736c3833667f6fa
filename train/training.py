"""Train the Fashion-MNIST MLP and write model.keras, history.json and learning_curves.png.

TensorFlow/Keras are imported inside :func:`train`, so a bad data folder or
output path fails fast without paying for the TensorFlow import.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from train.data import load_fashion_mnist

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)

MODEL_FILE = "model.keras"
HISTORY_FILE = "history.json"
PLOT_FILE = "learning_curves.png"
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


class OutputError(OSError):
    """The output directory cannot be created or written to."""


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
    history: dict[str, list[float]] = field(default_factory=dict)


def _prepare_output(output: str | os.PathLike[str]) -> Path:
    """Create the output directory and check that it is writable."""
    out = Path(output).expanduser()
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: output path exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".probe.")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputError(f"{out}: cannot write output directory: {e.strerror or e}") from e
    return out


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mktemp(directory: Path, name: str) -> Path:
    """Create an empty hidden temp file next to ``name``, keeping its suffix."""
    stem, suffix = os.path.splitext(name)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{stem}.", suffix=suffix)
    os.close(fd)
    return Path(tmp)


def _save_plot(history: dict[str, list[float]], path: Path) -> None:
    """Plot loss and accuracy (train and validation) per epoch, like the book's fig. 10-12."""
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    fig = Figure(figsize=(8, 5))
    ax = fig.add_subplot()
    for key in METRICS:
        values = history.get(key, [])
        style = "--" if key.startswith("val_") else "-"
        ax.plot(range(1, len(values) + 1), values, style, marker=".", label=key)
    ax.set_ylim(0, 1)
    ax.set_xlabel("epoch")
    ax.set_title("Fashion-MNIST MLP learning curves")
    ax.grid(True)
    ax.legend()
    fig.savefig(path, format="png", dpi=100)


def _write_outputs(
    out: Path, model: keras.Model, record: dict[str, Any], history: dict[str, list[float]]
) -> tuple[Path, Path, Path]:
    """Stage every output in a temp file, then os.replace them all into place.

    If anything fails, the temp files are removed and existing outputs stay untouched.
    """
    targets = (out / MODEL_FILE, out / HISTORY_FILE, out / PLOT_FILE)
    staged: list[Path] = []
    try:
        staged.append(_mktemp(out, MODEL_FILE))
        model.save(staged[-1])
        staged.append(_mktemp(out, HISTORY_FILE))
        staged[-1].write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        staged.append(_mktemp(out, PLOT_FILE))
        _save_plot(history, staged[-1])
        for tmp in staged:
            _fsync(tmp)
            os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        for tmp, target in zip(staged, targets):
            os.replace(tmp, target)
        _fsync(out)
    finally:
        for tmp in staged:
            tmp.unlink(missing_ok=True)
    return targets


def _epoch_logger() -> Any:
    """A Keras callback that logs one line per epoch through ``logging``."""
    import keras

    class EpochLogger(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            metrics = " ".join(f"{k}={v:.4f}" for k, v in (logs or {}).items())
            seconds = time.perf_counter() - self._start
            log.info("epoch %d/%d (%.1fs): %s", epoch + 1, self.params["epochs"], seconds, metrics)

    return EpochLogger()


def _check_positive(name: str, value: Any, kind: type) -> None:
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
        raise ValueError(f"{name} must be a positive {kind.__name__}, got {value!r}")


def train(
    *,
    data_dir: str | os.PathLike[str] | None = None,
    epochs: int = 30,
    batch_size: int = 32,
    learning_rate: float = 0.01,
    seed: int = 42,
    output: str | os.PathLike[str] = "artifacts",
    verbose: int = 1,
    limit: int | None = None,
) -> TrainResult:
    """Train the MLP on Fashion-MNIST, evaluate it on the test set, write the outputs.

    ``verbose`` is passed to ``model.fit``. ``limit`` (for smoke tests only)
    trains on just the first ``limit`` training samples; validation and test
    sets stay full. The same ``seed`` on the same machine gives identical weights.
    """
    _check_positive("epochs", epochs, int)
    _check_positive("batch_size", batch_size, int)
    _check_positive("learning_rate", float(learning_rate), float)
    if limit is not None:
        _check_positive("limit", limit, int)

    out = _prepare_output(output)
    data = load_fashion_mnist(data_dir)
    x_train, y_train = data.x_train[:limit], data.y_train[:limit]
    log.info(
        "data: %d train, %d validation, %d test images",
        len(x_train), len(data.x_valid), len(data.x_test),
    )

    import keras
    import tensorflow as tf

    from train.model import build_model, preprocess

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()

    model = build_model(learning_rate)
    log.info(
        "training %s (%d parameters): epochs=%d batch_size=%d learning_rate=%g seed=%d",
        model.name, model.count_params(), epochs, batch_size, learning_rate, seed,
    )
    start = time.perf_counter()
    fit = model.fit(
        preprocess(x_train),
        y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(preprocess(data.x_valid), data.y_valid),
        callbacks=[_epoch_logger()],
        verbose=verbose,
    )
    log.info("training took %.1fs", time.perf_counter() - start)

    scores = model.evaluate(preprocess(data.x_test), data.y_test, verbose=0, return_dict=True)
    test_loss, test_accuracy = float(scores["loss"]), float(scores["accuracy"])
    log.info("test: loss=%.4f accuracy=%.4f", test_loss, test_accuracy)

    history = {key: [float(v) for v in fit.history[key]] for key in METRICS}
    record = {
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": float(learning_rate),
        "seed": seed,
        "limit": limit,
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
        "history": history,
    }
    model_path, history_path, plot_path = _write_outputs(out, model, record, history)
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
    )
