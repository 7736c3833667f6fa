"""Outside models for the "any Keras model" tests: real data shipped with scikit-learn (and a
Fashion-MNIST slice), small Keras models trained for a few seconds.

``python -m tests.zoo OUT_DIR [FASHION_MNIST_DIR]`` writes every model and its ``.npz`` (for the README figures);
``--retrain`` fits them again and rewrites their committed weights (tests/fixtures/zoo).
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

SEED = 7


def _split(x: np.ndarray, y: np.ndarray, test_fraction: float = 0.25):
    rng = np.random.default_rng(SEED)
    idx = rng.permutation(len(x))
    n_test = int(len(x) * test_fraction)
    return x[idx[n_test:]], y[idx[n_test:]], x[idx[:n_test]], y[idx[:n_test]]


# The weights of the trained models, committed from the very fit below (``python -m tests.zoo
# --retrain OUT_DIR FASHION_MNIST_DIR`` writes them again): the suite loads them instead of spending
# ~30 s of CPU on training. manifest.json holds each file's SHA-256.
WEIGHTS = Path(__file__).resolve().parent / "fixtures" / "zoo"
RETRAIN = False


def _fit(model, x, y, loss: str, epochs: int, batch_size: int = 32) -> None:
    """Fit ``model`` (seeded, deterministic ops), or load the committed weights of that fit."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss)
    path = WEIGHTS / f"{model.name}.weights.h5"
    manifest = json.loads((WEIGHTS / "manifest.json").read_text()) if (WEIGHTS / "manifest.json").is_file() else {}
    if not RETRAIN and model.name in manifest:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != manifest[model.name]["sha256"]:
            raise RuntimeError(f"{path}: SHA-256 {digest} differs from manifest.json's; run python -m tests.zoo --retrain")
        model.load_weights(path)
        return
    tf.config.experimental.enable_op_determinism()  # the same weights on every run of this machine type
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
    if RETRAIN:
        WEIGHTS.mkdir(parents=True, exist_ok=True)
        model.save_weights(path)
        manifest[model.name] = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "epochs": epochs,
                                "seed": SEED, "made_by": "python -m tests.zoo --retrain"}
        (WEIGHTS / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def digits(out: Path) -> tuple[Path, Path]:
    """8x8 digit images, values 0..16 stored as uint8 (pixel scale 1/16), 10-class softmax CNN."""
    import keras
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.images.astype(np.uint8)[..., np.newaxis]  # (N, 8, 8, 1)
    x_train, y_train, x_test, y_test = _split(x, d.target.astype(np.int64))
    model = keras.Sequential([
        keras.Input((8, 8, 1), name="digit"),
        keras.layers.Conv2D(8, 3, activation="relu", name="conv"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(32, activation="relu", name="hidden"),
        keras.layers.Dense(10, activation="softmax", name="digit_class"),
    ], name="digits_cnn")
    _fit(model, x_train / 16.0, y_train, "sparse_categorical_crossentropy", epochs=20)
    names = np.array([str(i) for i in range(10)])
    return _save(out, "digits", model, x_test=x_test, y_test=y_test, x_train=x_train, class_names=names)


def breast_cancer(out: Path) -> tuple[Path, Path]:
    """30 standardized float features (negative values included), one sigmoid unit."""
    import keras
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    x_train, y_train, x_test, y_test = _split(d.data.astype(np.float32), d.target.astype(np.int64))
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    model = keras.Sequential([
        keras.Input((30,), name="features"),
        keras.layers.Dense(16, activation="relu", name="hidden"),
        keras.layers.Dense(1, activation="sigmoid", name="malignant_or_benign"),
    ], name="breast_cancer_mlp")
    _fit(model, x_train, y_train, "binary_crossentropy", epochs=30)
    names = np.array([str(n) for n in d.target_names])
    return _save(out, "breast_cancer", model, x_test=x_test, y_test=y_test, x_calibration=x_train, class_names=names)


def diabetes(out: Path) -> tuple[Path, Path]:
    """10 features, a standardized disease-progression target: regression."""
    import keras
    from sklearn.datasets import load_diabetes

    d = load_diabetes()
    y = d.target.astype(np.float32)
    x_train, y_train, x_test, y_test = _split(d.data.astype(np.float32), y)
    mean, std = y_train.mean(), y_train.std()
    y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
    x_mean, x_std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train, x_test = (x_train - x_mean) / x_std, (x_test - x_mean) / x_std
    model = keras.Sequential([
        keras.Input((10,), name="features"),
        keras.layers.Dense(32, activation="relu", name="hidden"),
        keras.layers.Dense(1, name="progression"),
    ], name="diabetes_mlp")
    _fit(model, x_train, y_train, "mse", epochs=40)
    return _save(out, "diabetes", model, x_test=x_test, y_test=y_test, x_train=x_train)


def functional_cnn(out: Path, fashion_dir: Path, n_train: int = 12000) -> tuple[Path, Path]:
    """A Functional CNN with Rescaling, BatchNormalization and Dropout inside (pixel scale 1)."""
    import keras

    from train.data import CLASS_NAMES, load_fashion_mnist

    fm = load_fashion_mnist(fashion_dir)
    x_train, y_train = fm.x_train[:n_train, ..., np.newaxis], fm.y_train[:n_train].astype(np.int64)
    inputs = keras.Input((28, 28, 1), name="image")
    h = keras.layers.Rescaling(1 / 255.0, name="rescale")(inputs)
    h = keras.layers.Conv2D(8, 3, strides=2, name="conv")(h)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.ReLU(name="relu")(h)
    h = keras.layers.Flatten(name="flatten")(h)
    h = keras.layers.Dropout(0.2, name="dropout")(h)
    outputs = keras.layers.Dense(10, activation="softmax", name="garment")(h)
    model = keras.Model(inputs, outputs, name="functional_cnn")
    _fit(model, x_train.astype(np.float32), y_train, "sparse_categorical_crossentropy", epochs=3, batch_size=64)
    return _save(
        out, "functional_cnn", model, x_test=fm.x_test[:2000, ..., np.newaxis], y_test=fm.y_test[:2000],
        x_train=x_train, class_names=np.array(CLASS_NAMES),
    )


def logits_classifier(out: Path) -> tuple[Path, Path]:
    """Digits again, but the last layer is linear: a classifier trained from logits."""
    import keras
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    x_train, y_train, x_test, y_test = _split(x, d.target.astype(np.int64))
    model = keras.Sequential([
        keras.Input((64,), name="pixels"),
        keras.layers.Dense(32, activation="relu", name="hidden"),
        keras.layers.Dense(10, name="logits"),
    ], name="digits_logits")
    _fit(model, x_train, y_train, keras.losses.SparseCategoricalCrossentropy(from_logits=True), epochs=20)
    return _save(out, "digits_logits", model, x_test=x_test, y_test=y_test, x_train=x_train)


def fashion_linear(out: Path, fashion_dir: Path, fmt: str = "onnx") -> Path:
    """An untrained (seeded) softmax over Fashion-MNIST pixels, exported to ``fmt`` fp32: real
    model files in seconds, for tests of inputs and outputs rather than of accuracy. Returns
    the ``model.onnx`` path (its folder also holds model.keras and, with fmt="all", model.tflite)."""
    import keras

    from export import run_export

    keras.utils.set_random_seed(SEED)
    model = keras.Sequential([
        keras.Input((28, 28), name="pixels"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(10, activation="softmax", name="garment"),
    ], name="fashion_linear")
    folder = out / "fashion_linear"
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    run_export(folder / "model.keras", fmt=fmt, data_dir=fashion_dir)
    return folder / "model.onnx"


def tiny_classifier(out: Path, pixels: bool, fmt: str = "all") -> tuple[Path, Path]:
    """An untrained (seeded) 3-class softmax, not Fashion-MNIST, exported to ``fmt`` fp32 in seconds:
    6x6 raw uint8 pixels (values 0..15, pixel scale 1/16) if ``pixels``, else 5 float features."""
    import keras

    from export import run_export

    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    shape = (6, 6) if pixels else (5,)
    model = keras.Sequential([
        keras.Input(shape, name="pixels" if pixels else "features"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(3, activation="softmax", name="kind"),
    ], name="tiny_pixels" if pixels else "tiny_features")
    x = (rng.integers(0, 16, size=(48, *shape)).astype(np.uint8) if pixels
         else rng.standard_normal((48, *shape)).astype(np.float32))
    name = "tiny_pixels" if pixels else "tiny_features"
    model_path, data = _save(out, name, model, x_test=x, y_test=rng.integers(0, 3, size=48), x_calibration=x)
    run_export(model_path, fmt=fmt, data=data, pixel_scale=1 / 16 if pixels else None)
    return model_path, data


def tiny_scorer(out: Path, task: str, fmt: str = "onnx,tflite") -> tuple[Path, Path]:
    """An untrained (seeded) model on 5 float features, exported to ``fmt`` fp32 in seconds:
    ``task`` "binary" is one sigmoid unit (y_test 0/1), "regression" two linear outputs
    (y_test float targets, (N, 2))."""
    import keras

    from export import run_export

    if task not in ("binary", "regression"):
        raise ValueError(f"tiny_scorer: task {task!r}, expected 'binary' or 'regression'")
    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    binary = task == "binary"
    model = keras.Sequential([
        keras.Input((5,), name="features"),
        keras.layers.Dense(1 if binary else 2, activation="sigmoid" if binary else None, name="score"),
    ], name=f"tiny_{task}")
    x = rng.standard_normal((48, 5)).astype(np.float32)
    y = rng.integers(0, 2, size=48) if binary else rng.standard_normal((48, 2)).astype(np.float32)
    model_path, data = _save(out, f"tiny_{task}", model, x_test=x, y_test=y, x_calibration=x)
    run_export(model_path, fmt=fmt, data=data, task=task)
    return model_path, data


def summing_regressor(out: Path) -> tuple[Path, Path]:
    """One linear unit that sums its 4 features (weights 1, bias 0), untrained: the smallest real
    model (C export in seconds); huge finite inputs overflow it to Inf on purpose."""
    import keras

    model = keras.Sequential([
        keras.Input((4,), name="features"),
        keras.layers.Dense(1, kernel_initializer="ones", name="total"),
    ], name="summing_regressor")
    x = np.random.default_rng(SEED).standard_normal((320, 4)).astype(np.float32)
    return _save(out, "summing_regressor", model, x_test=x[:64], y_test=x[:64].sum(axis=1), x_calibration=x[64:])


def summing_regressor_onnx(out: Path) -> Path:
    """``summing_regressor`` exported to ONNX fp32."""
    from export import run_export

    model, data = summing_regressor(out)
    run_export(model, fmt="onnx", data=data)
    return model.parent / "model.onnx"


def export_everything(model: Path, data: Path, out: Path) -> None:
    """Every format and mode the pipeline makes, validation thresholds off (tests of bytes, not
    accuracy): ONNX, TFLite, C and TFLM, all modes, in one run (C and TFLM start from the TFLite
    conversions of the same run)."""
    from export import run_export
    from export.validate import THRESHOLD_KEYS

    off = {mode: dict.fromkeys(THRESHOLD_KEYS) for mode in ("none", "float16", "dynamic", "int8", "int16x8")}
    run_export(model, fmt="onnx,tflite,c,tflm", quantize="all", data=data, output_dir=out, thresholds=off)


def _save(out: Path, name: str, model, **arrays) -> tuple[Path, Path]:
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    np.savez(folder / "data.npz", **arrays)
    return folder / "model.keras", folder / "data.npz"


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--retrain"]:
        RETRAIN, args = True, args[1:]
    if not args or args[0].startswith("-"):
        sys.exit("usage: python -m tests.zoo [--retrain] OUT_DIR [FASHION_MNIST_DIR]")
    target = Path(args[0])
    for build in (digits, breast_cancer, diabetes, logits_classifier):
        print(build(target))
    if len(args) > 1:
        print(functional_cnn(target, Path(args[1])))
