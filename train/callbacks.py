"""The Keras callbacks of a training run: one log line per epoch, and a stop at the first
non-finite loss. Keras is imported inside each factory."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from train.errors import TrainingDivergedError

# the run's log lines keep the name of the module that runs it
log = logging.getLogger("train.training")


def epoch_logger() -> Any:
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


def divergence_guard(learning_rate: float) -> Any:
    """Like keras.callbacks.TerminateOnNaN(raise_error=True), but raises TrainingDivergedError
    saying where, and stops at the first non-finite batch loss (NaN or inf)."""
    import keras

    class DivergenceGuard(keras.callbacks.TerminateOnNaN):
        def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            self._epoch = epoch

        def on_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                raise TrainingDivergedError(
                    f"training diverged: loss became {float(loss)} at epoch {self._epoch + 1}, "
                    f"batch {batch + 1} (learning rate {learning_rate:g}); nothing was written"
                )

    return DivergenceGuard()
