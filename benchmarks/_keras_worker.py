"""Measure the Keras baselines in a process of their own: ``python -m benchmarks._keras_worker CONFIG``.

TensorFlow is imported here and only here, so its thread pools never run next to
the runtime measurements in the parent. Thread counts are fixed before TensorFlow
initialises. Writes a JSON result (timings, thread settings actually in effect), the
model's outputs on the whole test set (the parent scores them: accuracy or MAE, per task)
and the Dense weights (for the NumPy reference) to the paths in CONFIG.
Progress lines on stderr start with ``PROGRESS_PREFIX``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .timing import MeasureSettings, measure

PROGRESS_PREFIX = "benchmarks-progress: "


def _progress(message: str) -> None:
    print(PROGRESS_PREFIX + message, file=sys.stderr, flush=True)


def _configure_tensorflow(threads: int) -> Any:
    import tensorflow as tf

    # must precede any op: TF fixes its pools on first use
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return tf


def _dense_layers(model: Any) -> list[dict[str, Any]]:
    layers = []
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        activation = getattr(getattr(layer, "activation", None), "__name__", None)
        layers.append({
            "name": layer.name,
            "class": type(layer).__name__,
            "activation": activation,
            "weights": weights,
        })
    return layers


def run(config: dict[str, Any]) -> dict[str, Any]:
    """Measure ``model.predict`` and ``model(x)`` as configured; return the result dict."""
    threads = int(config["threads"])
    tf = _configure_tensorflow(threads)
    import keras

    model = keras.saving.load_model(config["model"], compile=False)
    data = np.load(config["data"])
    images = data["images"]
    scale = np.float32(config["pixel_scale"])
    x_all = images.astype(np.float32) * scale

    _progress("outputs on the test set (for accuracy or MAE)")
    outputs = np.asarray(model.predict(x_all, batch_size=1000, verbose=0), dtype=np.float32)
    np.save(config["outputs_output"], outputs.reshape(len(outputs), -1))

    settings = MeasureSettings(**config["settings"])
    calls: dict[str, Callable[[np.ndarray, int], Callable[[], object]]] = {
        "keras_predict": lambda x, bs: (lambda: model.predict(x, batch_size=bs, verbose=0)),
        "keras_call": lambda x, bs: (lambda: model(x, training=False).numpy()),
    }
    measurements: dict[str, list[dict[str, Any]]] = {}
    for kind, make in calls.items():
        measurements[kind] = []
        for bs in config["batch_sizes"]:
            _progress(f"{kind.replace('keras_', '')} batch {bs}")
            x = x_all[:bs]
            measurements[kind].append(measure(make(x, bs), settings, bs).to_dict())

    layers = _dense_layers(model)
    np.savez(
        config["weights_output"],
        **{f"w{i}_{j}": w for i, layer in enumerate(layers) for j, w in enumerate(layer["weights"])},
    )
    thread_settings = {
        "intra_op_parallelism_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_parallelism_threads": tf.config.threading.get_inter_op_parallelism_threads(),
    }
    return {
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
        "keras_backend": keras.backend.backend(),
        "thread_settings": thread_settings,
        "load": "keras.saving.load_model(path, compile=False)",
        "measurements": measurements,
        "layers": [
            {"name": L["name"], "class": L["class"], "activation": L["activation"],
             "shapes": [list(w.shape) for w in L["weights"]]}
            for L in layers
        ],
    }


def main(argv: list[str]) -> int:
    config = json.loads(Path(argv[0]).read_text())
    result = run(config)
    Path(config["output"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
